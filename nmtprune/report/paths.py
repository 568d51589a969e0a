"""Where reports go by default (a module of its own so the CLI can name it without loading the renderer)."""

from pathlib import Path

__all__ = ["DEFAULT_REPORTS"]

DEFAULT_REPORTS = Path("reports")  # committed: reports/<study>/REPORT.md and its figures
