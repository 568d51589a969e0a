"""The method-comparison report: scores side by side, its cost and per-class sections, the class shares of the
retrained masks, sparse-from-scratch and at-initialisation masks against the trained scores."""

import json


from nmtprune.experiments import ResultStore, load_study, plan
from nmtprune.report import write_report
from nmtprune.report.collect import collect

from conftest import ROOT
from report_helpers import eval_metrics, ok, toy  # noqa: F401 (toy is a fixture)


def test_methods_report_compares_scores_side_by_side(toy, tmp_path):
    path, results = toy
    text = path.read_text().replace("retrain: {sparsities: [0.8],", "retrain: {sparsities: [0.8, 0.95],")
    path.write_text("report: methods\n" + text, encoding="utf-8")
    study = load_study(path)
    store = ResultStore(results / "toy")
    for cell in plan(study):  # the 95 % retrained point, one seed per method, for the target check
        if cell.kind == "retrain" and cell.params["sparsity"] == 0.95 and cell.params["train_seed"] == 1:
            store.write(cell, ok({**eval_metrics(29.2), "start": {}, "curve": {"train": [], "dev": []}}))
    report = write_report(path, results, tmp_path / "reports").read_text()
    assert report.startswith("# Pruning methods on the LSTM model")
    # both scores in the class-blind table; the failed random cell shows as missing, not as a number
    blind = report.split("**class-blind**")[1].split("\n\n")[1]
    assert "| magnitude | 29.90 / 20.10 | 29.60 / 20.40 |" in blind and "| random | 29.00 / 21.00 | – |" in blind
    assert "✅ met" in report and "Δ -0.80" in report  # 29.2 vs dense 30.0 at 95 %: within 1.0
    for name, bleu, over in (("longer", 29.5, "train.epochs=9"), ("longest", 27.0, "train.epochs=12")):
        other = tmp_path / f"{name}.yaml"  # the same 95 % cell under a longer recipe, one seed
        other.write_text(
            f"model: {study.model}\nsplit: test\ndev_split: dev\nbeam: 1\nretrain: {{sparsities: [0.95], "
            f"seeds: [1], overrides: [{over}], scratch: false, dense_continued: false}}\n",
            encoding="utf-8",
        )
        cell = next(c for c in plan(load_study(other)) if c.kind == "retrain")
        ResultStore(results / name).write(cell, ok({**eval_metrics(bleu), "train_summary": {"epochs": 9}}))
    path.write_text(
        path.read_text() + f"compare_with: [{tmp_path / 'longer.yaml'}, {tmp_path / 'longest.yaml'}]\n",
        encoding="utf-8",
    )
    report = write_report(path, results, tmp_path / "reports").read_text()
    assert (
        "| the same with the longer recipe of `longer` (`train.epochs=9`) | ✅ met (1 seed so far; 3 needed) | "
        "magnitude (one-shot): 29.50 (n=1) vs dense 30.00 (Δ -0.50) (n = 1 on both sides: no spread to judge by); "
        "[longer](../longer/REPORT.md) |"
    ) in report
    assert (
        "| the same with the longer recipe of `longest` (`train.epochs=12`) | ❌ not met | magnitude (one-shot): "
        "27.00 (n=1) vs dense 30.00 (Δ -3.00)" in report
    )
    assert "* **Scoring data**: none; every score of this study is data-free." in report  # magnitude, random
    assert "## Cost of each score" not in report and "OBD score costs" not in report  # no data-driven score
    path.write_text(path.read_text().replace("{score: random,", "{score: taylor,"), encoding="utf-8")
    report = write_report(path, results, tmp_path / "reports").read_text()
    assert "first n training batches of 64 sentences (`taylor` 100)" in report and "absent-row policy" in report
    assert "## Cost of each score" in report and "## SNIP at initialisation" not in report
    assert (tmp_path / "reports" / "toy" / "fig_methods_bleu.png").is_file()
    assert "| retrained 95 % within 1.0 BLEU of dense with the best method |" in report  # the See recipe
    path.write_text(
        path.read_text().replace("retrain: {", "retrain: {prune_until: 0.3, overrides: [train.epochs=9], "),
        encoding="utf-8",
    )
    report = write_report(path, results, tmp_path / "reports").read_text()
    assert "with the best method (here with the recipe changed: `train.epochs=9`) |" in report  # one-shot only
    path.write_text(
        path.read_text().replace("retrain: {", "retrain: {scheduled: ['gradual:magnitude'], "), encoding="utf-8"
    )
    report = write_report(path, results, tmp_path / "reports").read_text()
    assert "(here with the recipe changed: `train.epochs=9`, `retrain.prune_until: 0.3`) |" in report


def test_methods_cost_section_reads_the_benchmark_files_format(tmp_path):
    from nmtprune.report.methods_cost import _cost_section

    shipped = ROOT / "benchmarks" / "results" / "bench_scores.json"  # written by benchmarks/bench_scores.py
    data = json.loads(shipped.read_text())
    text = _cost_section(shipped)
    for label, row in data["correlation"]["estimators"].items():
        assert f"| {label} | {row['seconds']:.3f} | {row['spearman_h_vs_exact_hessian']:.3f} |" in text
    # a cost part in the format cost() writes is tabulated too; a missing one is said to be missing
    assert ("cost part has not been run" in text) == ("cost" not in data)
    data["cost"] = {
        "model": "m",
        "batches": 4,
        "train_step": "bf16 autocast",
        "train_step_seconds": 0.5,
        "epoch_seconds_estimate": 227.0,
        "train_step_peak_extra_mb": 450.0,
        "repeats": 3,
        "run": {"command": "python benchmarks/bench_scores.py --only cost", "commit": "c0ffee"},
        "scores": {
            "obd": {
                "seconds": 8.0,
                "seconds_per_batch": 2.0,
                "default_batches": 16,
                "peak_extra_mb": 120.4,
                "projected_default_seconds": 32.0,
                "projected_default_epochs": 0.141,
            }
        },
    }
    (tmp_path / "b.json").write_text(json.dumps(data))
    text = _cost_section(tmp_path / "b.json")
    assert "| obd | 4 | 2.000 | 120 | 16 | 32.0 | 0.141 |" in text and "one epoch ≈ 227 s" in text
    assert "median of 3 fresh processes" in text and "450 MB of peak memory" in text
    # each part names its own run: the cost part's commit, the correlation part's (or the file's) own
    assert "commit `c0ffee`" in text and f"commit `{(data['correlation'].get('run') or data)['commit']}`" in text
    assert "No benchmark yet" in _cost_section(tmp_path / "none.json")
    # the targets table's cost row: met at <= 1 epoch, not met above, not measured without a cost part
    from nmtprune.report.methods_targets import _obd_cost_row

    assert _obd_cost_row(tmp_path / "b.json")[1] == "✅ met" and "0.14 epoch" in _obd_cost_row(tmp_path / "b.json")[2]
    data["cost"]["scores"]["obd"]["projected_default_epochs"] = 1.3
    (tmp_path / "b.json").write_text(json.dumps(data))
    assert _obd_cost_row(tmp_path / "b.json")[1] == "❌ not met"
    assert _obd_cost_row(tmp_path / "none.json")[1] == "⏳ not measured"


def test_methods_where_section_contrasts_at_init_with_trained_scores(toy, tmp_path):
    path, results = toy
    text = path.read_text().replace("where: {}", "where: {scores: [magnitude, snip, snip-init]}")
    path.write_text("report: methods\n" + text, encoding="utf-8")
    store = ResultStore(results / "toy")

    def where(i, f, g, o):
        gates = {"i": i, "f": f, "g": g, "o": o}
        return {
            "classes": {"src_layer1": {"sparsity": 0.9}, "overall": {"sparsity": 0.9}},
            "lstm": {"src_layer1": {"gates": gates}, "tgt_layer1": {"gates": gates}},
        }

    survival = {"magnitude": (0.1, 0.1, 0.1, 0.1), "snip": (0.2, 0.1, 0.3, 0.0), "snip-init": (0.0, 0.0, 0.6, 0.0)}
    for cell in plan(load_study(path), only=["where"]):
        store.write(cell, ok(where(*survival[cell.params["score"]])))
    report = write_report(path, results, tmp_path / "reports").read_text()
    assert "`snip` i/f/o 10.0 %, g 30.0 % vs `snip-init` i/f/o 0.0 %, g 60.0 %" in report
    assert "`magnitude` i/f/o" not in report  # no at-init twin: no contrast


def test_class_shares_of_the_retrained_masks_separate_allocation_from_schedule(toy, tmp_path):
    from nmtprune.report.shares import class_shares, shares_section

    def stats(a, b):  # a of 100 attention weights and b of 200 softmax weights pruned
        return {
            "stats": {
                "attention": {"pruned": a, "total": 100},
                "softmax": {"pruned": b, "total": 200},
                "overall": {"pruned": a + b, "total": 300},
            }
        }

    assert class_shares([{"masks": stats(90, 180)}, {"masks": stats(80, 170)}]) == {"attention": 85.0, "softmax": 87.5}
    assert class_shares([{"bleu_tok_lc": 1.0}]) == {}  # no masks recorded: no shares
    path, results = toy
    path.write_text(
        path.read_text().replace("seeds: [1, 2, 3],", "seeds: [1], scheduled: ['gradual:magnitude'],"), encoding="utf-8"
    )
    study = load_study(path)
    store = ResultStore(results / "toy")
    cells = {c.params.get("schedule"): c for c in plan(study) if c.kind == "retrain"}
    store.write(cells["one-shot"], ok({**eval_metrics(10.0), "masks": stats(90, 180)}))
    store.write(cells["gradual"], ok({**eval_metrics(25.0), "masks": stats(88, 181)}))
    text = shares_section(collect(path, results))
    assert (
        "| magnitude | one-shot | 10.00 | 90.0 | 90.0 |" in text
        and "| magnitude | gradual | 25.00 | 88.0 | 90.5 |" in text
    )
    assert "prune every class within 2.0 points of each other, yet retrain to 10.00 vs 25.00 BLEU" in text
    store.write(cells["gradual"], ok({**eval_metrics(25.0), "masks": stats(70, 181)}))  # allocates differently
    text = shares_section(collect(path, results))
    assert "| magnitude | gradual | 25.00 | 70.0 | 90.5 |" in text and "within" not in text


def test_methods_scratch_table_gives_ppl_and_the_epochs_each_mask_trained(toy, tmp_path):
    path, results = toy
    text = path.read_text().replace("scratch: false", "scratch: true, scratch_scores: [magnitude, snip-init]")
    path.write_text("report: methods\n" + text, encoding="utf-8")
    store = ResultStore(results / "toy")
    for cell in plan(load_study(path), only=["scratch"]):
        early = cell.params["score"] == "snip-init"
        store.write(
            cell,
            ok(
                {
                    **eval_metrics(18.2 if early else 29.0),
                    "train_summary": {"epochs": 11 if early else 15, "stopped_early": early},
                }
            ),
        )
    report = write_report(path, results, tmp_path / "reports").read_text()
    assert "| mask from | sparsity | BLEU | test ppl | epochs trained |" in report
    assert "| magnitude | 80 % | 29.00 | 21.00 | 15 |" in report  # eval_metrics: ppl = 50 - BLEU
    assert "| snip-init | 80 % | 18.20 | 31.80 | 11 (early stop) |" in report


def test_methods_report_sets_at_init_masks_against_the_trained_scores_and_runs_snips_batch_ablation(toy, tmp_path):
    path, results = toy
    text = path.read_text().replace(
        "scratch: false", "scores: [magnitude, snip], scratch: true, scratch_scores: [snip-init, snip-init-b1]"
    )
    path.write_text("report: methods\n" + text, encoding="utf-8")
    store = ResultStore(results / "toy")
    snip_bleu = iter([27.0, 28.0, 29.0])
    for cell in plan(load_study(path), only=["retrain", "scratch"]):
        p = cell.params
        if cell.kind == "retrain" and p["score"] == "snip":
            store.write(cell, ok({**eval_metrics(next(snip_bleu)), "start": {}, "curve": {"train": [], "dev": []}}))
        elif cell.kind == "scratch":
            one = p["score"] == "snip-init-b1"  # scored on 1 batch: trains all 15 epochs to 15.0
            store.write(
                cell,
                ok(
                    {
                        **eval_metrics(15.0 if one else 20.0),
                        "train_summary": {"epochs": 15 if one else 11, "stopped_early": not one},
                    }
                ),
            )
    report = write_report(path, results, tmp_path / "reports").read_text()
    # snip is not in prune_eval, so it has no pruned-only point; retrained: mean ± std of the 3 seeds
    assert "| `snip` / `snip-init` | 80 % | – | 28.00 ± 1.00 (n=3) | 20.00 | 11 (early stop) |" in report
    assert "`snip-init` at 80 % ends 8.00 BLEU below `snip` pruned and retrained." in report
    assert "`snip-init-b1` /" not in report  # a batch variant has no after-training twin
    batches = report.split("## SNIP at initialisation")[1]
    assert "_Mask overlaps not measured yet_" in batches  # no results/ablations/snip_batches.json here
    assert "| scoring batches | score | BLEU at 80 % | epochs at 80 % |" in batches
    # ordered by the registered number of scoring batches, not by the study's listing
    assert batches.index("| 1 | `snip-init-b1` | 15.00 | 15 |") < batches.index(
        "| 100 | `snip-init` | 20.00 | 11 (early stop) |"
    )
