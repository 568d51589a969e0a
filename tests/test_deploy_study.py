"""A deploy study (``reuse: false``) trains its cells itself and keeps their models; the deployable benchmark turns
them into variants: the retrained weight-pruned model compressed, the retrained unit-pruned model shrunk."""

import json
import re
import shutil
import sys

import pytest

from nmtprune.experiments import load_study
from nmtprune.experiments.status import sweep_status

from conftest import ROOT
from experiment_helpers import make_model, sweep

sys.path.insert(0, str(ROOT / "benchmarks"))
import deployable  # noqa: E402
import deployable_variants as deployable_trained  # noqa: E402

CELLS = """\
model: {model}
split: test
dev_split: dev
beam: 1
max_sentences: 6
report: none
retrain: {{sparsities: [0.8], scores: [magnitude], seeds: [1], schedules: [gradual], prune_until: 0.5,
          overrides: [train.epochs=2], scratch: false, dense_continued: false}}
unit_retrain: {{fractions: [0.5], scores: [l1], seeds: [1], ratios: [], overrides: [train.epochs=1]}}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two studies with the same two cells: ``shared`` (the default, reuse) ran first, then ``deploy``."""
    tmp = tmp_path_factory.mktemp("deploy")
    model = make_model(tmp / "model")
    paths = {}
    for name, extra in (("shared", ""), ("deploy", "reuse: false\n")):
        paths[name] = tmp / f"{name}.yaml"
        paths[name].write_text(extra + CELLS.format(model=model), encoding="utf-8")
    first = sweep(paths["shared"], tmp)
    return tmp, paths, first


def test_a_study_without_reuse_trains_cells_another_study_has_finished(trained):
    tmp, paths, first = trained
    assert first["ok"] == first["cells"] == 2
    # the same cells: a reusing study would copy both results (and get no model)
    status = sweep_status(paths["deploy"], results_dir=tmp / "results", work_dir=tmp / "work")
    assert {k: v["reusable"] for k, v in status["kinds"].items()} == {"retrain": 0, "unit-retrain": 0}
    assert load_study(paths["deploy"]).reuse is False and load_study(paths["shared"]).reuse is True
    again = sweep(paths["deploy"], tmp)
    assert again["reused"] == 0 and again["ran"] == again["ok"] == 2
    for res in (tmp / "results" / "deploy").glob("*.json"):
        assert "reused_from" not in json.loads(res.read_text())
        assert f"{tmp / 'work' / 'deploy'}" in json.loads(res.read_text())["metrics"]["scratch_dir"]


def test_a_reusing_study_copies_them_instead(trained, tmp_path):
    tmp, paths, _ = trained
    copy = tmp_path / "copy.yaml"
    copy.write_text(paths["shared"].read_text(), encoding="utf-8")
    got = sweep(copy, tmp, only=["retrain"], max_cells=0)
    assert got["reused"] == 1 and got["ran"] == 0


def test_the_trained_models_become_variants(trained, monkeypatch):
    tmp, paths, _ = trained
    sweep(paths["deploy"], tmp)  # no-op when the test above ran first
    models, pending = deployable_trained.deploy_models(str(paths["deploy"]), tmp / "results")
    assert pending == []
    assert [(m["kind"], m["dir"].name) for m in models] == [("retrain", "last"), ("unit-retrain", "best")]
    assert models[0]["name"] == "magnitude 80% gradual retrained"
    assert models[1]["name"] == "units 50% (l1) retrained, shrunk"
    got = deployable_trained.trained_variants(models, tmp / "variants", 1, False, deployable.COMPRESSIONS)
    names = [v["variant"] for v in got]
    assert names == [
        f"magnitude 80% gradual retrained + {label}, --int8" for label, _, _ in deployable.COMPRESSIONS
    ] + [
        "units 50% (l1) retrained, shrunk, fp32",
        "units 50% (l1) retrained, shrunk, int8 (--int8)",
    ]
    stored = (models[0]["dir"] / "model.safetensors").stat().st_size
    assert all(v["bytes"] < stored for v in got[:3])  # the compressed files ship less than the checkpoint
    from nmtprune import api as nmt

    def n_params(net):
        return sum(p.numel() for p in net.parameters())

    assert n_params(got[3]["model"]) < n_params(nmt.load(models[1]["dir"]).net)  # the units are cut out
    assert all(v["retrained"].endswith(".json") for v in got)
    assert deployable.needs([]) == deployable.NEEDS
    assert got[0]["retrained"] in deployable.needs(sorted({v["retrained"] for v in got}))


def test_a_cell_not_trained_or_without_its_model_is_a_one_line_error(trained, tmp_path):
    tmp, paths, _ = trained
    models, pending = deployable_trained.deploy_models(str(paths["deploy"]), tmp_path / "empty")
    assert models == [] and len(pending) == 2
    assert re.fullmatch(
        r"retrain_\S+ has not finished training \(`nmtprune sweep .* --only retrain` trains it\)", pending[0]
    )
    text = deployable.needs([], pending)
    assert "none has finished yet" in text and pending[1] in text
    sweep(paths["deploy"], tmp)
    models, _ = deployable_trained.deploy_models(str(paths["deploy"]), tmp / "results")
    moved = tmp_path / "moved"
    shutil.move(str(models[1]["dir"]), moved)
    try:
        with pytest.raises(SystemExit, match=r"model .* is gone; remove .*\.json and run it again"):
            deployable_trained.deploy_models(str(paths["deploy"]), tmp / "results")
    finally:
        shutil.move(str(moved), models[1]["dir"])


def test_the_shrunk_model_also_ships_as_onnxruntime_int8(trained):
    pytest.importorskip("onnxruntime")
    tmp, paths, _ = trained
    sweep(paths["deploy"], tmp)
    units = [
        m
        for m in deployable_trained.deploy_models(str(paths["deploy"]), tmp / "results")[0]
        if m["kind"] == "unit-retrain"
    ]
    got = deployable_trained.trained_variants(units, tmp / "onnx-variants", 1, True, deployable.COMPRESSIONS)
    assert [v["variant"].rsplit(", ", 1)[1] for v in got] == ["fp32", "int8 (--int8)", "onnxruntime int8"]
    from nmtprune import api as nmt
    from nmtprune.metrics.evaluate import translate_data

    shrunk = nmt.load(tmp / "onnx-variants" / "trained0-shrunk")
    data = nmt.sentences(shrunk, "test", 3)
    # the graphs decode the shrunk model's shapes (greedy, as the latency measurement runs them)
    assert len(translate_data(got[2]["model"], data, shrunk.tgt_vocab, beam=1, batch_size=1)) == 3
    # with a shortlist, the export ships its hidden-step graph and softmax weights instead of the whole step
    assert got[2]["shortlist_shipped"] == "encoder.onnx + decoder_hidden.onnx + softmax.safetensors"
    listed = deployable.with_shortlist(got[2:], shrunk, tmp / "onnx-variants")
    assert [v["variant"] for v in listed] == [
        f"{got[2]['variant']} + shortlist {p}/{f}" for p, f in deployable_trained.SHORTLISTS
    ]
    assert all(
        v["shipped"].startswith(got[2]["shortlist_shipped"]) and v["bytes"] > got[2]["shortlist_bytes"] for v in listed
    )
    assert len(translate_data(listed[1]["model"], data, shrunk.tgt_vocab, beam=2)) == 3
