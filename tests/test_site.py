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

from nmtprune.prune import get_score, select
from nmtprune.site.schema import ExportError, validate
from site_helpers import build_toy_site


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_toy_site(tmp_path_factory.mktemp("site"))


def test_export_is_valid_and_matches_the_engine(built):
    from nmtprune.train.checkpoint import load_model
    ex = built["export"]
    validate(ex)
    assert {m["id"] for m in ex["methods"]} == {f"{s}/{c}" for s in ("magnitude", "random")
                                                 for c in ("class-blind", "class-uniform", "class-distribution")}
    model, *_ = load_model(built["model"])
    named = dict(model.named_parameters())
    for m in ex["methods"]:
        scores = get_score(m["score"])(model, seed=0)
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
    assert ex["samples"]["sources"] and all(len(s["hyps"]) == len(ex["samples"]["sources"])
                                            for m in ex["methods"] for s in m["samples"])
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
    res = render_video("magnitude/class-uniform", tmp_path / "v.mp4", export=str(built["out"] / "data" / "export.json"),
                       fps=4, seconds=2.5)
    assert res["frames"] == 10
    frames, secs = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "v.mp4"))
    assert frames == 10 and abs(secs - 2.5) < 0.3
    with Image.open(res["gif"]) as g:
        assert 2 <= g.n_frames == res["gif_frames"] <= 5 and g.size == (640, 360)
    direct = render_video("random/class-distribution", tmp_path / "d.mp4", model_dir=str(built["model"]), fps=4,
                          seconds=1, gif=False)  # computed from the model, no site needed
    assert direct["frames"] == 4 and "gif" not in direct
    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "d.mp4"))[0] == 4
    with pytest.raises(ValueError, match="unknown method"):
        render_video("nope/class-blind", tmp_path / "x.mp4", export=str(built["out"] / "data" / "export.json"))


def test_cli_commands(built, tmp_path, capsys):
    import argparse

    from nmtprune.site import add_cli
    parser = argparse.ArgumentParser(prog="nmtprune")
    add_cli(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(["video", "--method", "magnitude/class-blind", "--out", str(tmp_path / "v.gif"),
                              "--export", str(built["out"] / "data" / "export.json"), "--fps", "4", "--seconds", "1"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["gif_frames"] >= 1 and (tmp_path / "v.gif").is_file()
    args = parser.parse_args(["site", "--out", str(tmp_path / "s"), "--model", str(built["model"]), "--results", "",
                              "--samples", "1", "--split", "test", "--frames", "--quiet"])
    assert args.func(args) == 0
    ex = json.loads((tmp_path / "s" / "data" / "export.json").read_text(encoding="utf-8"))
    assert ex["results"]["source"] is None and all(m["curve"] == [] for m in ex["methods"])
    assert (tmp_path / "s" / "index.html").is_file() and (tmp_path / "s" / "js" / "main.js").is_file()
    capsys.readouterr()
    args = parser.parse_args(["site-frames", "--model", str(built["model"]), "--out", str(tmp_path / "f.json"),
                              "--steps", "2", "--every", "1", "--rows", "4", "--cols", "4", "--dev-sentences", "4",
                              "--quiet"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frames"] == 3 and out["bytes"] == (tmp_path / "f.json").stat().st_size
    art = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    assert art["provenance"]["command"].startswith("nmtprune") and art["provenance"]["seed"] == 0
    with pytest.raises(FileNotFoundError, match="--static"):
        args = parser.parse_args(["site", "--out", str(tmp_path / "s2"), "--model", str(built["model"]),
                                  "--static", str(tmp_path / "nowhere"), "--quiet"])
        args.func(args)


def _cells(b64: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype)


def test_export_carries_real_retraining_frames_and_score_parts(built):
    ex = built["export"]
    assert [t["id"] for t in ex["training"]] == ["magnitude/class-blind@80"] and ex["training"][0]["matched_model"]
    t = ex["training"][0]
    for m in ex["methods"]:  # only the method that was retrained walks through the retraining
        assert (m["steps"][-1]["viz"] == "training") == (m["id"] == t["method"]), m["id"]
        assert m["training"] == ([t["id"]] if m["id"] == t["method"] else [])
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
    bad["training"][0]["frames"][1]["delta"] = "AAAA"
    with pytest.raises(ExportError, match="delta"):
        validate(bad)
    bad = copy.deepcopy(ex)
    bad["training"][0]["frames"][1]["pruned_nonzero"] = 3  # a pruned weight came back: the artifact is wrong
    with pytest.raises(ExportError, match="pruned_nonzero"):
        validate(bad)
    bad = copy.deepcopy(ex)
    bad["methods"][0]["steps"][0]["of"] = "curvature"
    with pytest.raises(ExportError, match="unknown part"):
        validate(bad)
