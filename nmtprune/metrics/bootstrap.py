"""Paired bootstrap resampling of a BLEU difference (Koehn 2004), for "is this gap more than noise?".

Two systems translate the same test sentences. Each sentence contributes sufficient statistics (its
hypothesis and reference lengths and its matched / total n-grams of each order); corpus BLEU is a
function of their sums. Resampling the sentences with replacement, the same draw for both systems,
and recomputing both corpus BLEUs gives the sampling distribution of the difference: its percentile
interval and how often its sign flips. Only the test set is resampled: this measures test-set noise,
not training-seed noise (retrained cells have seeds for that).

The statistics and the score come from sacreBLEU's own BLEU, so the observed difference equals the
difference of the ``bleu_tok_lc`` numbers (tokenised lowercased text, ``tokenize='none'``).
"""

from __future__ import annotations

import numpy as np
from sacrebleu.metrics import BLEU

__all__ = ["sentence_stats", "corpus_bleu_from_stats", "paired_bootstrap"]


def _metric() -> BLEU:
    return BLEU(tokenize="none", force=True)


def sentence_stats(hyps: list[str], refs: list[str]) -> np.ndarray:
    """Per-sentence BLEU statistics, shape ``[N, 2 + 2 * 4]`` (sacreBLEU's order), for one reference each."""
    if len(hyps) != len(refs):
        raise ValueError(f"sentence_stats: {len(hyps)} hypotheses for {len(refs)} references")
    # sacreBLEU's sufficient statistics (the ones its own paired test resamples); private but stable in 2.x
    return np.asarray(_metric()._extract_corpus_statistics(hyps, [refs]), dtype=np.int64)


def corpus_bleu_from_stats(stats: np.ndarray) -> float:
    """Corpus BLEU of summed statistics ``stats`` (``[N, 10]`` or ``[10]``)."""
    total = stats.sum(0) if stats.ndim == 2 else stats
    return float(_metric()._compute_score_from_stats(total.tolist()).score)


def paired_bootstrap(
    stats_a: np.ndarray, stats_b: np.ndarray, samples: int = 1000, seed: int = 1, level: float = 0.95
) -> dict:
    """BLEU(a) − BLEU(b) on the test set and over ``samples`` paired resamples of its sentences.

    Args:
        stats_a, stats_b: ``[N, 10]`` per-sentence statistics of the two systems on the same N sentences.
    Returns:
        ``delta`` (observed), ``low``/``high`` (the ``level`` percentile interval of the resampled
        differences), ``p_two_sided`` (twice the smaller share of resamples on either side of 0, at most 1:
        small when the sign of the difference is stable), ``samples``, ``seed``, ``sentences``.
    """
    if stats_a.shape != stats_b.shape or stats_a.ndim != 2:
        raise ValueError(
            f"paired_bootstrap: statistics of the same sentences expected, got shapes "
            f"{tuple(stats_a.shape)} and {tuple(stats_b.shape)}"
        )
    if samples < 1:
        raise ValueError(f"paired_bootstrap: samples must be >= 1, got {samples}")
    n = stats_a.shape[0]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(samples, n))
    # sum the drawn sentences' statistics per resample: [samples, 10] for each system
    sums_a = np.stack([stats_a[i].sum(0) for i in idx])
    sums_b = np.stack([stats_b[i].sum(0) for i in idx])
    diffs = np.array([corpus_bleu_from_stats(x) - corpus_bleu_from_stats(y) for x, y in zip(sums_a, sums_b)])
    tail = (1.0 - level) / 2
    p = min(1.0, 2 * min(float((diffs <= 0).mean()), float((diffs >= 0).mean())))
    return {
        "delta": corpus_bleu_from_stats(stats_a) - corpus_bleu_from_stats(stats_b),
        "low": float(np.quantile(diffs, tail)),
        "high": float(np.quantile(diffs, 1 - tail)),
        "p_two_sided": p,
        "level": level,
        "samples": samples,
        "seed": seed,
        "sentences": n,
    }
