"""Where the kept weights of a matrix are: a bitmask or relative indices, whichever codes smaller.

* ``bitmask``: one bit per weight, row-major (``np.packbits``, as the mask files store it).
* ``relative``: the gap before each kept weight in one byte (Deep Compression's relative index).
  Byte b < 255 means "skip b weights, then a kept one"; 255 means "skip 255, no weight here", for
  gaps that do not fit (Deep Compression's filler zero, without a wasted value slot).

Both are entropy-coded afterwards, so the raw sizes do not decide: :func:`encode_positions` codes
both and keeps the smaller. At high sparsity the gaps win (few, small numbers); near dense the
bitmask does (the gaps are all 0, but one byte each before coding).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

__all__ = ["POSITION_CODES", "bitmask_bytes", "relative_bytes", "decode_bitmask", "decode_relative", "encode_positions"]

POSITION_CODES = ("bitmask", "relative")
_SKIP = 255  # the filler byte of a relative index


def bitmask_bytes(mask: torch.Tensor) -> bytes:
    """``mask`` (any shape, bool) as ceil(n / 8) bytes, row-major, big-endian bit order."""
    return np.packbits(mask.detach().cpu().numpy().reshape(-1)).tobytes()


def relative_bytes(mask: torch.Tensor) -> bytes:
    """``mask`` as gap bytes: for each kept flat index, the weights skipped since the previous one."""
    idx = np.flatnonzero(mask.detach().cpu().numpy().reshape(-1)).astype(np.int64)  # (n_kept,)
    gaps = np.diff(idx, prepend=-1) - 1  # (n_kept,) >= 0
    fillers = gaps // _SKIP
    ends = np.cumsum(fillers + 1) - 1  # where each kept weight's own byte goes
    out = np.full(int(ends[-1]) + 1 if len(ends) else 0, _SKIP, dtype=np.uint8)
    out[ends] = (gaps % _SKIP).astype(np.uint8)
    return out.tobytes()


def decode_bitmask(data: bytes, shape: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`bitmask_bytes`; ValueError when ``data`` has the wrong length."""
    n = math.prod(shape)
    if len(data) != (n + 7) // 8:
        raise ValueError(f"bitmask of {len(data)} bytes for {n} weights (expected {(n + 7) // 8})")
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=n).astype(bool)
    return torch.from_numpy(bits).reshape(shape)


def decode_relative(data: bytes, shape: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`relative_bytes`; ValueError when an index falls outside ``shape``."""
    n = math.prod(shape)
    b = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
    step = np.where(b == _SKIP, _SKIP, b + 1)  # how far each byte moves the position
    ends = b != _SKIP
    idx = np.cumsum(step)[ends] - 1  # (n_kept,) flat indices
    if len(idx) and idx[-1] >= n:
        raise ValueError(f"relative index {int(idx[-1])} outside a matrix of {n} weights")
    if len(b) and not ends[-1]:
        raise ValueError("relative indices end in a filler byte")
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return torch.from_numpy(mask).reshape(shape)


def encode_positions(mask: torch.Tensor, code: Callable[[bytes], bytes]) -> tuple[str, bytes]:
    """(``bitmask`` or ``relative``, its entropy-coded bytes), whichever is smaller after ``code``."""
    options = [
        (len(c), name, c)
        for name, c in (("bitmask", code(bitmask_bytes(mask))), ("relative", code(relative_bytes(mask))))
    ]
    _, name, coded = min(options, key=lambda o: o[0])  # a tie keeps the bitmask (listed first)
    return name, coded
