"""Unit masks: which hidden units of each group are kept, and the weight-level MaskSet they imply.

A :class:`UnitMask` holds one BoolTensor (n,) per unit group (True = keep). It expands to a
:class:`~nmtprune.sparse.masks.MaskSet` over every slot of every member (:mod:`.groups`): the unit's
four gate rows of W_ih and W_hh, its **bias entries** (zeroed, unlike weight pruning, since a bias
alone would keep a removed unit alive), its recurrent column and its consumers' columns. That
MaskSet is what ``nmtprune retrain`` re-applies after every step, so a unit-pruned model retrains
with the existing machinery; :func:`~.shrink.shrink` turns the same UnitMask into a smaller model.

On disk (``units.json``)::

    {"format": "nmtprune-units", "version": 1,
     "groups": {"src_layer1+tgt_layer1": {"members": [...], "size": 512, "removed": [3, 17, ...]}, ...},
     "info": {...how the units were selected...}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Optional

import torch
from torch import nn

from ...sparse.masks import MaskSet
from .groups import UnitError, UnitGroup, member_size, member_slots, unit_groups

__all__ = ["UnitMask", "FORMAT", "VERSION", "axis_keeps"]

FORMAT, VERSION = "nmtprune-units", 1


class UnitMask:
    """Kept units per group: ``keep[group_name]`` is a BoolTensor (n,), True = keep.

    Attributes:
        keep: ``{group_name: BoolTensor (n,)}`` for every unit group of the model it belongs to.
        info: JSON-able details of the selection (score, scope, fraction, counts ...).
    """

    def __init__(self, keep: Mapping[str, torch.Tensor], info: Optional[dict] = None):
        for name, k in keep.items():
            if not torch.is_tensor(k) or k.dtype != torch.bool or k.dim() != 1:
                raise TypeError(f"keep[{name!r}] must be a 1-D torch.bool tensor")
        self.keep = {name: k.cpu() for name, k in keep.items()}
        self.info = dict(info or {})

    @classmethod
    def full(cls, model: nn.Module) -> "UnitMask":
        """Every unit kept."""
        return cls({g.name: torch.ones(g.size, dtype=torch.bool) for g in unit_groups(model.cfg)})

    def removed(self) -> dict[str, list[int]]:
        """``{group: sorted indices of the removed units}``."""
        return {name: (~k).nonzero().flatten().tolist() for name, k in self.keep.items()}

    def kept(self) -> dict[str, int]:
        return {name: int(k.sum()) for name, k in self.keep.items()}

    def equal(self, other: "UnitMask") -> bool:
        return self.keep.keys() == other.keep.keys() and all(
            torch.equal(k, other.keep[n]) for n, k in self.keep.items()
        )

    def check(self, model: nn.Module) -> list[UnitGroup]:
        """The model's groups, after checking that this mask covers exactly them and empties none.

        Raises:
            UnitError: a group is missing, unknown or misshaped, or would lose every unit.
        """
        groups = unit_groups(model.cfg)
        names = [g.name for g in groups]
        if set(self.keep) != set(names):
            raise UnitError(f"unit mask names groups {sorted(self.keep)}, the model has {names}")
        for g in groups:
            k = self.keep[g.name]
            if k.numel() != g.size:
                raise UnitError(f"unit mask for {g.name} has {k.numel()} units, the model {g.size}")
            if not bool(k.any()):
                raise UnitError(f"the unit mask removes every unit of {g.name}; keep at least one")
        return groups

    def compose(self, then: "UnitMask") -> "UnitMask":
        """The mask on the original model equal to applying ``self``, shrinking, then ``then``.

        ``then`` is a mask of the shrunk model (its groups have ``kept()`` units).
        """
        out = {}
        for name, k in self.keep.items():
            if name not in then.keep or then.keep[name].numel() != int(k.sum()):
                raise UnitError(f"the second unit mask does not fit the shrunk group {name}")
            new = k.clone()
            new[k.nonzero().flatten()] = then.keep[name]
            out[name] = new
        return UnitMask(out, {"composed": [self.info, then.info]})

    # ------------------------------------------------------------------ weights
    def maskset(self, model: nn.Module) -> MaskSet:
        """Weight-level keep-masks: every parameter any slot touches, outer product of its axis keeps.

        Biases are included (their removed entries are False). Parameters no unit touches (the
        embeddings, the softmax bias) are not in the MaskSet.
        """
        masks = {}
        shapes = dict((n, p.shape) for n, p in model.named_parameters())
        for name, (rows, cols) in axis_keeps(model, self).items():
            shape = shapes[name]
            r = rows if rows is not None else torch.ones(shape[0], dtype=torch.bool)
            if len(shape) == 1:
                masks[name] = r
            else:
                c = cols if cols is not None else torch.ones(shape[1], dtype=torch.bool)
                masks[name] = r.unsqueeze(1) & c.unsqueeze(0)
        return MaskSet(masks, {"unit_mask": self.kept(), **self.info})

    def apply(self, model: nn.Module) -> None:
        """Zero the removed units' weights and biases in place (the masked model)."""
        self.maskset(model).to(next(model.parameters()).device).apply(model)

    # ------------------------------------------------------------------ disk
    def to_json(self, model: Optional[nn.Module] = None) -> dict:
        members = {g.name: list(g.members) for g in unit_groups(model.cfg)} if model is not None else {}
        return {
            "format": FORMAT,
            "version": VERSION,
            "groups": {
                name: {
                    "members": members.get(name, name.split("+")),
                    "size": k.numel(),
                    "removed": (~k).nonzero().flatten().tolist(),
                }
                for name, k in self.keep.items()
            },
            "info": self.info,
        }

    @classmethod
    def from_json(cls, obj: dict, where: str = "unit mask") -> "UnitMask":
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            found = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
            raise UnitError(f"{where}: not an nmtprune unit mask (format {found!r}, expected {FORMAT!r})")
        if obj.get("version") != VERSION:
            raise UnitError(f"{where}: unit mask version {obj.get('version')!r}, this code reads {VERSION}")
        keep = {}
        try:
            for name, g in obj["groups"].items():
                k = torch.ones(int(g["size"]), dtype=torch.bool)
                removed = [int(i) for i in g["removed"]]
                if any(not 0 <= i < k.numel() for i in removed):
                    raise UnitError(f"{where}: {name} removes units outside 0..{k.numel() - 1}")
                k[removed] = False
                keep[name] = k
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, UnitError):
                raise
            raise UnitError(f"{where}: malformed unit mask ({exc!r})") from None
        return cls(keep, obj.get("info") or {})

    def save(self, path: str | Path, model: Optional[nn.Module] = None) -> None:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        obj = self.to_json(model)
        groups = ",\n".join(f"  {json.dumps(name)}: {json.dumps(g)}" for name, g in obj["groups"].items())
        # one line per group: the index lists would otherwise take one line per unit
        text = (
            f'{{"format": "{FORMAT}", "version": {VERSION},\n "info": {json.dumps(obj["info"])},\n'
            f' "groups": {{\n{groups}\n }}\n}}\n'
        )
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> "UnitMask":
        path = Path(path)
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UnitError(f"{path}: unreadable unit mask ({exc})") from None
        return cls.from_json(obj, str(path))


def axis_keeps(model: nn.Module, mask: UnitMask) -> dict[str, tuple[Optional[torch.Tensor], Optional[torch.Tensor]]]:
    """Per touched parameter: (row keep (rows,) or None, column keep (cols,) or None).

    Positions are those of ``model`` as it is (the mask is checked against its groups); several
    members may cut one axis (W_c's columns hold the context part and the h part).
    """
    groups = mask.check(model)
    shapes = {n: p.shape for n, p in model.named_parameters()}
    out: dict[str, list] = {}
    for g in groups:
        units = (~mask.keep[g.name]).nonzero().flatten()
        for member in g.members:
            n = member_size(model.cfg, member)
            for slot in member_slots(model.cfg, member):
                keeps = out.setdefault(slot.param, [None, None])
                if keeps[slot.axis] is None:
                    keeps[slot.axis] = torch.ones(shapes[slot.param][slot.axis], dtype=torch.bool)
                keeps[slot.axis][slot.positions(units, n)] = False
    return {name: (k[0], k[1]) for name, k in out.items()}
