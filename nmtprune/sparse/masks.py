"""Pruning masks as plain data: ``{param_name: BoolTensor}`` with True = keep, applied in place.

There are no forward hooks and no ``weight_orig`` copies (unlike ``torch.nn.utils.prune``): the
pruned weights are stored as zeros in the ordinary parameters, and :meth:`MaskSet.after_step`
zeroes them again after every optimizer step, together with the optimizer state at those
positions, so momentum or Adam's moments cannot revive them. A checkpoint of a pruned model is
therefore an ordinary checkpoint, and the mask file next to it records which zeros are pruned.

On disk a MaskSet is a safetensors file of bit-packed masks (``np.packbits``, 1 bit per weight,
big-endian bit order) with the shapes and the selection ``info`` as JSON in its metadata.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from .targets import class_groups
from ..errors import UserError

__all__ = ["MaskSet", "MaskFileError", "FORMAT", "VERSION", "pack_mask", "unpack_mask"]

FORMAT, VERSION = "nmtprune-maskset", 1


def pack_mask(mask: torch.Tensor) -> torch.Tensor:
    """Bool mask of any shape -> 1-D uint8 tensor, 1 bit per entry, row-major, big-endian bit order."""
    return torch.from_numpy(np.packbits(mask.detach().cpu().numpy().reshape(-1)))


def unpack_mask(bits: torch.Tensor, shape) -> torch.Tensor:
    """Inverse of :func:`pack_mask`: (ceil(n / 8),) uint8 -> bool tensor of ``shape``."""
    return torch.from_numpy(np.unpackbits(bits.numpy(), count=math.prod(shape)).astype(bool)).reshape(shape)


class MaskFileError(ValueError, UserError):
    """A mask file is missing, truncated, foreign or inconsistent; the message names the file."""


class MaskSet:
    """Keep-masks for some parameters of a model, plus free-form selection ``info``.

    Attributes:
        masks: ``{param_name: BoolTensor}``, each shaped like its parameter (True = keep).
        info: JSON-able details of how the masks were chosen (scheme, thresholds, ...); saved with
            the masks. :func:`nmtprune.prune.select.select` documents its keys.
        source: the file the masks were read from (None when computed): a mask that does not fit a
            model is then the file's fault, reported as a MaskFileError naming it.
    """

    def __init__(self, masks: Mapping[str, torch.Tensor], info: Optional[dict] = None, source: Optional[Path] = None):
        for name, m in masks.items():
            if not torch.is_tensor(m) or m.dtype != torch.bool:
                raise TypeError(f"mask for {name!r} must be a torch.bool tensor, got {getattr(m, 'dtype', type(m))}")
        self.masks: dict[str, torch.Tensor] = dict(masks)
        self.info: dict = dict(info or {})
        self.source = source
        # (name, device, dtype) -> (bool mask, its 0/1 copy, the mask's version when copied)
        self._multipliers: dict[tuple, tuple[torch.Tensor, torch.Tensor, int]] = {}

    # ------------------------------------------------------------------ container protocol
    def __getitem__(self, name: str) -> torch.Tensor:
        return self.masks[name]

    def __contains__(self, name: object) -> bool:
        return name in self.masks

    def __iter__(self) -> Iterator[str]:
        return iter(self.masks)

    def __len__(self) -> int:
        return len(self.masks)

    def items(self):
        return self.masks.items()

    def equal(self, other: "MaskSet") -> bool:
        """True when both cover the same parameters with bit-identical masks (``info`` ignored)."""
        return self.masks.keys() == other.masks.keys() and all(
            torch.equal(m, other.masks[n].to(m.device)) for n, m in self.masks.items()
        )

    def to(self, device: torch.device | str) -> "MaskSet":
        return MaskSet({n: m.to(device) for n, m in self.masks.items()}, self.info, self.source)

    # ------------------------------------------------------------------ applying
    def check(self, model: nn.Module) -> dict[str, torch.nn.Parameter]:
        """``model``'s named parameters, once every mask names one of them and has its shape.

        Raises:
            MaskFileError: for masks read from a file (made for another model, say); ValueError otherwise.
        """
        named = dict(model.named_parameters())
        for name, m in self.masks.items():
            if name not in named:
                raise self._misfit(f"mask for {name!r}, which the model does not have")
            if tuple(m.shape) != tuple(named[name].shape):
                raise self._misfit(
                    f"mask for {name!r} has shape {tuple(m.shape)}, the parameter {tuple(named[name].shape)}"
                )
        return named

    def _misfit(self, what: str) -> ValueError:
        if self.source is None:  # computed for this model: a bug, not bad input
            return ValueError(what)
        return MaskFileError(f"{self.source}: {what}; these masks were made for another model")

    def _multiplier(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """Mask ``name`` as 0/1 in ``like``'s dtype and device, cached until the mask is replaced or changed.

        Why: on CPU, multiplying a float tensor by a bool mask is ~5x slower than by a float one (the
        bool is converted on every call), and this runs after every optimizer step on every pruned
        weight and its optimizer state. The product is the same: w x 1.0 = w, w x 0.0 = ±0.
        """
        m = self.masks[name]
        key = (name, like.device, like.dtype)
        hit = self._multipliers.get(key)
        if hit is not None and hit[0] is m and hit[2] == m._version:
            return hit[1]
        f = m.to(device=like.device, dtype=like.dtype)
        self._multipliers[key] = (m, f, m._version)
        return f

    @torch.no_grad()
    def apply(self, model: nn.Module) -> None:
        """Zero the pruned weights in place (``w *= mask``; a negative weight becomes -0.0 == 0)."""
        named = self.check(model)
        for name in self.masks:
            p = named[name]
            p.data.mul_(self._multiplier(name, p.data))

    @torch.no_grad()
    def apply_to_optimizer(self, optimizer: torch.optim.Optimizer, model: nn.Module) -> None:
        """Zero the pruned entries of every optimizer state tensor shaped like its parameter.

        This covers SGD's ``momentum_buffer`` and Adam's ``exp_avg``/``exp_avg_sq``/
        ``max_exp_avg_sq`` without naming them; scalar state such as Adam's ``step`` is left alone.
        ``model`` maps the optimizer's parameter objects back to their names.
        """
        named = self.check(model)
        by_id = {id(named[n]): n for n in self.masks}
        for group in optimizer.param_groups:
            for p in group["params"]:
                name = by_id.get(id(p))
                if name is None:
                    continue
                for value in optimizer.state.get(p, {}).values():
                    if torch.is_tensor(value) and value.shape == p.shape:
                        value.mul_(self._multiplier(name, value))

    def after_step(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Re-apply the masks to weights and optimizer state; pass as ``train(after_step=...)``.

        A pruned weight receives a gradient like any other, so each step moves it off zero; zeroing
        it here after every step keeps it exactly zero at every forward pass.
        """
        self.apply(model)
        self.apply_to_optimizer(optimizer, model)

    # ------------------------------------------------------------------ inspecting
    def stats(self, model: nn.Module) -> dict[str, dict]:
        """Counts per weight class covered by the masks, then ``"overall"``.

        Returns:
            ``{class_name: {"total", "pruned", "sparsity", "zeros"}, ..., "overall": {...}}`` in
            weight-class order. ``total`` is the dense size of the class, ``pruned`` the number of
            False mask entries, ``sparsity = pruned / total``, and ``zeros`` the number of weights
            that are exactly zero in ``model`` now (>= pruned once the masks are applied).
            ``"overall"`` sums the covered classes, so its sparsity is counted against their dense
            total, never against the remaining weights or the biases.
        """
        self.check(model)
        out: dict[str, dict] = {}
        total_all = pruned_all = zeros_all = 0
        for cname, group in class_groups(model):
            if not any(n in self.masks for n, _ in group):
                continue
            total = sum(p.numel() for _, p in group)
            pruned = sum(
                int(self.masks[n].numel() - self.masks[n].count_nonzero()) for n, _ in group if n in self.masks
            )
            zeros = sum(int(p.numel() - p.detach().count_nonzero()) for _, p in group)
            out[cname] = {"total": total, "pruned": pruned, "sparsity": pruned / total, "zeros": zeros}
            total_all, pruned_all, zeros_all = total_all + total, pruned_all + pruned, zeros_all + zeros
        out["overall"] = {
            "total": total_all,
            "pruned": pruned_all,
            "sparsity": pruned_all / total_all if total_all else 0.0,
            "zeros": zeros_all,
        }
        return out

    def restrict(self, class_names: Sequence[str], model: nn.Module) -> "MaskSet":
        """The same parameters, masked only in ``class_names`` and all-True everywhere else.

        This is "apply only that class's part of the mask" (See et al.'s Fig 4 per-class damage).
        Raises:
            ValueError: a name is not a weight class of ``model``.
        """
        if isinstance(class_names, str):
            class_names = [class_names]
        inside = {n for _, group in class_groups(model, class_names) for n, _ in group}
        masks = {n: m if n in inside else torch.ones_like(m) for n, m in self.masks.items()}
        return MaskSet(masks, {**self.info, "restricted_to": list(class_names)}, self.source)

    # ------------------------------------------------------------------ disk
    def save(self, path: str | Path) -> None:
        """Write the bit-packed masks atomically (temporary file + rename)."""
        path = Path(path)
        tensors, shapes = {}, {}
        for name, m in self.masks.items():
            tensors[name] = pack_mask(m)
            shapes[name] = list(m.shape)
        try:
            info = json.dumps(self.info)
        except TypeError as e:
            raise ValueError(f"{path}: MaskSet.info is not JSON-serialisable ({e})") from None
        meta = {"format": FORMAT, "version": str(VERSION), "shapes": json.dumps(shapes), "info": info}
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str = "cpu") -> "MaskSet":
        """Read a file written by :meth:`save`; the masks are bit-identical to the saved ones.

        Raises:
            MaskFileError (a ValueError): missing, truncated or foreign file, or inconsistent content.
        """
        path = Path(path)
        if not path.is_file():
            raise MaskFileError(f"{path}: no such mask file")
        try:
            with safe_open(str(path), framework="pt") as fh:
                meta = fh.metadata() or {}
                packed = {k: fh.get_tensor(k) for k in fh.keys()}
        except (SafetensorError, OSError, RuntimeError, ValueError) as e:
            raise MaskFileError(f"{path}: not a readable safetensors mask file (truncated or foreign?): {e}") from None
        if meta.get("format") != FORMAT:
            raise MaskFileError(
                f"{path}: not an nmtprune mask file (metadata format {meta.get('format')!r}, expected {FORMAT!r})"
            )
        if meta.get("version") != str(VERSION):
            raise MaskFileError(f"{path}: mask file version {meta.get('version')!r}, this code reads {VERSION}")
        try:
            shapes = json.loads(meta["shapes"])
            info = json.loads(meta.get("info", "{}"))
        except (KeyError, json.JSONDecodeError) as e:
            raise MaskFileError(f"{path}: corrupt mask metadata ({e})") from None
        if set(shapes) != set(packed):
            raise MaskFileError(f"{path}: metadata names {sorted(shapes)} but the file holds {sorted(packed)}")
        masks = {}
        for name, shape in shapes.items():
            bits, numel = packed[name], math.prod(shape)
            if bits.dtype != torch.uint8 or bits.dim() != 1 or bits.numel() != (numel + 7) // 8:
                raise MaskFileError(f"{path}: {name!r} is not {(numel + 7) // 8} packed bytes for shape {shape}")
            masks[name] = unpack_mask(bits, shape).to(device)
        return cls(masks, info, path)
