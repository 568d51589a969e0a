"""Shared by the report tests: a toy study with hand-made results for part of its cells (the ``toy`` fixture,
imported by name where it is used) and the metrics a result file holds."""

import pytest

from nmtprune.experiments import ResultStore, load_study, plan
from nmtprune.experiments.grid import Cell

from experiment_helpers import make_model


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
