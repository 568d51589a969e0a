"""The method-comparison report's scores: which scores a study compares, and their registry specs."""

from __future__ import annotations

from .collect import Collected


def _spec(score: str):
    """The score's spec, None for a name the registry does not know (a plugin no longer installed)."""
    from ..prune.registry import get_score

    try:
        return get_score(score)
    except ValueError:
        return None


def _scores(c: Collected) -> list[str]:
    seen: list[str] = []
    for cell in c.cells:
        s = cell.params.get("score")
        if s and s not in seen:
            seen.append(s)
    return seen


def _data_driven(scores: list[str]) -> list[tuple[str, int]]:
    """(score, default scoring batches) of the scores that read training data."""
    return [(s, _spec(s).n_batches) for s in scores if getattr(_spec(s), "needs_data", False)]
