"""Names the site-score cells and the site share, importable without torch (the study parser uses them).

A site-score cell's parameters say everything its artifact depends on; the site builds the same dict
(:func:`site_params`) for the data it wants and reads only an artifact whose parameters match, so an
artifact of another model, grid, seed or sample set is never shown.
"""

from __future__ import annotations

from typing import Sequence

__all__ = [
    "KIND",
    "ARTIFACT_FORMAT",
    "ARTIFACT_VERSION",
    "UNIT_PREFIX",
    "UNIT_SCOPES",
    "ROW_SCHEME",
    "SAMPLE_LEVELS",
    "site_params",
    "sweep_hint",
]

KIND = "site-score"  # the cell kind (nmtprune.experiments.defaults.KINDS)
ARTIFACT_FORMAT = "nmtprune-site-score"
ARTIFACT_VERSION = 1  # part of the cell parameters: bump it when what a cell stores changes (new ids, no stale read)
UNIT_PREFIX = "units-"  # "units-l1" is the unit score "l1" (nmtprune.prune.score_names("unit"))
UNIT_SCOPES = ("per-layer", "global")
ROW_SCHEME = "per-row"  # Wanda's selection: the site draws it only for the scores a site section's per_row names
SAMPLE_LEVELS = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98)  # slider positions with sample translations


def site_params(
    score: str,
    schemes: Sequence[str],
    *,
    seed: int,
    max_rows: int,
    max_cols: int,
    samples: int,
    split: str,
    sample_levels: Sequence[int],
) -> dict:
    """The parameters of the cell that computes one score's site data (``kind``, ``model_hash`` and
    ``schedule`` are added by the study's expansion); with no samples the split and levels do not matter."""
    return {
        "version": ARTIFACT_VERSION,
        "score": score,
        "schemes": list(schemes),
        "seed": int(seed),
        "max_rows": int(max_rows),
        "max_cols": int(max_cols),
        "samples": int(samples),
        "split": split if samples else None,
        "sample_levels": [int(x) for x in sample_levels] if samples else [],
    }


def sweep_hint(study: str = "studies/site.yaml") -> str:
    """The command that computes the missing site data (the site prints it, it computes nothing)."""
    return f"nmtprune sweep {study} --threads 1"
