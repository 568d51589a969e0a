"""The longer-budget comparison: a study that reruns the retrain cells with a longer recipe is paired with them,
and how each longer run ended is read from its curves."""

import json
import math
from pathlib import Path

import pytest

from nmtprune.experiments import ResultStore, load_study, plan
from nmtprune.report import write_report
from nmtprune.report.collect import collect

from report_helpers import eval_metrics, ok, toy  # noqa: F401 (toy is a fixture)


def test_longer_budget_study_is_paired_with_the_same_retrain_cells(toy, tmp_path):
    from nmtprune.report.budget import budget_note, budget_pairs

    path, results = toy
    study = load_study(path)
    store = ResultStore(results / "toy")
    short = iter([25.0, 25.2, 25.4])  # ours at 80 %: 25.20 ± 0.20, gap to dense (30.0) -4.80, 3 epochs
    for cell in plan(study):
        if cell.kind == "retrain":
            store.write(
                cell,
                ok(
                    {
                        **eval_metrics(next(short)),
                        "train_summary": {"epochs": 3},
                        "start": {},
                        "curve": {"train": [], "dev": []},
                    }
                ),
            )
    other = tmp_path / "longer.yaml"
    other.write_text(
        f"model: {study.model}\nsplit: test\ndev_split: dev\nbeam: 1\n"
        "retrain: {sparsities: [0.8], seeds: [1], overrides: [train.epochs=9], scratch: false, "
        "dense_continued: false}\n",
        encoding="utf-8",
    )
    same = tmp_path / "same.yaml"  # the same recipe: a rerun, not a budget comparison
    same.write_text(other.read_text().replace(" overrides: [train.epochs=9],", ""), encoding="utf-8")
    for p, bleu in ((other, 29.0), (same, 31.0)):
        cell = next(c for c in plan(load_study(p)) if c.kind == "retrain")
        ResultStore(results / p.stem).write(cell, ok({**eval_metrics(bleu), "train_summary": {"epochs": 9}}))
    path.write_text(path.read_text() + f"compare_with: [{same}]\n", encoding="utf-8")
    assert budget_pairs(collect(path, results)) == []
    path.write_text(path.read_text().replace(str(same), f"{same}, {other}"), encoding="utf-8")
    c = collect(path, results)
    [pair] = budget_pairs(c)
    assert (pair.study, pair.overrides, pair.sparsity, len(pair.ours), len(pair.longer)) == (
        "longer",
        ("train.epochs=9",),
        0.8,
        3,
        1,
    )
    assert budget_note(c, [0.95]) == ""  # only the sparsities asked for
    from nmtprune.report.summary import recipes_table

    rows = recipes_table(c).splitlines()[2:]
    assert rows[:3] == [
        "| recipe | epochs | magnitude one-shot 80 % |",
        "|---|---|---|",
        "| See et al.'s (toy) | 3 | 25.20 ± 0.20 (3) |",
    ]
    assert rows[3] == "| `train.epochs=9` ([longer](reports/longer/REPORT.md)) | 9 | 29.00 (1) |" and len(rows) == 4
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r1").read_text()
    assert (
        "one-shot magnitude at 80 % (3 vs 9 epochs): 25.20 ± 0.20 (n=3) → 29.00 (n=1), gap to dense -4.80 → -1.00"
    ) in text
    assert "closes at least half of the gap (one-shot 80 %)" in text and "- `longer` study" not in text
    assert "the longer budget below measures what more epochs give" not in text  # no dev curve in these cells
    cell = next(c for c in plan(load_study(other)) if c.kind == "retrain")
    ResultStore(results / "longer").write(cell, ok({**eval_metrics(26.0), "train_summary": {"epochs": 9}}))
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r2").read_text()
    assert "gap to dense -4.80 → -4.00" in text and "closes at least half" not in text


def test_how_a_longer_run_ended_is_read_from_its_curves(toy, tmp_path):
    from nmtprune.report.budget import RunEnd, budget_note, dense_train_loss, run_end

    path, results = toy
    study = load_study(path)
    # dev loss per epoch: 2.0, then flat at 1.6 (within 0.005) after epoch 2; last epoch's training loss 1.6
    dev = [[10, 2.0, 20.0], [20, 1.6, 25.0], [30, 1.598, 25.1], [40, 1.6, 25.1]]
    curve = {"train": [[5, 3.0], [15, 2.0], [25, 1.7], [35, 1.5], [40, 1.7]], "dev": dev}
    over = ("train.epochs=4", "train.decay_start=2")  # retraining halves twice per epoch from epoch 2
    assert run_end({"curve": curve}) == RunEnd(4, 2, None, 1.6, 1.6)
    assert run_end({"curve": curve}, study.model, over).lr_share == 0.5  # one halving by the end of epoch 2
    assert run_end({"curve": curve}, study.model, ("train.epochs=4", "train.decay_start=3")).lr_share == 1.0
    moving = {"train": curve["train"], "dev": dev[:3] + [[40, 1.55, 25.3]]}
    assert run_end({"curve": moving}).frozen_from is None  # still falling in its last epoch
    assert run_end({"curve": {"train": [], "dev": dev}}) is None and run_end({}) is None
    assert dense_train_loss(study.model) is None  # no train_log.jsonl beside the weights
    log = [
        {"type": "train", "step": 1, "epoch": 0.5, "loss": 2.0},
        {"type": "dev", "epoch": 1, "dev_ppl": 4.0},
        {"type": "train", "step": 2, "epoch": 1.5, "loss": 0.5},
        {"type": "train", "step": 3, "epoch": 1.9, "loss": 0.7},
        {"type": "dev", "epoch": 2, "dev_ppl": 5.0},
    ]
    (Path(study.model) / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log), encoding="utf-8")
    train, dev_loss = dense_train_loss(study.model)
    assert train == pytest.approx(0.6) and dev_loss == pytest.approx(math.log(5.0))  # the last epoch only
    store = ResultStore(results / "toy")
    for cell in plan(study):
        if cell.kind == "retrain":
            store.write(cell, ok({**eval_metrics(25.0), "train_summary": {"epochs": 2}}))
    other = tmp_path / "longer.yaml"
    other.write_text(
        f"model: {study.model}\nsplit: test\ndev_split: dev\nbeam: 1\nretrain: {{sparsities: [0.8], "
        f"seeds: [1], overrides: [{', '.join(over)}], scratch: false, dense_continued: false}}\n",
        encoding="utf-8",
    )
    cell = next(c for c in plan(load_study(other)) if c.kind == "retrain")
    ResultStore(results / "longer").write(
        cell, ok({**eval_metrics(26.0), "train_summary": {"epochs": 4}, "curve": curve})
    )
    path.write_text(path.read_text() + f"compare_with: [{other}]\n", encoding="utf-8")
    text = budget_note(collect(path, results))
    assert (
        "its dev loss stayed within 0.005 of its final 1.600 after epoch 2 of 4 (the lr then 1/2 of its start); "
        "its training loss over the last epoch was 1.600, 0.000 below its dev loss (the dense reference ended "
        "at 0.600, 1.009 below its dev loss): its dev loss levelled off with the lr still at half its start or "
        "more, so the lr schedule did not end its training; it fits the training data less closely than the dense "
        "model yet ends with a dev loss 0.009 below the dense reference's"
    ) in text and "underfit" not in text
    fits = {**curve, "train": curve["train"][:3] + [[35, 1.0], [40, 1.0]]}  # as close a fit as the dense model's
    ResultStore(results / "longer").write(
        cell, ok({**eval_metrics(26.0), "train_summary": {"epochs": 4}, "curve": fits})
    )
    text = budget_note(collect(path, results))
    assert "0.600 below its dev loss (the dense" in text and "underfit" not in text
    ResultStore(results / "longer").write(cell, ok({**eval_metrics(26.0), "curve": moving}))
    text = budget_note(collect(path, results))
    assert "its dev loss was still moving in its last epoch (1.550)" in text and "underfit" not in text
    later = tmp_path / "later.yaml"  # a second recipe: one bullet per study, each naming its recipe
    later.write_text(
        other.read_text()
        .replace("train.decay_start=2", "train.decay_start=3")
        .replace("retrain: {", "retrain: {prune_until: 0.3, "),
        encoding="utf-8",
    )
    cell = next(c for c in plan(load_study(later)) if c.kind == "retrain")
    ResultStore(results / "later").write(cell, ok({**eval_metrics(29.5), "train_summary": {"epochs": 4}}))
    path.write_text(path.read_text().replace(str(other), f"{other}, {later}"), encoding="utf-8")
    text = budget_note(collect(path, results))
    assert "recipes —\n\n- `longer` study, overrides `train.epochs=4`, `train.decay_start=2`: one-shot" in text
    assert (
        ".\n- `later` study, overrides `train.epochs=4`, `train.decay_start=3`: one-shot magnitude at 80 % "
        "(2 vs 4 epochs): 25.00 ± 0.00 (n=3) → 29.50 (n=1), gap to dense -5.00 → -0.50.\n\n"
    ) in text
    assert text.endswith(
        "closes at least half of the gap (`later` one-shot 80 %), the See recipe's short budget, "
        "more than the sparsity, limits the retrained model."
    )  # one-shot: no prune_until named
    spent = tmp_path / "spent.yaml"  # the same curve, the lr down to 1/8 when it levelled off: the schedule ended it
    spent.write_text(other.read_text().replace("train.decay_start=2", "train.decay_start=1"), encoding="utf-8")
    cell = next(c for c in plan(load_study(spent)) if c.kind == "retrain")
    ResultStore(results / "spent").write(
        cell, ok({**eval_metrics(26.0), "train_summary": {"epochs": 4}, "curve": curve})
    )
    path.write_text(path.read_text().replace(f"{other}, {later}", f"{other}, {later}, {spent}"), encoding="utf-8")
    text = budget_note(collect(path, results))
    assert (
        "after epoch 2 of 4 (the lr then 1/8 of its start); its training loss over the last epoch was 1.600, "
        "0.000 below its dev loss (the dense reference ended at 0.600, 1.009 below its dev loss): it still "
        "underfit the training data when its decayed lr stopped its progress"
    ) in text
