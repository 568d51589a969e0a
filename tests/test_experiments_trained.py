"""The sweep's trained cells (retrain, scratch, dense-continued): resume under the saved masks, the gradual
schedule's target, the random-mask scratch control; a fake trainer stands in for training where it can."""

import json

from nmtprune.experiments import ResultStore, load_study, plan
from nmtprune.experiments import trained as trained_mod
from nmtprune.train.checkpoint import save_checkpoint

from experiment_helpers import study, sweep  # noqa: F401 (study is a fixture)


def fake_trainer(seen):
    """Stands in for nmtprune.prune.retrain: writes out/best (the masked start) and a metrics.jsonl."""

    def train(model_dir, *args, seed, overrides=(), resume=False, progress=False):
        from nmtprune.train.checkpoint import load_model

        masks, out = (args[0], args[1]) if len(args) == 2 else (None, args[0])
        seen.append(
            {"resume": resume, "seed": seed, "overrides": list(overrides), "masked": masks is not None, "masks": masks}
        )
        model, cfg, sv, tv = load_model(model_dir)
        if masks is not None:
            masks.apply(model)
        save_checkpoint(out / "best", model, cfg, sv, tv)
        (out / "metrics.jsonl").write_text(
            '{"type": "train", "step": 2, "loss": 3.1}\n'
            '{"type": "dev", "step": 4, "dev_ppl": 20.0, "dev_bleu_tok_lc": 1.0}\n'
        )
        return {"steps": 4}

    return train


def test_trained_cells_with_a_fake_trainer_and_resume(study, tmp_path, monkeypatch):
    study.write_text(
        study.read_text() + "retrain: {sparsities: [0.8], seeds: [1, 2], scratch_seeds: [1], "
        "dense_seeds: [3], overrides: [train.epochs=1]}\nloss_curve: {sparsity: 0.8, seed: 1}\n"
    )
    seen = []
    monkeypatch.setattr(trained_mod, "_trainer", lambda kind: fake_trainer(seen))
    cells = [c for c in plan(load_study(study)) if c.kind in ("retrain", "scratch", "dense-continued")]
    assert sorted(c.kind for c in cells) == ["dense-continued", "retrain", "retrain", "scratch"]  # curve deduped
    resumable = tmp_path / "work" / "toy_study" / cells[0].id / "last"
    resumable.mkdir(parents=True)
    (resumable / "trainer.json").write_text("{}")
    # the interrupted run trained under these masks (not what the cell would select now): it resumes under them
    from nmtprune.experiments.context import Context
    from nmtprune.train.checkpoint import MASKS_FILE

    p = cells[0].params
    saved = Context(load_study(study), tmp_path / "scratch").masks("random", p["scheme"], p["sparsity"], 7)
    saved.save(resumable / MASKS_FILE)
    summary = sweep(study, tmp_path, only=["retrain", "scratch", "dense-continued"])
    assert summary["ok"] == 4
    assert [s["resume"] for s in seen] == [True, False, False, False]
    assert seen[0]["masks"].equal(saved) and not seen[1]["masks"].equal(saved)
    assert seen[0]["overrides"] == ["train.epochs=1"] and [s["masked"] for s in seen] == [True, True, True, False]
    r = ResultStore(tmp_path / "results" / "toy_study").read(cells[0])["metrics"]
    assert r["mask_held"] and r["resumed"] and r["curve"]["train"] == [[2, 3.1]]
    assert r["curve"]["dev"][0][:2] == [4, round(__import__("math").log(20.0), 5)]
    assert r["start"]["pruned_dev_loss"] != r["start"]["dense_dev_loss"]
    assert sweep(study, tmp_path, only=["retrain", "scratch", "dense-continued"])["ran"] == 0 and len(seen) == 4


def test_gradual_retrain_cell_evaluates_the_model_at_its_target(study, tmp_path):
    study.write_text(
        study.read_text() + "retrain: {sparsities: [0.5], seeds: [1], schedules: [gradual], "
        "scratch: false, dense_continued: false, overrides: [train.epochs=3]}\n"
    )
    sweep(study, tmp_path, only=["retrain"])
    (result,) = [json.loads(p.read_text()) for p in (tmp_path / "results" / "toy_study").glob("retrain_*.json")]
    m = result["metrics"]
    assert result["status"] == "ok" and m["mask_held"]
    assert m["masks"]["stats"]["overall"]["pruned"] == round(0.5 * m["masks"]["stats"]["overall"]["total"])


def test_random_mask_scratch_control_trains_under_a_random_mask(study, tmp_path, monkeypatch):
    study.write_text(
        study.read_text() + "retrain: {sparsities: [0.8], seeds: [1], scratch_seeds: [2], "
        "scratch_random: [0.8], dense_continued: false}\n"
    )
    seen = []
    monkeypatch.setattr(trained_mod, "_trainer", lambda kind: fake_trainer(seen))
    assert sweep(study, tmp_path, only=["scratch"])["ok"] == 2 and [s["masked"] for s in seen] == [True, True]
    store = ResultStore(tmp_path / "results" / "toy_study")
    got = {c.params["score"]: store.read(c)["metrics"] for c in plan(load_study(study)) if c.kind == "scratch"}
    assert set(got) == {"magnitude", "random"} and all(m["mask_held"] for m in got.values())
    pruned = {k: m["masks"]["stats"]["overall"]["pruned"] for k, m in got.items()}
    assert pruned["random"] == pruned["magnitude"] == round(0.8 * got["random"]["masks"]["stats"]["overall"]["total"])
    # a different mask from magnitude's: the per-class counts differ (random is blind to the weights)
    assert got["random"]["masks"]["stats"] != got["magnitude"]["masks"]["stats"]
