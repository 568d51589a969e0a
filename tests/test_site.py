"""The website's export and the video, end to end on a toy model: the export is valid, agrees with
the pruning engine and carries real retraining frames; the video has its frames; the CLI commands
run. Unit methods on the site: ``test_site_units.py``. The built site in a real browser:
``test_site_browser.py``; frames, extension points and packaging: ``test_site_frames.py``.
"""

import base64
import copy
import json

import numpy as np
import pytest

from nmtprune.prune import select
from nmtprune.site.schema import ExportError, validate
from site_helpers import built, decode_cells, method_of  # noqa: F401 (built is a fixture)


def test_export_is_valid_and_matches_the_engine(built):
    from nmtprune.train.checkpoint import load_model
    from nmtprune.experiments.sitedata.runner import score_runner

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
            "--compute-missing",  # a toy model: no site-score cells stored its data
            "--per-row",
            "magnitude",
        ]
    )
    assert args.func(args) == 0
    ex = json.loads((tmp_path / "s" / "data" / "export.json").read_text(encoding="utf-8"))
    assert ex["results"]["source"] is None and all(m["curve"] == [] for m in ex["methods"])
    ids = [m["id"] for m in ex["methods"]]
    assert "magnitude/per-row" in ids and "random/per-row" not in ids and "random/class-blind" in ids
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
    keep = decode_cells(t["keep"], np.uint8).astype(bool)
    w0 = decode_cells(t["w0"], np.int8)
    assert 0 < keep.sum() < keep.size and not w0[~keep].any()  # 80 % pruned: those start (and stay) at 0
    assert [f["step"] for f in t["frames"]] == [0, 2, 4, 6]
    moved = [np.abs(decode_cells(f["delta"], np.int8)[keep]).sum() for f in t["frames"]]
    assert moved[0] == 0 and moved[-1] > 0  # survivors move...
    assert all(not decode_cells(f["delta"], np.int8)[~keep].any() for f in t["frames"])  # ...pruned ones never do
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


def test_obd_parts_are_the_curvature_w2_and_saliency_the_score_used(built):
    """OBD's walk-through shows h_kk, w² and ½·h·w² before the rank/cut steps; the exported histograms
    are those of a direct curvature computation on the same scoring batches."""
    import torch

    from nmtprune.prune.scores._autograd import prunable_params, scoring_mode, seq2seq_objective
    from nmtprune.prune.scores.obd import curvature_diagonal
    from nmtprune.experiments.sitedata.runner import score_runner
    from nmtprune.site.export import hist_of
    from nmtprune.train.checkpoint import load_model

    ex = built["export"]
    obd = next(s for s in ex["scores"] if s["name"] == "obd")
    assert set(obd["parts"]) == {"curvature", "w2", "saliency"} and all(h["log"] for h in obd["parts"].values())
    m = method_of(ex, "obd/class-blind")
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
