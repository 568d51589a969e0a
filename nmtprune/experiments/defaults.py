"""Names and defaults shared by the experiments package and its CLI (imports nothing heavy)."""

from pathlib import Path

__all__ = ["KINDS", "TRAINED_KINDS", "DEFAULT_RESULTS", "DEFAULT_WORK"]

# Cell kinds in run order: cheap, decode-free or short kinds first, so an interrupted CPU sweep has
# the most results; the training kinds last.
KINDS = (
    "prune-eval",
    "calibration",
    "class-breakdown",
    "where",
    "storage",
    "site-score",
    "site-frames",
    "unit-eval",
    "unit-sensitivity",
    "retrain",
    "scratch",
    "dense-continued",
    "unit-retrain",
    "unit-greg",
)
TRAINED_KINDS = ("retrain", "scratch", "dense-continued", "unit-retrain", "unit-greg")
DEFAULT_RESULTS = Path("results")  # committed: small JSON per cell
DEFAULT_WORK = Path("runs/sweeps")  # git-ignored: retraining runs, temporary files
