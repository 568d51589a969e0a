"""Sparse from scratch beside the dense reference's own training log (nmtprune.report.scratch)."""

import json
import math
from pathlib import Path

from nmtprune.experiments import ResultStore, load_study, plan
from nmtprune.report import write_report
from nmtprune.report.collect import collect
from nmtprune.report.scratch import scratch_note, scratch_vs_dense

from report_helpers import eval_metrics, ok, toy  # noqa: F401  (toy is a fixture)

DENSE_DEV_PPL = {1: 20.0, 2: 8.0, 3: 5.0}  # the reference's dev perplexity at the end of each epoch (10 steps each)


def _with_scratch(toy_, sparsities_loss: dict, dense_ppl=DENSE_DEV_PPL, random_loss=None, random_bleu=None):
    """The toy study with two scratch sparsities; ``sparsities_loss``: {sparsity: [dev loss per epoch]};
    ``random_loss``: the same for the random-mask control (``retrain.scratch_random``); ``random_bleu``: its test
    BLEU per sparsity (default 25.0; the trained masks' is 31.0, the dense model's 30.0)."""
    path, results = toy_
    control = f", scratch_random: {sorted(random_loss)}" if random_loss else ""
    text = path.read_text().replace(
        "retrain: {sparsities: [0.8], seeds: [1, 2, 3], scratch: false",
        f"retrain: {{sparsities: [0.8, 0.9], seeds: [1], scratch: true{control}",
    )
    path.write_text(text, encoding="utf-8")
    study = load_study(path)
    log = "\n".join(json.dumps({"type": "dev", "epoch": e, "step": 10 * e, "dev_ppl": p}) for e, p in dense_ppl.items())
    (Path(study.model) / "train_log.jsonl").write_text(log + "\n", encoding="utf-8")
    store = ResultStore(results / "toy")
    for cell in plan(study):
        if cell.kind == "scratch":
            losses = (random_loss if cell.params["score"] == "random" else sparsities_loss)[cell.params["sparsity"]]
            dev = [[10 * (e + 1), v, 20.0] for e, v in enumerate(losses)]
            random = cell.params["score"] == "random"
            bleu = (random_bleu or {}).get(cell.params["sparsity"], 25.0) if random else 31.0
            store.write(cell, ok({**eval_metrics(bleu), "curve": {"train": [], "dev": dev}}))
    return path, results


def test_scratch_dev_loss_is_compared_with_the_reference_log_at_a_shared_step(toy, tmp_path):
    dense_last = math.log(5.0)
    path, results = _with_scratch(toy, {0.8: [2.5, 1.5, dense_last - 0.3], 0.9: [4.0, 3.0, dense_last + 0.5]})
    v = scratch_vs_dense(collect(path, results))
    assert v.step == 30 and v.epoch == 3 and abs(v.dense - dense_last) < 1e-12
    assert v.lower() == [0.8] and v.higher() == [0.9] and v.same_seed
    assert abs(v.dense_last_change - (math.log(5.0) - math.log(8.0))) < 1e-12
    text = scratch_note(collect(path, results))
    assert (
        f"at step 30 (the end of the reference's epoch 3): dense {dense_last:.3f}; 80 % {dense_last - 0.3:.3f} "
        "(-0.300); 90 %" in text
    )
    assert (
        "At 80 % the dev loss under the mask was lower than the dense training's at the same step, at 90 % higher."
        in text
    )
    assert "(still falling when its training ended)" in text and "At 80 % no random-mask control is planned" in text
    assert "start from the reference's own initial weights" in text  # same training seed (v.same_seed)
    report = write_report(path, results_dir=results, reports_dir=tmp_path / "r")
    assert "fig6_scratch.png" in report.read_text() and (report.parent / "fig6_scratch.png").stat().st_size > 1000
    # trained with another seed than the reference's: other initial weights, so no lottery-ticket sentence
    cfg_file = Path(load_study(path).model) / "config.json"
    cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    cfg["train"]["seed"] = 7
    cfg_file.write_text(json.dumps(cfg), encoding="utf-8")
    text = scratch_note(collect(path, results))
    assert "training seed;" not in text and "own initial weights" not in text


def test_the_step_is_the_latest_one_every_sparsity_reached(toy):
    # 0.9 stopped after epoch 2 (early stopping): compare both at step 20 rather than 0.8 alone at 30
    path, results = _with_scratch(toy, {0.8: [2.5, 1.5, 1.4], 0.9: [4.0, 3.0]}, dense_ppl={1: 20.0, 2: 8.0, 3: 8.0})
    v = scratch_vs_dense(collect(path, results))
    assert v.step == 20 and v.epoch == 2 and list(v.scratch) == [0.8, 0.9]
    text = scratch_note(collect(path, results))
    assert (
        "(no longer falling)" in text
        and "At 80 % the dev loss under the mask was lower" in text
        and "at 90 % higher" in text
    )  # 1.5 and 3.0 vs ln 8 ≈ 2.079
    # the reference's log is shorter than the scratch runs: its last step is the latest shared one
    path, results = _with_scratch(toy, {0.8: [2.5, 1.5, 1.4], 0.9: [4.0, 3.0, 1.0]}, dense_ppl={1: 20.0, 2: 8.0})
    assert scratch_vs_dense(collect(path, results)).step == 20


def test_no_comparison_without_the_reference_log_or_scratch_curves(toy, tmp_path):
    path, results = _with_scratch(toy, {0.8: [2.5, 1.5, 1.4], 0.9: [2.5, 1.5, 1.4]})
    (Path(load_study(path).model) / "train_log.jsonl").unlink()
    assert scratch_vs_dense(collect(path, results)) is None and scratch_note(collect(path, results)) == ""
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r").read_text()
    assert "fig6_scratch" not in text and "Sparse from scratch beside" not in text


def test_the_random_mask_control_is_planned_and_says_where_the_head_start_comes_from(toy, tmp_path):
    dense_last = math.log(5.0)
    losses = {0.8: [2.5, 1.5, dense_last - 0.3], 0.9: [2.5, 1.5, dense_last - 0.2]}
    path, results = _with_scratch(
        toy, losses, random_loss={0.8: [3.0, 2.0, dense_last + 0.1], 0.9: [3.0, 2.0, dense_last - 0.1]}
    )
    control = [cl for cl in plan(load_study(path)) if cl.kind == "scratch" and cl.params["score"] == "random"]
    assert [(cl.params["sparsity"], cl.params["seed"], cl.params["train_seed"]) for cl in control] == [
        (0.8, 1, 1),
        (0.9, 1, 1),
    ]
    v = scratch_vs_dense(collect(path, results))
    assert set(v.random) == {0.8, 0.9} and abs(v.random[0.8][0] - (dense_last + 0.1)) < 1e-12
    text = scratch_note(collect(path, results))
    assert "80 % dev loss 1.709 (+0.100 vs dense), test BLEU 25.00 vs the trained model's mask's 31.00" in text
    assert "At 90 % the random mask too reached a lower dev loss" in text
    assert (
        "At 80 % the random mask did not reach a lower dev loss than the dense training: there the head start "
        "in dev loss comes from what the trained model's mask carries." in text
    )
    # BLEU beside dev loss: both masks' gains over the dense model's BLEU, at the sparsities the control ran
    d = collect(path, results).dense()["bleu_tok_lc"]
    assert (
        f"In test BLEU over the dense model's {d:.2f}: at 80 % the trained model's mask {31.0 - d:+.2f}, the "
        f"random mask {25.0 - d:+.2f}; at 90 % the trained model's mask {31.0 - d:+.2f}" in text
    )
    assert d == 30.0 and "comes with sparsity alone" not in text and "sparsity alone gives it" not in text
    assert "not measured by this study" not in text and "not run yet" not in text  # each has its control
    for cell in plan(load_study(path)):  # the control planned, its result not there yet
        if cell.kind == "scratch" and cell.params["score"] == "random" and cell.params["sparsity"] == 0.8:
            (results / "toy" / f"{cell.id}.json").unlink()
    text = scratch_note(collect(path, results))
    assert "The random-mask control (`retrain.scratch_random`) at 80 %, which separates" in text
    assert "At 90 % the random mask too" in text and "not measured by this study" not in text
    report = write_report(path, results_dir=results, reports_dir=tmp_path / "r")
    assert "random mask of the same sparsity trained from scratch (the control)" in report.read_text()


def test_scratch_random_sparsities_are_checked(toy):
    from nmtprune.config import ConfigError
    import pytest

    path, _ = toy
    path.write_text(
        path.read_text().replace("scratch: false", "scratch: true, scratch_random: [1.5]"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"retrain\.scratch_random\[0\]"):
        load_study(path)


def test_fig6_delta_panel_shows_points_far_above_dense(tmp_path, monkeypatch):
    from nmtprune.report import plots

    got = {}
    monkeypatch.setattr(plots, "_save", lambda fig, out, stem: got.setdefault("fig", fig) and stem)
    run = lambda b: [{"bleu_tok_lc": b}]  # noqa: E731
    plots.fig6({0.5: run(28.0)}, {0.5: run(33.5)}, {0.5: run(40.25)}, run(34.9), 31.98, tmp_path)
    low, high = got["fig"].axes[1].get_ylim()
    assert low == -6 and high >= 40.25 - 31.98  # the scratch point (+8.27) is inside the panel


def test_the_random_masks_bleu_gain_is_said_beside_the_trained_masks(toy):
    # dev loss: both masks ahead of dense at 80 % and 90 %; BLEU (dense 30.0, trained masks 31.0): the random
    # mask gains part of that at 80 % and at least as much at 90 %
    dense_last = math.log(5.0)
    losses = {0.8: [2.5, 1.5, dense_last - 0.3], 0.9: [2.5, 1.5, dense_last - 0.2]}
    path, results = _with_scratch(
        toy,
        losses,
        random_loss={0.8: [3.0, 2.0, dense_last - 0.1], 0.9: [3.0, 2.0, dense_last - 0.1]},
        random_bleu={0.8: 30.4, 0.9: 31.5},
    )
    text = scratch_note(collect(path, results))
    assert (
        "at 80 % the trained model's mask +1.00, the random mask +0.40; at 90 % the trained model's mask "
        "+1.00, the random mask +1.50." in text
    )
    assert "So in BLEU part of the gain at 80 % comes with sparsity alone" in text
    assert "At 90 % the random mask's BLEU gain is as large: in BLEU sparsity alone gives it." in text
