"""GReg's penalty phase on the site (``nmtprune site-greg``): real frames of the units to remove fading
out on a toy model, following the study's schedule; the artifact joins the export as the last step
of ``units-l1/per-layer`` and the video's segment; bad requests are refused."""

import json

import pytest
import torch

from nmtprune.site.schema import ExportError, validate
from site_helpers import GREG_STUDY, toy_model


@pytest.fixture(scope="module")
def greg(tmp_path_factory):
    from nmtprune.experiments.siteframes.greg import record_greg

    tmp = tmp_path_factory.mktemp("greg")
    model = toy_model(tmp)
    study = tmp / "units.yaml"
    study.write_text(GREG_STUDY.format(model=model), encoding="utf-8")
    art = record_greg(
        model,
        tmp / "frames" / "greg.json",
        study=study,
        every=1,
        rows=12,
        cols=16,
        dev_sentences=8,
        progress=lambda *_: None,
    )
    return {"model": model, "study": study, "art": art, "file": tmp / "frames" / "greg.json", "tmp": tmp}


def test_greg_frames_follow_the_schedule_and_fade_the_chosen_units(greg):
    from nmtprune.experiments.study import load_study
    from nmtprune.experiments.unit_study import greg_config
    from nmtprune.metrics.evaluate import perplexity
    from nmtprune.prune.units import axis_keeps, get_unit_score, select_units
    from nmtprune.experiments.siteframes.retraining import _dev_subset
    from nmtprune.train.checkpoint import load_model

    art, g = greg["art"], greg["art"]["greg"]
    assert (
        json.loads(greg["file"].read_text()) == art and art["kind"] == "greg" and art["method"] == "units-l1/per-layer"
    )
    spec = load_study(greg["study"], check_model=False).unit_greg
    gcfg = greg_config(spec, "greg-1")
    assert [f["step"] for f in art["frames"]] == list(range(gcfg.steps() + 1)) == list(range(5))
    assert (
        [f["lam"] for f in art["frames"]] == [gcfg.lam(f["step"])[1] for f in art["frames"]] == [0, 50, 100, 100, 100]
    )
    # the removed set is L1's, per layer, on the dense model: the shown rows flagged are those units' gate rows
    model, cfg, sv, tv = load_model(greg["model"])
    mask = select_units(get_unit_score("l1")(model), model, 0.5, "per-layer")
    rows, _ = axis_keeps(model, mask)[art["param"]]
    flags = torch.frombuffer(bytearray(__import__("base64").b64decode(g["removed_rows"])), dtype=torch.uint8)
    assert flags.tolist() == (~rows[:: art["row_stride"]]).to(torch.uint8).tolist() and flags.any()
    assert g["removed"] == {k: int((~v).sum()) for k, v in mask.keep.items()}
    # the penalty fades the removed units only: their mean L1 falls, the kept units' stays, the ratio grows
    first, last = art["frames"][0]["norms"], art["frames"][-1]["norms"]
    for k in first:
        assert last[k]["removed"] < 0.8 * first[k]["removed"]
        assert 0.8 * first[k]["kept"] < last[k]["kept"] < 1.25 * first[k]["kept"]
    ratios = [f["mag_ratio"] for f in art["frames"]]
    assert ratios == sorted(ratios) and ratios[-1] > 1.5 * ratios[0]
    # "without the penalty" is exactly the dense model with those units removed, on the same dev sentences
    mask.maskset(model).apply(model)
    with torch.no_grad():
        assert g["ppl_pruned_without_penalty"] == round(perplexity(model.eval(), _dev_subset(cfg, sv, tv, 8)), 4)
    assert g["ppl_after_penalty"] == art["frames"][-1]["dev_ppl"]


def test_greg_frames_join_the_export_and_the_video(greg, tmp_path):
    pytest.importorskip("imageio_ffmpeg", reason="pip install imageio-ffmpeg (.ci/install-browser.sh)")
    from nmtprune.site.export import build_export
    from nmtprune.site.video import render_video

    ex = validate(
        build_export(
            greg["model"], None, scores=("units-l1",), frames=[greg["file"]], samples=0, progress=lambda *_: None
        )
    )
    per = next(m for m in ex["methods"] if m["id"] == "units-l1/per-layer")
    glo = next(m for m in ex["methods"] if m["id"] == "units-l1/global")
    assert per["training"] == [greg["art"]["id"]] and glo["training"] == []
    last = per["steps"][-1]
    assert last["viz"] == "training" and "GREG-1" in last["title"] and "without the penalty phase" in last["text"]
    assert f"{greg['art']['greg']['ppl_after_penalty_pruned']:.1f}" in last["text"]
    bad = json.loads(json.dumps(ex))
    del bad["training"][0]["greg"]
    with pytest.raises(ExportError, match="greg block"):
        validate(bad)
    bad = json.loads(json.dumps(ex))
    bad["training"][0]["frames"][1]["lam"] = None
    with pytest.raises(ExportError, match="lambda"):
        validate(bad)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(ex), encoding="utf-8")
    res = render_video(
        "units-l1/per-layer", tmp_path / "u.mp4", export=str(path), fps=4, seconds=1, train_seconds=1, gif=False
    )
    assert res["training"] == greg["art"]["id"] and res["training_frames"] == 4 and res["frames"] == 8


def test_bad_greg_requests_are_refused(greg, tmp_path):
    from nmtprune.experiments.siteframes.greg import record_greg

    no_greg = tmp_path / "s.yaml"
    no_greg.write_text(GREG_STUDY.format(model=greg["model"]).split("unit_greg")[0], encoding="utf-8")
    with pytest.raises(ValueError, match="no unit_greg section"):
        record_greg(greg["model"], study=no_greg, progress=lambda *_: None)
    with pytest.raises(ValueError, match="greg-2"):
        record_greg(greg["model"], study=greg["study"], mode="greg-2", progress=lambda *_: None)
    with pytest.raises(ValueError, match="steps"):
        record_greg(greg["model"], study=greg["study"], steps=99, progress=lambda *_: None)
