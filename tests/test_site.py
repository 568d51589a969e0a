"""The website's export and the video, end to end on a toy model: the export is valid, agrees with
the pruning engine and carries real retraining frames; the video has its frames; the CLI commands
run. The built site in a real browser: ``test_site_browser.py``; frames, extension points and
packaging: ``test_site_frames.py``.
"""

import base64
import copy
import json

import numpy as np
import pytest

from nmtprune.prune import select
from nmtprune.site.schema import ExportError, validate
from site_helpers import build_toy_site


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_toy_site(tmp_path_factory.mktemp("site"))


def test_export_is_valid_and_matches_the_engine(built):
    from nmtprune.train.checkpoint import load_model
    from nmtprune.site.export import score_runner

    ex = built["export"]
    validate(ex)
    assert {m["id"] for m in ex["methods"]} == {
        f"{s}/{c}"
        for s in ("magnitude", "random", "obd", "snip-init")
        for c in ("class-blind", "class-uniform", "class-distribution")
    } | {"units-l1/per-layer", "units-l1/global"}
    model, cfg, sv, tv = load_model(built["model"])
    named = dict(model.named_parameters())
    run = score_runner(cfg, sv, tv, seed=0)  # OBD gets its scoring batches as the export gave them
    for m in ex["methods"]:
        if m["score"].startswith("units-"):
            continue  # test_unit_method_removes_whole_rows_and_columns
        scores = run(m["score"], model)
        for level in (30, 70):
            masks = select(scores, model, level / 100, m["selection"]).masks
            for c in ex["classes"]:
                for p in c["params"]:
                    q = np.frombuffer(base64.b64decode(m["pruned_at"][p["name"]]), np.uint8)
                    keep = masks[p["name"]][:: p["row_stride"], :: p["col_stride"]].reshape(-1).numpy()
                    mismatch = int(((q < level) == keep).sum())  # exported "pruned" vs engine "kept"
                    assert mismatch <= max(1, keep.size // 100), (m["id"], p["name"], level, mismatch)
                    assert list(named[p["name"]].shape) == p["shape"]
        assert m["class_sparsity"][ex["classes"][0]["name"]][0] == 0
    assert ex["samples"]["sources"] and all(
        len(s["hyps"]) == len(ex["samples"]["sources"]) for m in ex["methods"] for s in m["samples"]
    )
    assert ex["results"]["matched_model"] and len(ex["methods"][0]["curve"]) == 5
    bad = copy.deepcopy(ex)
    bad["methods"][0]["pruned_at"][ex["classes"][0]["params"][0]["name"]] = "AAAA"
    with pytest.raises(ExportError, match="pruned_at"):
        validate(bad)
    bad = copy.deepcopy(ex)
    del bad["methods"][1]["steps"][0]["viz"]
    with pytest.raises(ExportError, match="viz"):
        validate(bad)


def test_video_has_the_expected_frames(built, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="pip install imageio-ffmpeg (.ci/install-browser.sh)")
    from PIL import Image

    from nmtprune.site.video import render_video

    res = render_video(
        "magnitude/class-uniform",
        tmp_path / "v.mp4",
        export=str(built["out"] / "data" / "export.json"),
        fps=4,
        seconds=2.5,
    )
    assert res["frames"] == 10
    frames, secs = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "v.mp4"))
    assert frames == 10 and abs(secs - 2.5) < 0.3
    with Image.open(res["gif"]) as g:
        assert 2 <= g.n_frames == res["gif_frames"] <= 5 and g.size == (1280, 720)
    direct = render_video(
        "random/class-distribution", tmp_path / "d.mp4", model_dir=str(built["model"]), fps=4, seconds=1, gif=False
    )  # computed from the model, no site needed
    assert direct["frames"] == 4 and "gif" not in direct
    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "d.mp4"))[0] == 4
    with pytest.raises(ValueError, match="unknown method"):
        render_video("nope/class-blind", tmp_path / "x.mp4", export=str(built["out"] / "data" / "export.json"))
    # OBD's steps about its ingredients (curvature, w², saliency) show those histograms, as the site does
    ex = built["export"]
    obd = next(m for m in ex["methods"] if m["id"] == "obd/class-blind")
    parts = {st["of"] for st in obd["steps"] if st.get("of")} & set(
        next(x for x in ex["scores"] if x["name"] == "obd")["parts"]
    )
    res = render_video(
        "obd/class-blind",
        tmp_path / "o.mp4",
        export=str(built["out"] / "data" / "export.json"),
        fps=4,
        seconds=len(obd["steps"]),
        gif=False,
    )
    assert len(parts) >= 3 and res["parts_shown"] == sorted(parts)
    assert render_video(
        "magnitude/class-blind",
        tmp_path / "m.mp4",
        export=str(built["out"] / "data" / "export.json"),
        fps=2,
        seconds=1,
        gif=False,
        frames_dir="",
    )["parts_shown"] in ([], ["w"])


def test_video_appends_the_retraining_segment(built, tmp_path):
    """Frames of the method exist (the export's, a --frames file, or by name in a folder): the sweep is
    followed by one video frame per recorded step shown, the segment's own frame count."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="pip install imageio-ffmpeg (.ci/install-browser.sh)")
    import shutil

    from nmtprune.site.video import find_training, frame_count, render_video
    from nmtprune.site.video_training import frame_of

    export = str(built["out"] / "data" / "export.json")
    res = render_video(
        "magnitude/class-blind", tmp_path / "v.mp4", export=export, fps=4, seconds=2.5, train_seconds=2, gif=False
    )
    assert res["training"] == "magnitude/class-blind@80" and res["training_frames"] == frame_count(4, 2) == 8
    assert res["frames"] == 10 + 8
    frames, secs = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "v.mp4"))
    assert frames == 18 and abs(secs - 4.5) < 0.3
    n_rec = len(built["frames"]["frames"])  # every recorded step is shown, in order, the last one held
    shown = [frame_of(j, 8, n_rec, 0.15) for j in range(8)]
    assert shown == sorted(shown) and set(shown) == set(range(n_rec)) and shown[-2:] == [n_rec - 1] * 2
    (tmp_path / "fr").mkdir()
    shutil.copy(built["frames_file"], tmp_path / "fr" / "magnitude-class-blind-s80.json")
    assert (
        find_training("magnitude/class-blind", {"training": []}, frames_dir=tmp_path / "fr")["id"]
        == "magnitude/class-blind@80"
    )  # found in the folder
    assert find_training("magnitude/class-uniform", {"training": []}, frames_dir=tmp_path / "fr") is None
    with pytest.raises(ValueError, match="not of 'random/class-blind'"):
        find_training("random/class-blind", {"training": []}, frames=built["frames_file"])
    with pytest.raises(ValueError, match="within 60"):
        render_video("magnitude/class-blind", tmp_path / "x.mp4", export=export, seconds=55, train_seconds=8)


def test_cli_commands(built, tmp_path, capsys):
    import argparse

    from nmtprune.site import add_cli

    parser = argparse.ArgumentParser(prog="nmtprune")
    add_cli(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(
        [
            "video",
            "--method",
            "magnitude/class-blind",
            "--out",
            str(tmp_path / "v.gif"),
            "--export",
            str(built["out"] / "data" / "export.json"),
            "--fps",
            "4",
            "--seconds",
            "1",
        ]
    )
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["gif_frames"] >= 1 and (tmp_path / "v.gif").is_file()
    args = parser.parse_args(
        [
            "site",
            "--out",
            str(tmp_path / "s"),
            "--model",
            str(built["model"]),
            "--results",
            "",
            "--samples",
            "1",
            "--split",
            "test",
            "--frames",
            "--quiet",
        ]
    )
    assert args.func(args) == 0
    ex = json.loads((tmp_path / "s" / "data" / "export.json").read_text(encoding="utf-8"))
    assert ex["results"]["source"] is None and all(m["curve"] == [] for m in ex["methods"])
    assert (tmp_path / "s" / "index.html").is_file() and (tmp_path / "s" / "js" / "main.js").is_file()
    capsys.readouterr()
    args = parser.parse_args(
        [
            "site-frames",
            "--model",
            str(built["model"]),
            "--out",
            str(tmp_path / "f.json"),
            "--steps",
            "2",
            "--every",
            "1",
            "--rows",
            "4",
            "--cols",
            "4",
            "--dev-sentences",
            "4",
            "--quiet",
        ]
    )
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frames"] == 3 and out["bytes"] == (tmp_path / "f.json").stat().st_size
    art = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    assert art["provenance"]["command"].startswith("nmtprune") and art["provenance"]["seed"] == 0
    with pytest.raises(FileNotFoundError, match="--static"):
        args = parser.parse_args(
            [
                "site",
                "--out",
                str(tmp_path / "s2"),
                "--model",
                str(built["model"]),
                "--static",
                str(tmp_path / "nowhere"),
                "--quiet",
            ]
        )
        args.func(args)


def _cells(b64: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype)


def test_export_carries_real_retraining_frames_and_score_parts(built):
    ex = built["export"]
    assert sorted(t["id"] for t in ex["training"]) == [
        "greg-1/per-layer@50",
        "magnitude/class-blind@80",
        "snip-init/class-blind@80",
    ]
    assert all(t["matched_model"] for t in ex["training"])
    by_method = {t["method"]: t for t in ex["training"]}
    assert by_method["snip-init/class-blind"]["kind"] == "from-init"
    assert by_method["units-l1/per-layer"]["kind"] == "greg"  # its penalty phase (test_site_greg.py)
    t = by_method["magnitude/class-blind"]
    assert t["kind"] == "retrain"
    for m in ex["methods"]:  # only the methods with frames walk through their (re)training
        assert any(s["viz"] == "training" for s in m["steps"]) == (m["id"] in by_method), m["id"]
        assert m["training"] == ([by_method[m["id"]]["id"]] if m["id"] in by_method else [])
    keep = _cells(t["keep"], np.uint8).astype(bool)
    w0 = _cells(t["w0"], np.int8)
    assert 0 < keep.sum() < keep.size and not w0[~keep].any()  # 80 % pruned: those start (and stay) at 0
    assert [f["step"] for f in t["frames"]] == [0, 2, 4, 6]
    moved = [np.abs(_cells(f["delta"], np.int8)[keep]).sum() for f in t["frames"]]
    assert moved[0] == 0 and moved[-1] > 0  # survivors move...
    assert all(not _cells(f["delta"], np.int8)[~keep].any() for f in t["frames"])  # ...pruned ones never do
    assert t["frames"][0]["train_loss"] is None and all(f["train_loss"] > 0 for f in t["frames"][1:])
    assert all(f["dev_ppl"] > 1 for f in t["frames"]) and t["traces"] and len(t["traces"][0]["values"]) == 4
    mag = next(s for s in ex["scores"] if s["name"] == "magnitude")
    assert mag["parts"]["w"]["lo"] < 0 < mag["parts"]["w"]["hi"]  # the signed weights, before |·|
    assert next(m for m in ex["methods"] if m["score"] == "magnitude")["steps"][0]["of"] == "w"
    bad = copy.deepcopy(ex)
    bad["training"][ex["training"].index(t)]["frames"][1]["delta"] = "AAAA"
    with pytest.raises(ExportError, match="delta"):
        validate(bad)
    bad = copy.deepcopy(ex)
    bad["training"][ex["training"].index(t)]["frames"][1]["pruned_nonzero"] = (
        3  # a pruned weight came back: the artifact is wrong
    )
    with pytest.raises(ExportError, match="pruned_nonzero"):
        validate(bad)
    bad = copy.deepcopy(ex)
    bad["methods"][0]["steps"][0]["of"] = "curvature"
    with pytest.raises(ExportError, match="unknown part"):
        validate(bad)


def _method(ex, mid):
    return next(m for m in ex["methods"] if m["id"] == mid)


def _refused(ex, mid: str, edit, match: str) -> None:
    """A copy of the export with ``edit(method mid)`` applied fails validation with ``match``."""
    bad = copy.deepcopy(ex)
    edit(_method(bad, mid))
    with pytest.raises(ExportError, match=match):
        validate(bad)


def test_obd_parts_are_the_curvature_w2_and_saliency_the_score_used(built):
    """OBD's walk-through shows h_kk, w² and ½·h·w² before the rank/cut steps; the exported histograms
    are those of a direct curvature computation on the same scoring batches."""
    import torch

    from nmtprune.prune.scores._autograd import prunable_params, scoring_mode, seq2seq_objective
    from nmtprune.prune.scores.obd import curvature_diagonal
    from nmtprune.site.export import hist_of, score_runner
    from nmtprune.train.checkpoint import load_model

    ex = built["export"]
    obd = next(s for s in ex["scores"] if s["name"] == "obd")
    assert set(obd["parts"]) == {"curvature", "w2", "saliency"} and all(h["log"] for h in obd["parts"].values())
    m = _method(ex, "obd/class-blind")
    assert [st.get("of") for st in m["steps"][:3]] == ["curvature", "w2", "saliency"]
    assert [st["viz"] for st in m["steps"][3:]] == ["histogram", "class-histograms", "class-bars", "matrix"]
    assert m["steps"][3]["threshold"] == "global"  # rank and cut: the selection's steps follow the parts
    model, cfg, sv, tv = load_model(built["model"])
    batches = score_runner(cfg, sv, tv, seed=0).batches(100)  # obd's 100 scoring batches (the toy: 1)
    params = prunable_params(model)
    with scoring_mode(model, params):
        h = curvature_diagonal(seq2seq_objective(model), params, batches, "fisher", seed=0, samples=1)
    names = [p for c in ex["classes"] for p in c["params"]]
    w = {p["name"]: dict(model.named_parameters())[p["name"]].detach().float() for p in names}
    direct = {
        "curvature": {n: h[n].clamp(min=0) for n in w},
        "w2": {n: v.square() for n, v in w.items()},
        "saliency": {n: 0.5 * h[n].clamp(min=0) * v.square() for n, v in w.items()},
    }
    for part, values in direct.items():
        want = hist_of(
            {c["name"]: torch.cat([values[p["name"]].reshape(-1) for p in c["params"]]) for c in ex["classes"]},
            log=True,
        )
        got = obd["parts"][part]
        assert (
            got["zeros"] == want["zeros"] and abs(got["lo"] - want["lo"]) < 1e-3 and abs(got["hi"] - want["hi"]) < 1e-3
        )
        for c in want["counts"]:  # the same values binned alike (a value on a bin edge may round either way)
            assert sum(abs(a - b) for a, b in zip(got["counts"][c], want["counts"][c])) <= 2, (part, c)
    assert sum(obd["parts"]["curvature"]["zeros"].values()) > 0  # embedding rows of words the batch lacks
    # the score is ½·h·w² with exactly this h: the record is what the saliency used
    rec = {}
    score = score_runner(cfg, sv, tv, seed=0)("obd", model, rec)
    for n in w:
        assert torch.allclose(rec["record"]["curvature"][n], direct["curvature"][n])
        live = direct["curvature"][n] > 0
        assert torch.allclose(score[n][live], direct["saliency"][n][live])


def test_unit_method_removes_whole_rows_and_columns_and_shrinks_the_model(built):
    import torch

    from nmtprune.prune.units import get_unit_score, select_units, unit_groups
    from nmtprune.train.checkpoint import load_model

    ex = built["export"]
    m = _method(ex, "units-l1/per-layer")
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
                pruned = _cells(m["pruned_at"][p["name"]], np.uint8).reshape(p["rows"], p["cols"]) < level
                assert (pruned == ~keep[:: p["row_stride"], :: p["col_stride"]].numpy()).all(), (p["name"], level)
                # structure: a cell is pruned iff its whole row or its whole column is
                rows, cols = pruned.all(axis=1), pruned.all(axis=0)
                assert (pruned == (rows[:, None] | cols[None, :])).all(), p["name"]
                full_rows += int(rows.sum()) if p["blocks"] else 0
            assert abs(m["class_sparsity"][c["name"]][level] - n_pruned / c["size"]) < 1e-4
    assert full_rows > 0  # removed units' gate rows of the LSTM matrices, all pruned
    emb = next(c for c in ex["classes"] if not c["params"][0]["blocks"] and "emb" in c["name"])
    assert emb and m["class_sparsity"][emb["name"]][90] == 0  # units never touch the embeddings
    _refused(ex, "units-l1/per-layer", lambda x: x["units"]["params"].__setitem__(5, 10**9), "cannot grow")
    _refused(ex, "magnitude/class-blind", lambda x: x["steps"][0].update(viz="shrink"), "hidden units")


def test_global_unit_method_ranks_normalised_scores_of_all_layers(built):
    """``units-l1/global``: the kept units per group, the one threshold and the pooled histogram are
    the engine's global selection of l2-normalised scores; a level the engine refuses is held."""
    import torch

    from nmtprune.prune.units import get_unit_score, select_units, unit_groups
    from nmtprune.prune.units.groups import UnitError
    from nmtprune.site.units import UNIT_NORMALIZE
    from nmtprune.train.checkpoint import load_model

    ex = built["export"]
    m = _method(ex, "units-l1/global")
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
    _refused(ex, "units-l1/global", lambda x: x["units"]["groups"][0]["cut"].pop(), "one cut per level")
    _refused(ex, "units-l1/global", lambda x: x["steps"][2].update(of="nothing"), "unknown part")


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
    got = _method(ex, "units-l1/per-layer")["curve"]
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
    _method(bad, "units-l1/per-layer")["curve"].reverse()
    with pytest.raises(ExportError, match="increasing"):
        validate(bad)
    bad = copy.deepcopy(ex)
    _method(bad, "units-l1/per-layer")["curve"][1]["params_ratio"] = 1.5
    with pytest.raises(ExportError, match="params_ratio"):
        validate(bad)
    bad = copy.deepcopy(ex)
    _method(bad, "magnitude/class-blind")["curve"][0]["params_ratio"] = 1.0
    with pytest.raises(ExportError, match="without hidden units"):
        validate(bad)


def test_video_of_a_unit_method_shows_unit_groups_and_its_bleu(built, tmp_path):
    pytest.importorskip("imageio_ffmpeg", reason="pip install imageio-ffmpeg (.ci/install-browser.sh)")
    from nmtprune.site.video import render_video
    from nmtprune.site.video_units import bleu_series, cut_of

    m = _method(built["export"], "units-l1/per-layer")
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
    mg = _method(built["export"], "units-l1/global")
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
