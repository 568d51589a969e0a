"""Hidden-unit methods on the website, end to end on a toy model: the export removes whole rows and columns and
shrinks the model, a global method ranks the normalised scores of all layers, the curve is the unit-eval
results, and the video shows the unit groups and the method's BLEU.
"""

import copy

import numpy as np
import pytest

from nmtprune.site.schema import ExportError, validate
from site_helpers import built, decode_cells, method_of, refused  # noqa: F401 (built is a fixture)


def test_unit_method_removes_whole_rows_and_columns_and_shrinks_the_model(built):
    import torch

    from nmtprune.prune.units import get_unit_score, select_units, unit_groups
    from nmtprune.train.checkpoint import load_model

    ex = built["export"]
    m = method_of(ex, "units-l1/per-layer")
    assert m["selection"] in {s["name"] for s in ex["selections"]}
    assert [st["viz"] for st in m["steps"]] == [
        "unit-histograms",
        "unit-histograms",
        "units",
        "class-bars",
        "matrix",
        "shrink",
        "training",
    ]  # the last: GReg's penalty phase
    assert m["units"]["scope"] == "per-layer" and m["units"]["limit"] == 98
    assert len(m["samples"]) > 1 and all(len(s["hyps"]) == len(ex["samples"]["sources"]) for s in m["samples"])
    model, *_ = load_model(built["model"])
    scores = get_unit_score("l1")(model)
    u = m["units"]
    assert u["dense_params"] == u["params"][0] == sum(p.numel() for p in model.parameters())
    assert (
        all(b <= a for a, b in zip(u["params"], u["params"][1:])) and u["params"][90] < u["params"][50] < u["params"][0]
    )
    score_hist = next(s for s in ex["scores"] if s["name"] == "units-l1")["histogram"]
    for g, eg in zip(unit_groups(model.cfg), u["groups"]):
        assert eg["name"] == g.name and eg["kept"][50] == g.size - round(0.5 * g.size)
        # each group on its own bins, all its units counted; per layer the compared scores are the raw ones
        assert sum(eg["hist"]["counts"]) == sum(score_hist["counts"][g.name]) == g.size
        assert [eg["hist"]["lo"], eg["hist"]["hi"]] == score_hist["ranges"][g.name]
        assert eg["hist"]["lo"] == pytest.approx(float(scores[g.name].min()))
        for level in (0, 30, 70):  # the cut: the highest score among the removed units
            gone = ~select_units(scores, model, level / 100, "per-layer").keep[g.name]
            assert eg["cut"][level] == (pytest.approx(float(scores[g.name][gone].max())) if gone.any() else None)
    full_rows = 0
    for level in (30, 70):
        mask = select_units(scores, model, level / 100, "per-layer")
        keepset = mask.maskset(model).masks
        for c in ex["classes"]:
            n_pruned = 0
            for p in c["params"]:
                keep = keepset.get(p["name"], torch.ones(p["shape"], dtype=torch.bool))
                n_pruned += int((~keep).sum())
                pruned = decode_cells(m["pruned_at"][p["name"]], np.uint8).reshape(p["rows"], p["cols"]) < level
                assert (pruned == ~keep[:: p["row_stride"], :: p["col_stride"]].numpy()).all(), (p["name"], level)
                # structure: a cell is pruned iff its whole row or its whole column is
                rows, cols = pruned.all(axis=1), pruned.all(axis=0)
                assert (pruned == (rows[:, None] | cols[None, :])).all(), p["name"]
                full_rows += int(rows.sum()) if p["blocks"] else 0
            assert abs(m["class_sparsity"][c["name"]][level] - n_pruned / c["size"]) < 1e-4
    assert full_rows > 0  # removed units' gate rows of the LSTM matrices, all pruned
    emb = next(c for c in ex["classes"] if not c["params"][0]["blocks"] and "emb" in c["name"])
    assert emb and m["class_sparsity"][emb["name"]][90] == 0  # units never touch the embeddings
    refused(ex, "units-l1/per-layer", lambda x: x["units"]["params"].__setitem__(5, 10**9), "cannot grow")
    refused(ex, "magnitude/class-blind", lambda x: x["steps"][0].update(viz="shrink"), "hidden units")


def test_global_unit_method_ranks_normalised_scores_of_all_layers(built):
    """``units-l1/global``: the kept units per group, the one threshold and the pooled histogram are
    the engine's global selection of l2-normalised scores; a level the engine refuses is held."""
    import torch

    from nmtprune.prune.units import get_unit_score, select_units, unit_groups
    from nmtprune.prune.units.groups import UnitError
    from nmtprune.site.units import UNIT_NORMALIZE
    from nmtprune.train.checkpoint import load_model

    ex = built["export"]
    m = method_of(ex, "units-l1/global")
    assert [st["viz"] for st in m["steps"]][:5] == [
        "unit-histograms",
        "unit-histograms",
        "histogram",
        "unit-histograms",
        "units",
    ]
    assert m["steps"][2]["of"] == "pooled" and m["steps"][2]["threshold"] == "global"
    model, *_ = load_model(built["model"])
    scores = get_unit_score("l1")(model)
    u = m["units"]
    assert u["scope"] == "global" and u["normalize"] == UNIT_NORMALIZE == "l2"
    normed = {g: s.double() / s.double().norm() for g, s in scores.items()}
    assert sum(sum(c) for c in u["pooled"]["counts"].values()) == sum(g["size"] for g in u["groups"])
    allowed = []
    for level in range(99):
        try:
            allowed.append(select_units(scores, model, level / 100, "global", normalize="l2"))
        except UnitError:
            break
    assert u["limit"] == len(allowed) - 1
    for level in (0, 20, 60, 98):
        mask = allowed[min(level, u["limit"])]
        removed = [normed[g.name][~mask.keep[g.name]] for g in unit_groups(model.cfg)]
        gone = torch.cat(removed)
        assert m["global_threshold"][level] == (pytest.approx(float(gone.max())) if gone.numel() else None)
        for g, eg in zip(unit_groups(model.cfg), u["groups"]):
            assert eg["kept"][level] == int(mask.keep[g.name].sum())
    # global ranking removes different shares of different layers (per layer it would be equal)
    assert len({eg["kept"][60] / eg["size"] for eg in u["groups"]}) > 1
    refused(ex, "units-l1/global", lambda x: x["units"]["groups"][0]["cut"].pop(), "one cut per level")
    refused(ex, "units-l1/global", lambda x: x["steps"][2].update(of="nothing"), "unknown part")


def test_unit_method_curve_is_the_unit_eval_results(built):
    """The hidden-unit study's unit-eval cells give the unit method its BLEU / perplexity curve against
    the % of units removed: the dense cell at 0, seeds averaged, ratio cells and other checkpoints skipped."""
    from nmtprune.experiments.grid import model_hash
    from nmtprune.site.results import read_unit_curves
    from site_helpers import unit_metrics

    ex = built["export"]

    def point(f, seeds):
        ms = [unit_metrics(f, s) for s in seeds]
        return {
            "sparsity": f * 100,
            "bleu": np.mean([m["bleu_tok_lc"] for m in ms]),
            "ppl": np.mean([m["ppl"] for m in ms]),
            "n": len(ms),
            "params_ratio": 1 - 0.6 * f,
        }

    want = [point(0, [0]), point(0.1, [0]), point(0.25, [0]), point(0.5, [1, 2]), point(0.75, [0])]
    got = method_of(ex, "units-l1/per-layer")["curve"]
    assert [p["sparsity"] for p in got] == [p["sparsity"] for p in want]
    for g, w in zip(got, want):
        assert g == pytest.approx(w), g
    assert ex["results"]["units"] == {
        **ex["results"]["units"],
        "study": "units",
        "matched_model": True,
        "points": 8,
        "beam": 5,
    }  # 9 cells, the other checkpoint's not
    assert all("params_ratio" not in p for m in ex["methods"] if "units" not in m for p in m["curve"])
    curves, info = read_unit_curves(built["tmp"] / "results", model_hash(built["model"]))
    assert set(curves) == {("units-l1", "per-layer"), ("units-l1", "global")}
    assert curves[("units-l1", "global")] == [pytest.approx(point(0, [0])), pytest.approx(point(0.5, [0]))]
    assert not read_unit_curves(built["tmp"] / "results", "another-hash")[1]["matched_model"]
    bad = copy.deepcopy(ex)
    method_of(bad, "units-l1/per-layer")["curve"].reverse()
    with pytest.raises(ExportError, match="increasing"):
        validate(bad)
    bad = copy.deepcopy(ex)
    method_of(bad, "units-l1/per-layer")["curve"][1]["params_ratio"] = 1.5
    with pytest.raises(ExportError, match="params_ratio"):
        validate(bad)
    bad = copy.deepcopy(ex)
    method_of(bad, "magnitude/class-blind")["curve"][0]["params_ratio"] = 1.0
    with pytest.raises(ExportError, match="without hidden units"):
        validate(bad)


def test_video_of_a_unit_method_shows_unit_groups_and_its_bleu(built, tmp_path):
    pytest.importorskip("imageio_ffmpeg", reason="pip install imageio-ffmpeg (.ci/install-browser.sh)")
    from nmtprune.site.video import render_video
    from nmtprune.site.video_units import bleu_series, cut_of

    m = method_of(built["export"], "units-l1/per-layer")
    res = render_video(
        "units-l1/per-layer",
        tmp_path / "u.mp4",
        export=str(built["out"] / "data" / "export.json"),
        fps=4,
        seconds=1,
        gif=False,
        train_seconds=0.5,
    )
    assert res["frames"] == 4 + 2 and res["panels"] == "units" and res["bleu_points"] == len(m["curve"]) == 5
    assert res["training"] == "greg-1/per-layer@50"  # the segment: GReg's penalty phase
    assert bleu_series(m)[0] == [0, 10, 25, 50, 75]
    # the line on a group's histogram: its own cut per layer, the one global threshold globally
    g = m["units"]["groups"][0]
    assert cut_of(m, g, 0) is None and cut_of(m, g, 50) == g["cut"][50]
    mg = method_of(built["export"], "units-l1/global")
    assert all(cut_of(mg, x, 50) == mg["global_threshold"][50] for x in mg["units"]["groups"])
    res = render_video(
        "units-l1/global",
        tmp_path / "g.mp4",
        export=str(built["out"] / "data" / "export.json"),
        fps=4,
        seconds=1,
        gif=False,
    )
    assert res["frames"] == 4 and res["panels"] == "units" and res["bleu_points"] == len(mg["curve"]) == 2
    res = render_video(
        "magnitude/class-blind",
        tmp_path / "w.mp4",
        export=str(built["out"] / "data" / "export.json"),
        fps=4,
        seconds=1,
        gif=False,
        train_seconds=0.5,
    )  # a weight method: per-class panels
    assert res["panels"] == "classes" and res["bleu_points"] == 5
