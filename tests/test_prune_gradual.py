"""Pruning while training (iterative, gradual): schedules, monotone masks, exact targets, resume."""

import pytest
import torch

from conftest import TOY_CONFIG
from nmtprune.config import load_config
from nmtprune.prune import MaskSet
from nmtprune.prune.gradual import ScheduledPruner, full_masks, make_schedule
from nmtprune.prune.retrain import prune_while_training
from nmtprune.prune.scores import weight_magnitude
from nmtprune.train.checkpoint import load_masks, load_model
from nmtprune.train.loop import train

OVER = ["train.epochs=3", "train.save_every=2"]


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    out = tmp_path_factory.mktemp("dense")
    train(load_config(TOY_CONFIG, ["train.epochs=4"]), out / "run", progress=False)
    return out / "run" / "best"


def test_make_schedule_kinds():
    one = make_schedule("one-shot", 0.8, 100)
    assert one(0) == 0.8 and one(99) == 0.8
    it = make_schedule("iterative", 0.6, 100, rounds=3, prune_until=0.6)  # rounds at steps 0, 20, 40
    assert [it(t) for t in (0, 19, 20, 39, 40, 99)] == pytest.approx([0.2, 0.2, 0.4, 0.4, 0.6, 0.6])
    gr = make_schedule("gradual", 0.9, 100, prune_until=0.5, every=5)
    values = [gr(t) for t in range(101)]
    assert values[0] == 0.0 and values[50] == pytest.approx(0.9) and values[100] == pytest.approx(0.9)
    assert all(b >= a for a, b in zip(values, values[1:]))
    assert values[10] - values[0] > values[50] - values[40]  # cubic: fast early, slow late
    # events: about that many distinct sparsity levels over the stretch (default ~100, one per ~1 %)
    few = make_schedule("gradual", 0.9, 2000, prune_until=0.5, events=10)
    assert len({few(t) for t in range(2001)}) == 11 and few(1000) == pytest.approx(0.9)  # 0 and 10 events
    assert len({make_schedule("gradual", 0.9, 2000, prune_until=0.5)(t) for t in range(2001)}) == 101
    with pytest.raises(ValueError, match="events"):
        make_schedule("gradual", 0.5, 10, events=-1)
    with pytest.raises(ValueError, match="unknown schedule"):
        make_schedule("linear", 0.5, 10)
    with pytest.raises(ValueError, match="prune_until"):
        make_schedule("gradual", 0.5, 10, prune_until=0.0)


def test_pruner_grows_masks_monotonically_to_the_exact_target(dense):
    model, *_ = load_model(dense)
    seen = []

    def rescore(m, step):
        seen.append(step)
        return weight_magnitude(m)

    pruner = ScheduledPruner(
        full_masks(model), make_schedule("iterative", 0.75, 30, rounds=3, prune_until=0.9), rescore, "class-blind"
    )
    history = []
    for step in range(31):
        if pruner.update(model, None, step):
            history.append({n: m.clone() for n, m in pruner.masks.items()})
    assert seen == [0, 9, 18]  # three rounds, nothing in between
    for before, after in zip(history, history[1:]):  # a pruned weight never comes back
        assert all(torch.all(after[n] <= before[n]) for n in before)
    stats = pruner.masks.stats(model)["overall"]
    assert stats["pruned"] == round(0.75 * stats["total"])
    named = dict(model.named_parameters())
    assert all(torch.all(named[n][~m] == 0) for n, m in pruner.masks.items())
    assert [e[0] for e in pruner.masks.info["events"]] == [0, 9, 18]


@pytest.mark.parametrize("schedule", ["gradual", "iterative"])
def test_prune_while_training_hits_target_and_keeps_zeros(dense, tmp_path, schedule):
    prune_while_training(dense, tmp_path / "run", seed=2, target=0.7, schedule=schedule, overrides=OVER)
    model, *_ = load_model(tmp_path / "run" / "last")
    masks = load_masks(tmp_path / "run" / "last")
    assert isinstance(masks, MaskSet)
    stats = masks.stats(model)["overall"]
    assert stats["pruned"] == round(0.7 * stats["total"])
    named = dict(model.named_parameters())
    assert all(torch.all(named[n][~m] == 0) for n, m in masks.items())
    events = masks.info["events"]
    assert len(events) > (1 if schedule == "iterative" else 3) and events[-1][1] == pytest.approx(0.7)


def test_gradual_events_sets_how_often_a_run_prunes(dense, tmp_path):
    prune_while_training(dense, tmp_path / "few", seed=2, target=0.7, events=3, overrides=OVER)
    prune_while_training(dense, tmp_path / "many", seed=2, target=0.7, overrides=OVER)
    few, many = (load_masks(tmp_path / d / "last").info["events"] for d in ("few", "many"))
    assert (
        3 <= len(few) <= 4 and few[-1][1] == pytest.approx(0.7) and len(many) > len(few)
    )  # +1: the target at the end of the stretch


def test_scheduled_pruning_resumes_exactly(dense, tmp_path):
    prune_while_training(dense, tmp_path / "full", seed=2, target=0.6, overrides=OVER)
    prune_while_training(dense, tmp_path / "part", seed=2, target=0.6, overrides=OVER + ["train.max_steps=5"])
    part_masks = load_masks(tmp_path / "part" / "last")
    assert 0 < part_masks.info["sparsity"] < 0.6  # stopped in the middle of the pruning stretch
    prune_while_training(dense, tmp_path / "part", seed=2, target=0.6, overrides=OVER, resume=True)
    a, *_ = load_model(tmp_path / "full" / "last")
    b, *_ = load_model(tmp_path / "part" / "last")
    for (n, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), n
    assert load_masks(tmp_path / "full" / "last").equal(load_masks(tmp_path / "part" / "last"))


def test_masks_and_pruner_together_are_refused(dense, tmp_path):
    model, *_ = load_model(dense)
    pruner = ScheduledPruner(full_masks(model), make_schedule("one-shot", 0.5, 10), lambda m, t: weight_magnitude(m))
    with pytest.raises(ValueError, match="either masks or a pruner"):
        train(
            load_config(TOY_CONFIG),
            tmp_path / "x",
            progress=False,
            init_model=model,
            masks=full_masks(model),
            pruner=pruner,
        )
