"""The report: rendered from a small hand-made set of result JSONs, with missing and failed parts."""

import json
import math
from pathlib import Path

import matplotlib.image
import pytest

from nmtprune.experiments import ResultStore, load_study, plan
from nmtprune.experiments.grid import Cell
from nmtprune.report import run_checks, write_report
from nmtprune.report.collect import collect
from nmtprune.report.paper import paper_class

from conftest import ROOT
from test_experiments import make_model

STUDY = """\
model: {model}
split: test
dev_split: dev
beam: 1
prune_eval:
  sparsities: [0.0, 0.2, 0.4]
  methods:
    - {{score: magnitude, schemes: [class-blind, class-uniform]}}
    - {{score: random, schemes: [class-blind], seeds: [1]}}
class_breakdown: {{sparsity: 0.9, schemes: [class-uniform]}}
retrain: {{sparsities: [0.8], seeds: [1, 2, 3], scratch: false, dense_continued: false}}
where: {{}}
"""
BLEU = {
    (None, 0.0): 30.0,
    ("class-blind", 0.2): 29.9,
    ("class-blind", 0.4): 29.6,
    ("class-uniform", 0.2): 30.1,
    ("class-uniform", 0.4): 28.0,
}
SIG = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
PROV = {"command": "nmtprune sweep toy.yaml", "commit": "abc123", "machine": {"cpu": "TestCPU", "cores": 2}}


def ok(metrics):
    return {"status": "ok", "metrics": metrics, "provenance": PROV, "wall_s": 1.0}


def eval_metrics(bleu, total=1000):
    return {
        "bleu_tok_lc": bleu,
        "sacrebleu": bleu - 1,
        "sacrebleu_signature": SIG,
        "ppl": 50 - bleu,
        "dev_ppl": 51 - bleu,
        "sentences": 10,
        "masks": {"stats": {"overall": {"total": total}}},
    }


@pytest.fixture
def toy(tmp_path):
    """A toy study with hand-made results for part of its cells; returns (study path, results dir)."""
    model = make_model(tmp_path / "model")
    path = tmp_path / "toy.yaml"
    path.write_text(STUDY.format(model=model), encoding="utf-8")
    study = load_study(path)
    store = ResultStore(tmp_path / "results" / "toy")
    retrain_bleu = iter([30.1, 30.3, 30.5])
    for cell in plan(study):
        p = cell.params
        if cell.kind == "prune-eval" and p["score"] != "random":
            store.write(cell, ok(eval_metrics(BLEU[(p["scheme"], p["sparsity"])])))
        elif cell.kind == "prune-eval":  # random: one ok, one failed
            if p["sparsity"] == 0.2:
                store.write(cell, ok(eval_metrics(29.0)))
            else:
                store.write(
                    cell,
                    {"status": "failed", "metrics": None, "error": "RuntimeError: out of memory", "provenance": PROV},
                )
        elif cell.kind == "retrain":
            store.write(
                cell,
                ok(
                    {
                        **eval_metrics(next(retrain_bleu)),
                        "start": {"dense_dev_loss": 3.0, "pruned_dev_loss": 3.5},
                        "curve": {"train": [[1, 3.4]], "dev": [[2, 2.9, 30.0]]},
                    }
                ),
            )
        # class-breakdown and where are left "not run yet"
    stale = Cell("prune-eval_magnitude_class-blind_s40_seed0", {**plan(study)[0].params, "model_hash": "other"})
    store.write(stale, ok(eval_metrics(99.0)))  # another model's result in the same folder
    return path, tmp_path / "results"


def test_report_tables_checks_and_missing_parts(toy, tmp_path):
    path, results = toy
    before = {p.name: p.read_bytes() for p in (results / "toy").iterdir()}
    report = write_report(path, results_dir=results, reports_dir=tmp_path / "reports")
    text = report.read_text()
    assert report == tmp_path / "reports" / "toy" / "REPORT.md"
    assert {p.name: p.read_bytes() for p in (results / "toy").iterdir()} == before  # the report only reads
    # Fig 3 rows: ours with Δ vs our dense 30.00, paper's with Δ vs 20.48
    assert "| 40 | 29.60 (-0.40) | 20.15 (-0.33) | 28.00 (-2.00) | 19.25 (-1.23) | – (–) |" in text
    assert "| 20 | 29.90 (-0.10) | 20.44 (-0.04) | 30.10 (+0.10) | 20.17 (-0.31) | 29.00 (-1.00) |" in text
    assert "99.00" not in text and "1 stale files" in text  # the other model's result is ignored
    # the targets: class-blind < class-uniform at 20 % -> T1 not met with the exception listed; T3 met
    assert "| T1 | class-blind ≥ class-uniform" in text and "❌ not met | 1 of 2 sparsities" in text
    assert "20 %: 29.90 < 30.10" in text
    assert "| T3 |" in text and "✅ met | 29.60 vs dense 30.00: Δ -0.40" in text
    # retrained mean ± std over three seeds, T4 met, T5 not run
    assert "30.30 ± 0.20 (n=3) (+0.30)" in text and "30.30 ± 0.20 (n=3) vs dense 30.00: Δ +0.30" in text
    assert "| T5 |" in text and "⏳ not run" in text.split("| T5 |")[1].split("\n")[0]
    # missing and failed parts
    assert "## Fig 4 and 5" in text and "_Not run yet._" in text.split("## Fig 4 and 5")[1].split("##")[0]
    assert "failed `prune-eval_random_class-blind_s40_seed1" in text and "out of memory" in text
    assert "_Not part of this study_ (the study file has no `storage` section)" in text
    assert SIG in text and "`nmtprune sweep toy.yaml`" in text and "`abc123`" in text
    assert f"`nmtprune report {path}`" in text
    assert "Differs:**\n\n* T1:" in text  # the discussion lists T1 among the differences


def test_figures_are_valid_png_and_svg(toy, tmp_path):
    path, results = toy
    out = write_report(path, results_dir=results, reports_dir=tmp_path / "reports").parent
    written = sorted(p.name for p in out.glob("fig*"))
    assert written == ["fig3.png", "fig3.svg", "fig6.png", "fig6.svg", "fig7.png", "fig7.svg"]
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = matplotlib.image.imread(png)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
        assert img[..., :3].std() > 0.01  # not blank
    assert all(svg.read_text().lstrip().startswith("<?xml") for svg in out.glob("*.svg"))
    text = (out / "REPORT.md").read_text()
    assert "![Fig 3](fig3.png)" in text and "![Fig 6](fig6.png)" in text and "![Fig 4]" not in text


def test_rendering_is_stable(toy, tmp_path):
    path, results = toy
    out = write_report(path, results_dir=results, reports_dir=tmp_path / "a").parent
    again = write_report(path, results_dir=results, reports_dir=tmp_path / "b").parent
    for f in ("REPORT.md", "fig3.svg"):
        assert (out / f).read_bytes() == (again / f).read_bytes()


def test_checks_on_collected_data(toy):
    path, results = toy
    targets, more = run_checks(collect(path, results))
    status = {c.key: c.status for c in targets + more}
    assert status["T1"] == "not met" and status["T3"] == "met" and status["T4"] == "met"
    assert status["T2"] == "not run" and status["T5"] == "not run" and status["B1"] == "not run"
    assert status["R1"] == "met"  # class-blind 29.9 ≥ random 29.0 at 20 % (40 % failed)
    assert status["L1"] == "met"  # 3.0 -> 3.5 -> 2.9


def test_paper_class_maps_by_depth():
    assert paper_class("tgt_layer2", 2) == "tgt_layer4" and paper_class("src_layer1", 2) == "src_layer1"
    assert paper_class("tgt_layer3", (2, 4)) == "tgt_layer3" and paper_class("softmax", 2) == "softmax"


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
        "magnitude (one-shot): 29.50 (n=1) vs dense 30.00 (Δ -0.50); [longer](../longer/REPORT.md) |"
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


def test_last_epoch_change_of_the_retraining_curves():
    from nmtprune.report.render import _last_epoch_change

    class Stub:
        def trained(self, kind):
            run = lambda a, b: {"curve": {"dev": [[1, 2.0, 10.0], [2, a, 20.0], [3, b, 21.0]]}}  # noqa: E731
            return {0.8: [run(1.5, 1.5), run(1.5, 1.52)], 0.9: [run(2.1, 2.0)], 0.5: [{"curve": None}]}

    got = _last_epoch_change(Stub())
    assert set(got) == {0.8, 0.9}  # a run without a curve gives no point
    assert got[0.8][1] == 2 and abs(got[0.8][0] - 0.01) < 1e-12 and abs(got[0.9][0] + 0.1) < 1e-12


def test_reused_cells_are_named_in_the_setup(toy, tmp_path):
    path, results = toy
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r1").read_text()
    assert "**Reused**" not in text
    store = ResultStore(results / "toy")
    cell = next(c for c in plan(load_study(path)) if c.kind == "retrain")
    rec = store.read(cell)
    keep = {k: v for k, v in rec.items() if k not in ("format", "version", "id", "kind", "params")}
    store.write(cell, {**keep, "reused_from": {"study": "see2016", "file": "results/see2016/x.json"}})
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r2").read_text()
    assert "* **Reused**: 1 from `see2016`" in text


def test_discussion_compares_one_shot_with_gradual_from_a_compare_with_study(toy, tmp_path):
    path, results = toy  # its one-shot retraining at 80 %: 30.30 ± 0.20 (n=3)
    model = load_study(path).model
    other = tmp_path / "grad.yaml"
    other.write_text(
        f"model: {model}\nsplit: test\ndev_split: dev\nbeam: 1\n"
        "retrain: {sparsities: [0.8], seeds: [1], scheduled: ['gradual:magnitude'], scratch: false, "
        "dense_continued: false}\n",
        encoding="utf-8",
    )
    store = ResultStore(results / "grad")
    cell = next(c for c in plan(load_study(other)) if c.params.get("schedule") == "gradual")
    store.write(cell, ok(eval_metrics(31.9)))
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r0").read_text()
    assert "gradually" not in text  # no compare_with: no comparison
    path.write_text(path.read_text() + f"compare_with: [{other}]\n", encoding="utf-8")
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r1").read_text()
    assert "`grad` study) gives 80 %: 31.90 (n=1) vs one-shot 30.30 ± 0.20 (n=3) BLEU. At 80 %" in text
    store.write(cell, ok(eval_metrics(30.5)))  # within GRADUAL_GAP of one-shot: no conclusion drawn
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r2").read_text()
    assert "80 %: 30.50 (n=1) vs one-shot 30.30 ± 0.20 (n=3) BLEU." in text and "one-shot cut" not in text


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


def test_scheme_check_reads_the_bootstrap_file_only_for_this_model_and_protocol(toy):
    path, results = toy
    c = collect(path, results)
    row = {"delta": -0.2, "low": -0.5, "high": 0.1, "p_two_sided": 0.3, "level": 0.95, "samples": 100}
    ahead = {**row, "delta": 1.6, "low": 1.1, "high": 2.0, "p_two_sided": 0.0}
    boot = {
        "study": "toy",
        "model_hash": c.cells[0].params["model_hash"],
        "split": "test",
        "beam": 1,
        "max_sentences": c.study.max_sentences,
        "sparsities": {"0.2": {"class-blind-vs-uniform": row}, "0.4": {"class-blind-vs-uniform": ahead}},
    }
    f = results / "ablations" / "toy_schemes.json"
    f.parent.mkdir()
    f.write_text(json.dumps(boot), encoding="utf-8")
    t1 = {k.key: k for k in run_checks(collect(path, results))[0]}["T1"]
    assert t1.status == "not met"  # the claim is literal; the interval only says how much it means
    assert "20 %: 29.90 < 30.10 (Δ -0.20, 95 % bootstrap interval [-0.50, +0.10], within noise)" in t1.evidence
    assert "significantly ahead at 40 %, significantly behind at no sparsity" in t1.evidence
    f.write_text(json.dumps({**boot, "beam": 5}), encoding="utf-8")  # decoded with another beam: not ours
    t1 = {k.key: k for k in run_checks(collect(path, results))[0]}["T1"]
    assert "bootstrap" not in t1.evidence and t1.evidence.endswith("20 %: 29.90 < 30.10")


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


def test_replications_table_runs_the_same_checks_on_each_study(toy, tmp_path):
    from nmtprune.config import ConfigError

    path, results = toy  # toy: class-blind < class-uniform at 20 % (29.9 < 30.1), so T1 is not met
    rep = tmp_path / "rep.yaml"
    rep.write_text(path.read_text(), encoding="utf-8")
    store = ResultStore(results / "rep")
    for cell in plan(load_study(rep)):
        p = cell.params
        if cell.kind == "prune-eval" and p["score"] == "magnitude":  # here class-blind leads everywhere
            store.write(cell, ok(eval_metrics({None: 30.0, "class-blind": 29.9}.get(p["scheme"], 20.0))))
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r0").read_text()
    assert "## Are the findings the same" not in text  # no replications named
    assert "\n\n\n" not in text  # and no empty section left in its place
    path.write_text(path.read_text() + f"replications: [{rep}]\n", encoding="utf-8")
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r1").read_text()
    section = text.split("## Are the findings the same on the other models?")[1].split("\n## ")[0]
    assert "| `toy` (model) | `rep` (model) |" in section
    assert "| T1 | class-blind ≥ class-uniform in BLEU at every sparsity ≥ 20 % (no retraining) | ❌ | ✅ |" in section
    assert "| T4 | pruned + retrained at 80 % ≥ dense (mean over seeds) | ✅ | ⏳ |" in section  # rep: no retraining
    assert (
        "Checks run on every model: 1. The same verdict on every model: none. Verdicts that differ between "
        "models: T1. Not yet run on every model: T2, T3, T4," in section
    )
    path.write_text(
        path.read_text().replace(f"replications: [{rep}]", "replications: [no/such.yaml]"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"key 'replications\[0\]'"):
        load_study(path)


def test_fig6_states_the_epochs_each_row_trained(toy, tmp_path):
    from nmtprune.report.collect import epochs_run as _epochs

    assert _epochs([{"train_summary": {"epochs": 15}}, {"train_summary": {"epochs": 11}}, {}]) == "11–15"
    assert _epochs([{"train_summary": {"epochs": 5}}] * 2) == "5" and _epochs([{"bleu_tok_lc": 1.0}]) == ""
    path, results = toy
    path.write_text(path.read_text().replace("scratch: false", "scratch: true"), encoding="utf-8")
    store = ResultStore(results / "toy")
    cells = [c for c in plan(load_study(path)) if c.kind in ("retrain", "scratch")]
    for c in cells:
        store.write(
            c,
            ok(
                {
                    **eval_metrics(30.0),
                    "train_summary": {"epochs": 3 if c.kind == "retrain" else 9},
                    "start": {},
                    "curve": {"train": [], "dev": []},
                }
            ),
        )
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r1").read_text()
    assert (
        "Epochs each run trained (from its result file; early stopping can end one sooner): pruned + "
        "retrained 3; sparse from scratch 9; the rows compare these budgets, not equal ones."
    ) in text
    for c in cells:
        if c.kind == "scratch":
            store.write(c, ok({**eval_metrics(30.0), "train_summary": {"epochs": 3}}))
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r2").read_text()
    assert "pruned + retrained 3; sparse from scratch 3; the same budget." in text and "not equal" not in text


def test_discussion_says_how_well_few_seeds_measure_the_spread(toy, tmp_path):
    path, results = toy
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r3").read_text()
    assert "fewer than 3 seeds" not in text  # the toy has 3 seeds at its retrained point
    retrained = sorted((results / "toy").glob("retrain_*.json"))
    assert len(retrained) == 3
    retrained[0].unlink()
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r2").read_text()
    assert "fewer than 3 seeds (as few as 2); their spread is only roughly measured." in text
    retrained[1].unlink()
    text = write_report(path, results_dir=results, reports_dir=tmp_path / "r1").read_text()
    assert "fewer than 3 seeds (as few as 1); their spread is not measured." in text


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
