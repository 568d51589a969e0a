"""The ``calibration`` section of a study: what a one-shot method's calibration data and settings cost and buy.

Each cell prunes the dense model once, without retraining, with one score at one sparsity and one setting,
and records test BLEU, perplexity and the wall time of the pruning step alone (scoring, selection and any
weight update; not the evaluation). One axis is varied at a time around the defaults:

* ``sentences``: calibration sentences (the first n of the scoring batches, so a smaller set is a prefix
  of a larger one), every score, its other settings at their defaults;
* ``damping``: the relative damping λ = damp · mean(diag H), for scores that take ``damp`` (SparseGPT),
  at ``base_sentences``;
* ``block_sizes``: columns per lazy-update and mask-selection block, for scores that take ``block_size``;
  0 means one block as wide as the matrix (the mask is then chosen once, from the trained weights).

Example::

    calibration:
      scores: [sparsegpt, wanda]
      sparsities: [0.8, 0.9]
      sentences: [8, 32, 128, 256, 512]
      damping: [0.001, 0.01, 0.1]
      block_sizes: [32, 128, 0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["Calibration", "validate_calibration", "expand_calibration", "calibration_options", "default_sentences"]

KIND = "calibration"  # the cell kind (nmtprune.experiments.defaults.KINDS)


@dataclass(frozen=True)
class Calibration:
    scores: tuple[str, ...] = ("sparsegpt", "wanda")  # data-driven weight scores
    scheme: str = "class-blind"
    sparsities: tuple[float, ...] = (0.8,)
    sentences: tuple[int, ...] = (8, 32, 128, 512)  # calibration sentences, one cell each
    base_sentences: int = 0  # the damping and block-size cells' sentences; 0 = each score's own default
    damping: tuple[float, ...] = ()  # relative damping, for scores with a ``damp`` option
    block_sizes: tuple[int, ...] = ()  # for scores with a ``block_size`` option; 0 = the whole matrix
    seed: int = 0  # which scoring batches (epoch-0 order of the training split for this seed)


def default_sentences(spec) -> int:
    """The calibration sentences a score sees by default: its scoring batches of 64 sentences."""
    from ..prune.scores import SCORING_BATCH_SIZE

    return spec.n_batches * SCORING_BATCH_SIZE


def calibration_options(spec, damp=None, block_size=None) -> dict:
    """The options a cell records for ``spec``: those of ``damp`` and ``block_size`` it takes, defaults filled in."""
    out = {}
    for key, value in (("damp", damp), ("block_size", block_size)):
        if key in spec.options:
            out[key] = spec.options[key] if value is None else value
    return out


def validate_calibration(st, fail: Callable[[str, str], None]) -> None:
    """Names and ranges of ``st.calibration``; ``fail(key, message)`` raises."""
    cal = st.calibration
    if cal is None:
        return
    from ..prune.registry import get_score, get_selection, score_names

    if not cal.scores:
        fail("calibration.scores", "must name at least one score")
    known = score_names("weight")
    for j, name in enumerate(cal.scores):
        if name not in known:
            fail(f"calibration.scores[{j}]", f"names an unknown score {name!r}; known scores: {sorted(known)}")
        if not get_score(name).needs_data:
            fail(f"calibration.scores[{j}]", f"names {name!r}, which uses no calibration data")
    try:
        selection = get_selection(cal.scheme)
    except ValueError as exc:
        fail("calibration.scheme", f"names an unknown scheme: {exc}")
    if selection.fixed_sparsity is not None:
        fail("calibration.scheme", f"names {cal.scheme!r}, which fixes its own sparsity; use a scheme with sparsities")
    if not cal.sparsities:
        fail("calibration.sparsities", "must list at least one sparsity")
    for i, s in enumerate(cal.sparsities):
        if not 0.0 < s < 1.0:
            fail(f"calibration.sparsities[{i}]", f"must be a sparsity in (0, 1), got {s}")
    if not cal.sentences:
        fail("calibration.sentences", "must list at least one number of sentences")
    for i, n in enumerate(cal.sentences):
        if n < 1:
            fail(f"calibration.sentences[{i}]", f"must be >= 1, got {n}")
    if cal.base_sentences < 0:
        fail("calibration.base_sentences", f"must be >= 0 (0 = each score's default), got {cal.base_sentences}")
    for i, d in enumerate(cal.damping):
        if not d >= 0:
            fail(f"calibration.damping[{i}]", f"must be >= 0, got {d}")
    for i, b in enumerate(cal.block_sizes):
        if b < 0:
            fail(f"calibration.block_sizes[{i}]", f"must be >= 0 (0 = the whole matrix), got {b}")
    for key, option in (("damping", "damp"), ("block_sizes", "block_size")):
        if getattr(cal, key) and not any(option in get_score(s).options for s in cal.scores):
            fail(f"calibration.{key}", f"varies {option!r}, which none of {list(cal.scores)} takes")


def _block(b: int) -> str:
    return "full" if b == 0 else str(b)


def expand_calibration(study, add: Callable[..., None], evaluation: dict) -> None:
    """Add the section's cells through ``add(name, kind, **params)`` (the grid's); ``evaluation``: test settings.

    A cell of the default settings lies on every axis; the grid keeps it once (same id).
    """
    from ..prune.registry import get_score

    cal = study.calibration

    def tag(scheme: str) -> str:
        return scheme.replace(":", "of")

    for s in cal.sparsities:
        for score in cal.scores:
            spec = get_score(score)
            base = cal.base_sentences or default_sentences(spec)
            points = [(n, calibration_options(spec)) for n in cal.sentences]
            if "damp" in spec.options:
                points += [(base, calibration_options(spec, damp=d)) for d in cal.damping]
            if "block_size" in spec.options:
                points += [(base, calibration_options(spec, block_size=b)) for b in cal.block_sizes]
            for n, opts in points:
                name = f"{score}_{tag(cal.scheme)}_s{round(s * 100):02d}_n{n}"
                name += f"_damp{opts['damp']:g}" if "damp" in opts else ""
                name += f"_block{_block(opts['block_size'])}" if "block_size" in opts else ""
                add(
                    name,
                    KIND,
                    score=score,
                    scheme=cal.scheme,
                    sparsity=s,
                    seed=cal.seed,
                    sentences=n,
                    options=opts,
                    retraining="none",
                    eval=evaluation,
                )
