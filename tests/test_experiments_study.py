"""Study files: bad keys named with their file, missing models, every shipped study parses, and how scores and
schedules expand into cells."""

import dataclasses

import pytest

from nmtprune.config import ConfigError
from nmtprune.experiments import load_study, plan

from conftest import ROOT
from experiment_helpers import study  # noqa: F401 (a fixture)


@pytest.mark.parametrize(
    "edit, key",
    [
        (("score: magnitude,", "score: magnitud,"), "prune_eval.methods[0].score"),
        (("[0.0, 0.5, 0.9]", "[0.0, 1.0]"), "prune_eval.sparsities[1]"),
        (("[0.0, 0.5, 0.9]", "[-0.1]"), "prune_eval.sparsities[0]"),
        (("beam: 1", "beam: five"), "beam"),
        (("beam: 1", "beam: 1\nbeams: 2"), "beams"),
        (("sparsity: 0.8, rank_bins", "sparsity: 0.8, rank_binz"), "where.rank_binz"),
        (("schemes: [class-uniform]", "schemes: [class-uniformm]"), "class_breakdown.schemes[0]"),
        (("split: test", "split: tset"), "split"),
    ],
)
def test_bad_study_file_names_file_and_key(study, edit, key):
    study.write_text(study.read_text().replace(*edit))
    with pytest.raises(ConfigError) as err:
        load_study(study)
    assert str(study) in str(err.value) and key in str(err.value)


def test_missing_model_and_missing_file(study, tmp_path):
    study.write_text(study.read_text().replace(str(tmp_path / "model"), str(tmp_path / "nope")))
    with pytest.raises(ConfigError, match=r"key 'model'.*not a checkpoint directory") as err:
        load_study(study)
    assert str(study) in str(err.value)
    with pytest.raises(ConfigError, match="not found"):
        load_study(tmp_path / "absent.yaml")


def test_shipped_study_files_parse():
    for name in ("see2016", "see2016_quick", "see2016_tatoeba", "saliency", "budget"):
        s = load_study(f"studies/{name}.yaml", check_model=False)
        assert s.name == name and s.prune_eval is not None
    for path in sorted((ROOT / "studies").glob("*.yaml")):  # every shipped study, the unit one included
        load_study(path, check_model=False)
    # the longer budget keeps See et al.'s shape (constant, then halving twice per epoch) over 15 epochs
    from nmtprune.prune.retrain import retrain_config
    from nmtprune.train.checkpoint import load_model

    budget = load_study("studies/budget.yaml", check_model=False).retrain
    cfg = load_model("models/multi30k-en-de")[1]
    short, longer = retrain_config(cfg, 1).train, retrain_config(cfg, 1, budget.overrides).train
    assert (short.epochs, short.decay_start) == (5, 3) and (longer.epochs, longer.decay_start) == (15, 8)
    assert longer.decays_per_epoch == 2 and longer.lr == short.lr and not longer.decay_on_plateau
    # budget_decay reruns budget's gradual 95 % cell with one change: the lr decays from epoch 12, not 8
    late = load_study("studies/budget_decay.yaml", check_model=False).retrain
    later = retrain_config(cfg, 1, late.overrides).train
    assert later.decay_start == 12 and dataclasses.replace(later, decay_start=8) == longer
    assert (late.prune_until, late.scheme, late.scores, late.seeds) == (
        budget.prune_until,
        budget.scheme,
        budget.scores,
        budget.seeds,
    )
    assert late.sparsities == (0.95,) and late.schedules == ("gradual",)
    # budget_long prunes step for step as budget_decay does (7.5 epochs), then keeps the full lr to epoch 22
    from nmtprune.prune.gradual import make_schedule

    long = load_study("studies/budget_long.yaml", check_model=False).retrain
    longest = retrain_config(cfg, 1, long.overrides).train
    assert (longest.epochs, longest.decay_start) == (25, 22)
    for n in (454, 7):  # batches per epoch: Multi30k's, and a small one
        s15 = make_schedule("gradual", 0.95, 15 * n, prune_until=late.prune_until)
        s25 = make_schedule("gradual", 0.95, 25 * n, prune_until=long.prune_until)
        assert [s15(t) for t in range(25 * n)] == [s25(t) for t in range(25 * n)]
        assert s25(int(7.5 * n)) == pytest.approx(0.95)
    assert load_study("studies/see2016_quick.yaml", check_model=False).retrain is None
    full = load_study("studies/see2016.yaml", check_model=False)
    assert len(full.retrain.seeds) >= 3 and full.retrain.dense_continued and full.retrain.scratch


def test_several_scores_and_schedules_expand_to_distinct_cells(study):
    text = study.read_text().replace(
        "class_breakdown: {sparsity: 0.9, schemes: [class-uniform]}",
        "class_breakdown: {sparsity: 0.9, scores: [magnitude, random], schemes: [class-uniform]}",
    )
    text += (
        "retrain: {sparsities: [0.5], scores: [magnitude, random], seeds: [1], "
        "schedules: [one-shot, gradual], scratch: false, dense_continued: false}\n"
    )
    study.write_text(text)
    cells = plan(load_study(study))
    rt = [c for c in cells if c.kind == "retrain"]
    assert sorted((c.params["score"], c.params["schedule"]) for c in rt) == [
        ("magnitude", "gradual"),
        ("magnitude", "one-shot"),
        ("random", "gradual"),
        ("random", "one-shot"),
    ]
    assert all(c.params["prune_until"] == 0.5 for c in rt if c.params["schedule"] == "gradual")
    assert all("prune_until" not in c.params for c in rt if c.params["schedule"] == "one-shot")
    # a data-driven score re-scores at each gradual event: few events (gradual_events); data-free ones every ~1 %
    events = {(c.params["score"], c.params["schedule"]): c.params.get("events") for c in rt}
    assert events[("random", "gradual")] is None and events[("magnitude", "gradual")] is None
    assert events[("random", "one-shot")] is None
    data = text.replace(
        "retrain: {sparsities: [0.5], scores: [magnitude, random]",
        "retrain: {sparsities: [0.5], scores: [magnitude, taylor]",
    )
    study.write_text(data)
    assert {
        (c.params["score"], c.params["schedule"]): c.params.get("events")
        for c in plan(load_study(study))
        if c.kind == "retrain"
    } == {
        ("magnitude", "gradual"): None,
        ("magnitude", "one-shot"): None,
        ("taylor", "gradual"): 10,
        ("taylor", "one-shot"): None,
    }
    study.write_text(data.replace("dense_continued: false}", "dense_continued: false, gradual_events: 4}"))
    assert {c.params.get("events") for c in plan(load_study(study)) if c.kind == "retrain"} == {None, 4}
    study.write_text(text.replace("dense_continued: false}", "dense_continued: false, gradual_events: 0}"))
    with pytest.raises(ConfigError, match=r"retrain.gradual_events.*>= 1"):
        load_study(study)
    cb = [c for c in cells if c.kind == "class-breakdown"]
    assert {c.params["score"] for c in cb} == {"magnitude", "random"} and len({c.id for c in cb}) == len(cb)
    study.write_text(
        text.replace(
            "schedules: [one-shot, gradual]",
            "schedules: [one-shot], scheduled: ['iterative:random'], scratch_scores: [random]",
        ).replace("scratch: false", "scratch: true")
    )
    cells = plan(load_study(study))
    assert sorted((c.params["score"], c.params["schedule"]) for c in cells if c.kind == "retrain") == [
        ("magnitude", "one-shot"),
        ("random", "iterative"),
        ("random", "one-shot"),
    ]
    assert [c.params["score"] for c in cells if c.kind == "scratch"] == ["random"]
    study.write_text(text.replace("schedules: [one-shot, gradual]", "scheduled: ['gradual']"))
    with pytest.raises(ConfigError, match=r"retrain.scheduled\[0\].*SCHEDULE:SCORE"):
        load_study(study)
    study.write_text(text.replace("schedules: [one-shot, gradual]", "schedules: [cubic]"))
    with pytest.raises(ConfigError, match=r"retrain.schedules\[0\].*unknown schedule"):
        load_study(study)
