"""Paired bootstrap of BLEU differences (nmtprune.metrics.bootstrap)."""

import numpy as np
import pytest
import sacrebleu

from nmtprune.metrics import paired_bootstrap, sentence_stats
from nmtprune.metrics.bootstrap import corpus_bleu_from_stats

REFS = [
    "a man rides a red bike down the street",
    "two dogs play in the snow",
    "a woman is reading a book in the park",
    "children are running on the beach",
    "a cat sleeps on the warm sofa",
    "the old man sells fish at the market",
] * 10
GOOD = list(REFS)
GOOD[0] = "a man rides a bike down the street"
BAD = ["a man a bike", "dogs snow", "woman book park", "children beach", "cat sofa", "man fish"] * 10


def test_stats_reproduce_sacrebleu_corpus_bleu():
    hyps = BAD[:30] + GOOD[30:]
    ref = sacrebleu.corpus_bleu(hyps, [REFS], tokenize="none", force=True).score
    assert corpus_bleu_from_stats(sentence_stats(hyps, REFS)) == pytest.approx(ref, abs=1e-9)


def test_identical_systems_have_zero_difference():
    s = sentence_stats(GOOD, REFS)
    r = paired_bootstrap(s, s, samples=50)
    assert r["delta"] == 0.0 and r["low"] == 0.0 and r["high"] == 0.0 and r["p_two_sided"] == 1.0


def test_a_clearly_better_system_is_significant_and_its_interval_excludes_zero():
    good, bad = sentence_stats(GOOD, REFS), sentence_stats(BAD, REFS)
    r = paired_bootstrap(good, bad, samples=200, seed=3)
    assert r["delta"] > 50 and r["low"] > 0 and r["p_two_sided"] < 0.05
    flipped = paired_bootstrap(bad, good, samples=200, seed=3)
    assert flipped["delta"] == pytest.approx(-r["delta"]) and flipped["high"] < 0


def test_a_small_mixed_difference_is_not_significant():
    # a and b differ on two sentences, one each way: the interval must straddle zero
    a, b = list(GOOD), list(GOOD)
    a[1], b[2] = "two dogs in the snow", "a woman reads in the park"
    r = paired_bootstrap(sentence_stats(a, REFS), sentence_stats(b, REFS), samples=300, seed=1)
    assert r["low"] < 0 < r["high"] and r["p_two_sided"] > 0.05


def test_deterministic_given_seed_and_mismatched_inputs_fail():
    good, bad = sentence_stats(GOOD, REFS), sentence_stats(BAD, REFS)
    assert paired_bootstrap(good, bad, 30, seed=7) == paired_bootstrap(good, bad, 30, seed=7)
    with pytest.raises(ValueError, match="same sentences"):
        paired_bootstrap(good, bad[:5])
    with pytest.raises(ValueError, match="hypotheses"):
        sentence_stats(GOOD[:3], REFS)
    assert isinstance(good, np.ndarray) and good.shape == (len(REFS), 10)


SCHEME_STUDY = """\
model: {model}
split: test
dev_split: dev
beam: 1
max_sentences: 6
prune_eval:
  sparsities: [0.0, 0.1, 0.3, 0.5]
  methods:
    - {{score: magnitude, schemes: [class-blind, class-uniform, class-distribution]}}
"""


def test_scheme_bootstrap_script_checks_the_stored_cells_and_resumes(tmp_path):
    import json
    import subprocess
    import sys

    from conftest import ROOT
    from experiment_helpers import sweep, write_study

    from nmtprune.experiments import ResultStore, load_study, plan

    study = write_study(tmp_path, SCHEME_STUDY, "schemes_toy")
    sweep(study, tmp_path)
    out = tmp_path / "results" / "ablations" / "schemes_toy_schemes.json"
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "scheme_bootstrap.py"),
        str(study),
        "--samples",
        "20",
        "--results",
        str(tmp_path / "results"),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    assert list(d["sparsities"]) == ["0.3", "0.5"]  # >= 20 % only
    row = d["sparsities"]["0.5"]
    assert set(row) == {"bleu", "class-blind-vs-uniform", "class-blind-vs-distribution"}
    assert row["class-blind-vs-uniform"]["delta"] == pytest.approx(
        row["bleu"]["class-blind"] - row["bleu"]["class-uniform"], abs=0.02
    )
    assert d["command"].startswith("python scripts/scheme_bootstrap.py") and d["samples"] == 20
    # a rerun with the same settings has nothing left to do and keeps the rows
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and json.loads(out.read_text())["sparsities"] == d["sparsities"]
    # a stored cell the decode does not reproduce is an error naming it, not a silent test of other numbers
    out.unlink()
    store = ResultStore(tmp_path / "results" / "schemes_toy")
    cell = next(
        c
        for c in plan(load_study(study))
        if c.kind == "prune-eval" and c.params["sparsity"] == 0.3 and c.params["scheme"] == "class-uniform"
    )
    res = store.read(cell)
    res["metrics"]["bleu_tok_lc"] += 5.0
    store.write(cell, res)
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert r.returncode != 0 and "class-uniform at 30 %" in r.stderr and "stored prune-eval cell" in r.stderr
