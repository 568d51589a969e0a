"""Which weights a matrix panel shows: a strided grid of real weights, its words and its gate blocks.

Shared by the site-score cells, the site's export, its retraining-frame recorders and its videos, so every picture of a matrix
names its cells the same way.
"""

from __future__ import annotations

import math

import torch

from ...models.weight_classes import gate_blocks

__all__ = ["grid_rule", "display_grid", "grid_blocks", "grid_sample"]


def _nth(n: int) -> str:
    """2 -> "2nd", 3 -> "3rd", 4 -> "4th", 11 -> "11th", 22 -> "22nd" (as in "every 2nd row")."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def grid_rule(shape, row_stride: int, col_stride: int) -> str:
    """The words under a matrix panel saying which weights its cells are."""
    rows, cols = shape
    if row_stride == 1 and col_stride == 1:
        return f"all {rows}×{cols} weights"
    r = "every row" if row_stride == 1 else f"every {_nth(row_stride)} row"
    c = "every column" if col_stride == 1 else f"every {_nth(col_stride)} column"
    return f"{r} and {c} of the {rows}×{cols} matrix"


def display_grid(shape: tuple[int, int], max_rows: int, max_cols: int) -> dict:
    """Strided subsample: every k-th row and l-th column, so each shown cell is one real weight
    (its true value and its true pruned-at sparsity; averaging would invent weights)."""
    rows, cols = shape
    rs, cs = max(1, math.ceil(rows / max_rows)), max(1, math.ceil(cols / max_cols))
    return {
        "rows": len(range(0, rows, rs)),
        "cols": len(range(0, cols, cs)),
        "row_stride": rs,
        "col_stride": cs,
        "rule": grid_rule(shape, rs, cs),
    }


def grid_blocks(name: str, shape, grid: dict, cfg) -> list[dict]:
    """Gate × input-kind blocks of an LSTM matrix, in shown-cell coordinates (end exclusive)."""
    if "weight_ih" not in name and "weight_hh" not in name:
        return []
    out = []
    for bname, rs, cs in gate_blocks(name, tuple(shape), cfg.model.emb_dim, cfg.model.input_feed):
        out.append(
            {
                "name": bname,
                "r0": -(-rs.start // grid["row_stride"]),
                "r1": -(-rs.stop // grid["row_stride"]),
                "c0": -(-cs.start // grid["col_stride"]),
                "c1": -(-cs.stop // grid["col_stride"]),
            }
        )
    return out


def grid_sample(t: torch.Tensor, grid: dict) -> torch.Tensor:
    """The shown cells of matrix ``t``, row-major, flat."""
    return t[:: grid["row_stride"], :: grid["col_stride"]].reshape(-1)
