"""Sparse from scratch with each mask's own initialisation, beside the plain protocol (read-only).

The plain scratch cells build the new network with the training seed; at the reference's seed that is
the reference's own initialisation, so magnitude's mask (read off the trained reference) trains from
the very weights it grew from, while SNIP-init's and GraSP-init's masks, scored on a variance-scaling
copy, train from a draw they never saw. ``retrain.scratch_matched`` cells remove that asymmetry: an
at-initialisation mask trains from the copy it scored, every other mask (and the dense network, through
the same path) from a fresh draw. This module tabulates them next to the plain cells of the same score
and sparsity; it never runs anything.
"""

from __future__ import annotations

from ..prune.retrain import FRESH_INIT_OFFSET, matched_init
from .collect import Collected, mean_std
from .sections import f, table

__all__ = ["matched_scratch_section", "with_n"]

START = {"scored": "the copy its score scored", "fresh": "a fresh draw"}


def with_n(values: list[float]) -> str:
    """Mean ± sample std with the number of runs always shown: ``24.10 ± 0.31 (n=3)``, ``24.04 (n=1)``."""
    mu, sd, n = mean_std(values)
    if mu is None:
        return "not run"
    return f(mu) + (f" ± {sd:.2f}" if sd is not None else "") + f" (n={n})"


def _bleu(got: dict, s: float) -> str:
    return with_n([r["bleu_tok_lc"] for r in got.get(s, [])])


def matched_scratch_section(c: Collected) -> str:
    """The table of the matched-initialisation cells; '' when the study has none."""
    rt = c.study.retrain
    sm = rt.scratch_matched if rt else None
    if sm is None:
        return ""
    rows = []
    for score in sm.scores:
        init = matched_init(score)
        got, plain = c.trained("scratch", score, init=init), c.trained("scratch", score)
        for s in sm.sparsities:
            rows.append([f"`{score}`", f"{100 * s:g} %", START[init], _bleu(got, s), _bleu(plain, s)])
    dense = [r["bleu_tok_lc"] for runs in c.trained("scratch", None, init="fresh").values() for r in runs]
    out = [
        "### Sparse from scratch, each mask from its own initialisation",
        "",
        "The plain scratch cells draw the new network with the training seed, which at the reference's seed "
        "is the reference's own initialisation: magnitude's mask then trains from the weights it was read off, "
        "while an at-initialisation mask trains from a draw it was not chosen for. Here an at-initialisation "
        "mask trains from the very copy it scored (one copy per seed), and every other mask from a fresh draw "
        f"(seed {FRESH_INIT_OFFSET:,} + training seed). Test BLEU, beam {c.study.beam}, mean ± sample std "
        "over training seeds, n runs:",
        "",
        table(["mask", "sparsity", "training starts from", "own initialisation", "plain protocol"], rows),
        "",
    ]
    if sm.dense:
        out += [
            f"The dense network trained through the same path from a fresh draw (no mask): {with_n(dense)}.",
            "",
        ]
    return "\n".join(out)
