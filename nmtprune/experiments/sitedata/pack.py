"""A score's site data stored compactly: the arrays in one lzma blob, the pruned-at bytes derived.

The bulk of a weight score's site data is per shown weight: its score (float32, ``score_at``), its
percentile within its class (``class_percentile``) and one pruned-at byte per method. The bytes are
not stored when they follow from the scores: q = floor(100·r/N) (r: the pool's scores below the
key) is ≥ k exactly when the key exceeds the pool's m_k-th smallest score, m_k = ceil(k·N/100), so 99
boundary values per pool (a class, or all classes pooled over score / σ_c) and the shown scores give
every byte back: q = #{k : b_k < key}, one ``searchsorted``. :func:`pack` checks each derived array
against the computed one and stores the bytes of any that differs (NaN scores, say), so unpacking
always returns the computed export, byte for byte. The other arrays (unit methods' bytes, the shown
scores) go into the blob as they are; lzma finds what repeats.

Shapes: ``score_at[param]`` float32 (grid rows · grid cols,), a pruned-at array uint8 of the same
length, a pool's boundaries float32 (99,).
"""

from __future__ import annotations

import base64
import lzma
from typing import Optional

import numpy as np
import torch

from .encode import b64, unb64
from .names import ARTIFACT_FORMAT, ARTIFACT_VERSION

__all__ = ["pack", "unpack"]

N_BOUNDS = 99  # q in 0..99: boundaries b_1..b_99


def _bounds(sorted_vals: torch.Tensor) -> np.ndarray:
    """b_k = the ceil(k·N/100)-th smallest value, k = 1..99 (float32 (99,)); q(key) = #{k : b_k < key}."""
    n = sorted_vals.numel()
    idx = [-(-k * n // 100) - 1 for k in range(1, N_BOUNDS + 1)]
    return sorted_vals[torch.tensor(idx)].numpy().astype("<f4")


def _derive(keys: np.ndarray, bounds: np.ndarray, divide: Optional[float]) -> str:
    """The pruned-at bytes (base64) of shown scores ``keys`` against a pool's ``bounds``."""
    key = torch.from_numpy(keys.copy())
    if divide is not None:  # the same float32 division the builder made (class-distribution's score / σ_c)
        key = key / divide
    return b64(torch.searchsorted(torch.from_numpy(bounds.copy()), key.contiguous()).to(torch.uint8).numpy())


class _Blob:
    """Byte arrays appended into one buffer; a reference is ``[offset, length]``."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, raw: bytes) -> list[int]:
        self.parts.append(raw)
        self.size += len(raw)
        return [self.size - len(raw), len(raw)]


def pack(data: dict, scores: dict, classes) -> dict:
    """The compact, JSON-able form of :func:`.compute.compute_score`'s result.

    Args:
        data: ``{"score", "methods", "samples"}`` with base64 arrays.
        scores: the score's tensors ``{param: (rows, cols)}`` (weight scores; ignored for unit scores).
        classes: the model's weight classes.
    """
    blob = _Blob()
    score = dict(data["score"])
    keys = {p: unb64(s, "<f4") for p, s in score.get("score_at", {}).items()}
    flat, class_of = {}, {}
    if keys:  # a weight score whose shown cells' values are stored: its bytes may be derived
        for c in classes:
            flat[c.name] = torch.cat([scores[p].detach().reshape(-1).float() for p in c.params])
            class_of.update({p: c.name for p in c.params})

    def pools_of(sigma: Optional[dict]) -> dict:
        """{class: (boundaries, reference)}: per class (``sigma`` None), or of all classes pooled over
        score / σ_c as the builder pools them (σ_c = 1 for class-blind)."""
        if not flat:
            return {}
        if sigma is None:
            return {c: _stored(_bounds(torch.sort(v).values)) for c, v in flat.items()}
        pooled = _stored(_bounds(torch.sort(torch.cat([flat[c] / sigma[c] for c in flat])).values))
        return {c: pooled for c in flat}

    def _stored(bounds: np.ndarray) -> tuple:
        return bounds, blob.add(bounds.tobytes())

    def arrays(entry: dict, pools: dict, divide: dict) -> dict:
        """{param: reference} of one {param: base64} field: derived where the derivation holds."""
        out = {}
        for p, text in entry.items():
            c = class_of.get(p)
            if p in keys and c in pools and _derive(keys[p], pools[c][0], divide.get(c)) == text:
                out[p] = {"q": {"keys": p, "bounds": pools[c][1], "divide": divide.get(c)}}
            else:
                out[p] = {"at": blob.add(base64.b64decode(text))}
        return out

    score_at = {p: {"at": blob.add(k.tobytes())} for p, k in keys.items()}
    per_class = pools_of(None)
    if "score_at" in score:
        score["score_at"] = score_at
    if "class_percentile" in score:
        score["class_percentile"] = arrays(score["class_percentile"], per_class, {})
    methods = []
    for m in data["methods"]:
        m = dict(m)
        if m["selection"] == "class-uniform":
            m["pruned_at"] = arrays(m["pruned_at"], per_class, {})
        elif m["selection"] in ("class-blind", "class-distribution"):
            sigma = m["sigma"] or {c: 1.0 for c in flat}
            m["pruned_at"] = arrays(m["pruned_at"], pools_of(sigma), sigma)
        else:
            m["pruned_at"] = arrays(m["pruned_at"], {}, {})
        methods.append(m)
    raw = b"".join(blob.parts)
    return {
        "format": ARTIFACT_FORMAT,
        "version": ARTIFACT_VERSION,
        "score": score,
        "methods": methods,
        "samples": data["samples"],
        "blob": {"codec": "lzma", "bytes": len(raw), "data": base64.b64encode(lzma.compress(raw)).decode("ascii")},
    }


def unpack(packed: dict) -> dict:
    """:func:`pack`'s inverse: ``{"score", "methods", "samples"}`` with every array as base64 text again.

    Raises:
        ValueError: not a packed site score of this version, or a blob of the wrong size.
    """
    if packed.get("format") != ARTIFACT_FORMAT or packed.get("version") != ARTIFACT_VERSION:
        raise ValueError(f"not a {ARTIFACT_FORMAT} v{ARTIFACT_VERSION} artifact")
    raw = lzma.decompress(base64.b64decode(packed["blob"]["data"]))
    if len(raw) != packed["blob"]["bytes"]:
        raise ValueError(f"artifact blob holds {len(raw)} bytes, expected {packed['blob']['bytes']}")

    def at(ref: list[int]) -> bytes:
        return raw[ref[0] : ref[0] + ref[1]]

    keys = {p: np.frombuffer(at(r["at"]), "<f4") for p, r in packed["score"].get("score_at", {}).items()}

    def arrays(entry: dict) -> dict:
        out = {}
        for p, ref in entry.items():
            if "q" in ref:
                q = ref["q"]
                out[p] = _derive(keys[q["keys"]], np.frombuffer(at(q["bounds"]), "<f4"), q["divide"])
            else:
                out[p] = b64(np.frombuffer(at(ref["at"]), np.uint8))
        return out

    score = dict(packed["score"])
    for field in ("score_at", "class_percentile"):
        if field in score:
            score[field] = arrays(score[field])
    methods = [{**m, "pruned_at": arrays(m["pruned_at"])} for m in packed["methods"]]
    return {"score": score, "methods": methods, "samples": packed["samples"]}
