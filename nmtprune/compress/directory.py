"""A compressed model directory: the checkpoint's config and vocabularies beside one compressed file.

Layout of ``DIR``::

    meta.json           the source checkpoint's, plus "compressed": method, bits, file
    config.json  src.vocab  tgt.vocab     copied from the source
    model.compressed    the weights (:mod:`.container`): positions + codes + codebooks/scales, zstd-coded
    compress.json       the byte accounting (:mod:`.accounting`) and how the file was made

Because it is a checkpoint directory without ``model.safetensors``,
:func:`nmtprune.train.checkpoint.load_model` reads it with :func:`read_state`, and every command
that takes a model (evaluate, translate, info, prune, ...) takes it. The directory is built under a
temporary name beside ``DIR`` and renamed into place, so a failed run leaves no half directory.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Optional, Sequence

import torch
from safetensors.torch import save as safetensors_bytes
from torch import nn

from ..config import ConfigError
from ..sparse.masks import MaskSet
from .accounting import account
from .container import CompressedFileError, decode, encode
from .finetune import finetune_centroids
from .quantise import check_method, quantise_model
from .quantised import QuantisedModel

__all__ = ["COMPRESSED_FILE", "REPORT_FILE", "compress_directory", "read_quantised", "read_state", "check_options"]

COMPRESSED_FILE = "model.compressed"
REPORT_FILE = "compress.json"
_COPIED = ("config.json", "src.vocab", "tgt.vocab")
_LEVELS = (1, 22)  # zstd's levels


def check_options(method: str, bits: Optional[int], level: int, finetune_steps: int, finetune_lr: float) -> int:
    """The bits per code, once every option is valid; else a ConfigError naming the option."""
    bits = check_method(method, bits)
    if not _LEVELS[0] <= level <= _LEVELS[1]:
        raise ConfigError(f"--level is zstd's compression level, an integer in {_LEVELS[0]}..{_LEVELS[1]}, got {level}")
    if finetune_steps < 0:
        raise ConfigError(f"--finetune-steps must be >= 0 (0 = no fine-tuning), got {finetune_steps}")
    if finetune_steps and method != "kmeans":
        raise ConfigError("--finetune-steps fine-tunes k-means centroids: it needs --method kmeans")
    if not finetune_lr > 0:  # also false for nan
        raise ConfigError(f"--finetune-lr must be > 0, got {finetune_lr}")
    return bits


def _fp32_bytes(model: nn.Module, fmt: str) -> int:
    """The size of the dense float32 ``model.safetensors`` a checkpoint of ``model`` holds."""
    state = {k: v.detach().cpu().float().contiguous() for k, v in model.state_dict().items()}
    return len(safetensors_bytes(state, metadata={"format": fmt}))


def compress_directory(
    src: str | Path,
    out: str | Path,
    model: nn.Module,
    masks: Optional[MaskSet],
    *,
    method: str = "kmeans",
    bits: Optional[int] = None,
    level: int = 19,
    finetune_steps: int = 0,
    finetune_lr: float = 1e-4,
    batches: Sequence = (),
) -> dict:
    """Quantise ``model`` (loaded from checkpoint ``src``), write ``out``; returns the report.

    ``masks``: the pruning masks (None: the nonzero weights are kept). ``batches``: training batches
    for ``finetune_steps`` steps of centroid fine-tuning (k-means only); ``model``'s weights then
    end as the quantised ones. ``out`` must not exist or be an empty folder.
    """
    src, out = Path(src), Path(out)
    bits = check_options(method, bits, level, finetune_steps, finetune_lr)
    meta = json.loads((src / "meta.json").read_text(encoding="utf-8"))
    fp32 = _fp32_bytes(model, meta.get("format", ""))
    q = quantise_model(model, masks, method, bits)
    if finetune_steps:
        q.info["finetune"] = finetune_centroids(model, q, batches, finetune_steps, finetune_lr)
    data, parts = encode(q, level)
    report = {
        "source": str(src),
        "method": method,
        "bits": bits,
        "zstd_level": level,
        "masks": "the pruning masks" if masks is not None else "the nonzero weights",
        **account(parts, q, len(data), fp32),
        "info": q.info,
    }
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        (tmp / COMPRESSED_FILE).write_bytes(data)
        for name in _COPIED:
            shutil.copy2(src / name, tmp / name)
        (tmp / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        meta = {k: v for k, v in meta.items() if k != "files"}
        meta["compressed"] = {"from": str(src), "method": method, "bits": bits, "file": COMPRESSED_FILE}
        # the size of every file, written last, as checkpoints do: a complete copy lists them all
        meta["files"] = {f.name: f.stat().st_size for f in sorted(tmp.iterdir())}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if out.is_dir():  # an empty folder (check_new_out lets those through): the rename replaces it
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def read_quantised(path: str | Path) -> QuantisedModel:
    """The QuantisedModel in compressed directory (or file) ``path``; CompressedFileError if unreadable."""
    path = Path(path)
    file = path / COMPRESSED_FILE if path.is_dir() else path
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CompressedFileError(f"{file}: cannot read ({exc.strerror})") from None
    return decode(data, str(file))


def read_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The dense state dict of compressed directory ``path``: exactly the quantised weights."""
    return read_quantised(path).state_dict()
