"""Paired bootstrap of BLEU differences (nmtprune.metrics.bootstrap)."""
import numpy as np
import pytest
import sacrebleu

from nmtprune.metrics import paired_bootstrap, sentence_stats
from nmtprune.metrics.bootstrap import corpus_bleu_from_stats

REFS = ["a man rides a red bike down the street", "two dogs play in the snow",
        "a woman is reading a book in the park", "children are running on the beach",
        "a cat sleeps on the warm sofa", "the old man sells fish at the market"] * 10
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
