"""The compressed model file: a zstd-coded JSON header, then zstd-coded blobs, and its byte accounting.

Layout (all integers little-endian)::

    MAGIC                      20 bytes, "nmtprune-compressed\\n"
    header length              4 bytes (uint32)
    header                     zstd(JSON): method, bits, state-dict order, per tensor its shape,
                               class, position code and the (offset, length) of each blob
    blobs                      concatenated zstd frames: per quantised tensor its positions, codes
                               (int8 values or uint8 centroid indices, one byte each) and, for int8,
                               its float32 row scales; per class its float32 codebook; per other
                               tensor (biases) its raw bytes

Codes are stored one byte per weight and left to zstd's entropy coder (Huffman over bytes): with
k-means the centroids are used very unevenly, so this takes fewer bits than packing b bits per code.
:func:`encode` returns, next to the bytes, what each byte is for; the entries add up to the file size.
"""

from __future__ import annotations

import json
import math
import struct

import torch
import zstandard

from ..errors import UserError
from .positions import decode_bitmask, decode_relative, encode_positions
from .quantised import METHODS, QuantisedModel, QuantisedTensor

__all__ = ["encode", "decode", "CompressedFileError", "FORMAT", "VERSION", "MAGIC"]

FORMAT, VERSION = "nmtprune-compressed", 1
MAGIC = b"nmtprune-compressed\n"
_LEN = struct.Struct("<I")


class CompressedFileError(ValueError, UserError):
    """A compressed model file is truncated, foreign or inconsistent; the message names the file."""


def _dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).replace("torch.", "")


def _raw(t: torch.Tensor) -> bytes:
    return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def encode(q: QuantisedModel, level: int = 19) -> tuple[bytes, list[dict]]:
    """The file's bytes and its accounting.

    Returns:
        (data, parts): ``parts`` lists ``{"part", "tensor", "class", "bytes"}`` with ``part`` one of
        ``header`` (magic, length and header), ``positions`` (with its ``code``: ``bitmask`` or
        ``relative``), ``codes``, ``scales``, ``codebook``, ``dense``; ``sum(p["bytes"]) == len(data)``.
    """
    cctx = zstandard.ZstdCompressor(level=level, write_checksum=False, write_content_size=True, write_dict_id=False)
    blobs: list[bytes] = []
    parts: list[dict] = []
    offset = 0

    def put(data: bytes, part: str, tensor, cls, **extra) -> list[int]:
        nonlocal offset
        blobs.append(data)
        parts.append({"part": part, "tensor": tensor, "class": cls, "bytes": len(data), **extra})
        offset += len(data)
        return [offset - len(data), len(data)]

    tensors, codebooks, dense = {}, {}, {}
    for name in q.order:
        if name in q.dense:
            t = q.dense[name]
            blob = put(cctx.compress(_raw(t)), "dense", name, None)
            dense[name] = {"shape": list(t.shape), "dtype": _dtype_name(t), "blob": blob}
            continue
        t = q.tensors[name]
        code, pos = encode_positions(t.mask, cctx.compress)
        entry = {"class": t.weight_class, "shape": list(t.shape), "n_kept": t.n_kept, "positions": code}
        entry["blobs"] = {"positions": put(pos, "positions", name, t.weight_class, code=code)}
        entry["blobs"]["codes"] = put(cctx.compress(_raw(t.codes)), "codes", name, t.weight_class)
        if t.scales is not None:
            entry["blobs"]["scales"] = put(cctx.compress(_raw(t.scales)), "scales", name, t.weight_class)
        tensors[name] = entry
    for cls, c in q.codebooks.items():
        codebooks[cls] = put(cctx.compress(_raw(c.float())), "codebook", None, cls)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "method": q.method,
        "bits": q.bits,
        "order": q.order,
        "tensors": tensors,
        "codebooks": codebooks,
        "dense": dense,
        "info": q.info,
    }
    head = cctx.compress(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    parts.insert(0, {"part": "header", "tensor": None, "class": None, "bytes": len(MAGIC) + _LEN.size + len(head)})
    return MAGIC + _LEN.pack(len(head)) + head + b"".join(blobs), parts


class _Reader:
    """Blob access with every failure reported as a CompressedFileError naming ``source``."""

    def __init__(self, data: bytes, start: int, source: str):
        self.data, self.start, self.source = data, start, source
        self.dctx = zstandard.ZstdDecompressor()

    def fail(self, what: str) -> CompressedFileError:
        return CompressedFileError(f"{self.source}: {what}; the file is truncated or corrupt")

    def blob(self, where, what: str) -> bytes:
        try:
            off, n = (int(x) for x in where)
        except (TypeError, ValueError):
            raise self.fail(f"bad blob reference for {what}") from None
        lo = self.start + off
        if off < 0 or n < 0 or lo + n > len(self.data):
            raise self.fail(f"{what} lies beyond the end of the file")
        try:
            return self.dctx.decompress(self.data[lo : lo + n])
        except zstandard.ZstdError as exc:
            raise self.fail(f"{what} does not decode ({exc})") from None

    def tensor(self, where, dtype: torch.dtype, count: int, what: str) -> torch.Tensor:
        raw = self.blob(where, what)
        size = torch.empty((), dtype=dtype).element_size()
        if len(raw) != count * size:
            raise self.fail(f"{what} holds {len(raw)} bytes, expected {count * size}")
        return torch.frombuffer(bytearray(raw), dtype=dtype) if count else torch.empty(0, dtype=dtype)


def _header(data: bytes, source: str) -> tuple[dict, int]:
    if not data.startswith(MAGIC):
        raise CompressedFileError(f"{source}: not a compressed nmtprune model (expected it to start with {MAGIC!r})")
    if len(data) < len(MAGIC) + _LEN.size:
        raise CompressedFileError(f"{source}: truncated before its header")
    (n,) = _LEN.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LEN.size + n
    reader = _Reader(data, 0, source)
    head = reader.blob([len(MAGIC) + _LEN.size, n], "the header")
    try:
        header = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise reader.fail(f"unreadable header ({exc})") from None
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise CompressedFileError(
            f"{source}: format {header.get('format')!r} version {header.get('version')!r}, "
            f"this code reads {FORMAT!r} version {VERSION}"
        )
    return header, start


def _quantised(r: _Reader, name: str, e: dict, method: str, bits: int) -> QuantisedTensor:
    shape = tuple(int(s) for s in e["shape"])
    raw = r.blob(e["blobs"]["positions"], f"{name} positions")
    try:
        decode = {"bitmask": decode_bitmask, "relative": decode_relative}[e["positions"]]
        mask = decode(raw, shape)
    except (KeyError, ValueError) as exc:
        raise r.fail(f"{name} positions: {exc}") from None
    n_kept = int(mask.sum())
    if n_kept != e["n_kept"]:
        raise r.fail(f"{name} has {n_kept} positions for {e['n_kept']} weights")
    dtype = torch.int8 if method == "int8" else torch.uint8
    codes = r.tensor(e["blobs"]["codes"], dtype, n_kept, f"{name} codes")
    scales = None
    if method == "int8":
        scales = r.tensor(e["blobs"]["scales"], torch.float32, shape[0], f"{name} scales")
    elif n_kept and int(codes.max()) >= 2**bits:
        raise r.fail(f"{name} has a code {int(codes.max())} outside its {2**bits}-entry codebook")
    return QuantisedTensor(name, e["class"], shape, mask, codes, scales)


def decode(data: bytes, source: str = "<bytes>") -> QuantisedModel:
    """Inverse of :func:`encode`: the same QuantisedModel (codes, masks, scales, codebooks, dense tensors).

    Raises:
        CompressedFileError: wrong magic or version, a truncated or inconsistent file (names ``source``).
    """
    header, start = _header(data, source)
    r = _Reader(data, start, source)
    try:
        method, bits = header["method"], int(header["bits"])
        if method not in METHODS:
            raise r.fail(f"unknown method {method!r}")
        tensors = {n: _quantised(r, n, e, method, bits) for n, e in header["tensors"].items()}
        codebooks = {
            c: r.tensor(where, torch.float32, 2**bits, f"the {c} codebook") for c, where in header["codebooks"].items()
        }
        dense = {}
        for n, e in header["dense"].items():
            shape = tuple(int(s) for s in e["shape"])
            dtype = getattr(torch, e["dtype"], None)
            if not isinstance(dtype, torch.dtype):
                raise r.fail(f"{n} has an unknown dtype {e['dtype']!r}")
            dense[n] = r.tensor(e["blob"], dtype, math.prod(shape), n).reshape(shape)
        order = list(header["order"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise r.fail(f"incomplete header ({exc!r})") from None
    if set(order) != set(tensors) | set(dense) or (
        method == "kmeans" and {t.weight_class for t in tensors.values()} - set(codebooks)
    ):
        raise r.fail("the header's tensors, codebooks and order disagree")
    return QuantisedModel(method, bits, order, tensors, codebooks, dense, header.get("info", {}))
