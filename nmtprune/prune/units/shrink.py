"""Physical shrinking: a unit-pruned model becomes a genuinely smaller dense model.

:func:`shrink` deletes the removed units' rows, bias entries and consumer columns (every slot of
:mod:`.groups`) and builds a :class:`~nmtprune.models.Seq2Seq` with the smaller per-layer sizes
(``ModelConfig.enc_hidden`` / ``dec_hidden`` / ``attn_hidden``): smaller LSTMs, W_a, W_c, softmax
input and input-feeding columns. Its outputs equal those of the masked model
(``mask.apply(model)``) up to float rounding, because a masked unit outputs exactly 0 at every step
(see :mod:`.groups`). It is an ordinary model: ``save_checkpoint``/``load_model`` handle it, and
shrinking it again composes (:meth:`~.mask.UnitMask.compose`).

:func:`dead_units` recovers the mask from a model whose removed units are already zero (e.g. after
``nmtprune retrain``, which keeps them zero), so ``nmtprune shrink`` needs no mask file there.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ...config import ModelConfig
from ...models.seq2seq import Seq2Seq
from .groups import member_size, member_slots, unit_groups, unit_view
from .mask import UnitMask, axis_keeps

__all__ = ["shrink", "shrunk_config", "dead_units"]


def shrunk_config(cfg: ModelConfig, mask: UnitMask) -> ModelConfig:
    """``cfg`` with every member's size reduced to its group's kept units.

    A model whose layers all end up with one size n is written as an ordinary ``hidden: n`` model
    (no per-layer lists), so a uniformly pruned model has the config a model trained at n would.
    """
    kept = {m: mask.kept()[g.name] for g in unit_groups(cfg) for m in g.members}
    enc = tuple(kept[f"src_layer{k + 1}"] for k in range(cfg.enc_layers))
    dec = tuple(kept[f"tgt_layer{k + 1}"] for k in range(cfg.dec_layers))
    attn = kept["attention"]
    if len(set(enc + dec + (attn,))) == 1:
        return dataclasses.replace(cfg, hidden=attn, enc_hidden=None, dec_hidden=None, attn_hidden=None)
    return dataclasses.replace(cfg, enc_hidden=enc, dec_hidden=dec, attn_hidden=attn)


@torch.no_grad()
def shrink(model: Seq2Seq, mask: UnitMask) -> Seq2Seq:
    """A new, smaller model without the units ``mask`` removes (``model`` is not modified).

    Args:
        model: a Seq2Seq, masked or not (removing a unit is the same as masking it).
        mask: a UnitMask of ``model``'s groups.
    Returns:
        Seq2Seq with config :func:`shrunk_config`, on ``model``'s device and dtype, in its train/eval mode.
    Raises:
        UnitError: the mask does not fit ``model`` or empties a group.
    """
    keeps = axis_keeps(model, mask)
    small = Seq2Seq(shrunk_config(model.cfg, mask))
    state = {}
    for name, t in model.state_dict().items():
        rows, cols = keeps.get(name, (None, None))
        if rows is not None:
            t = t[rows.to(t.device)]
        if cols is not None:
            t = t[:, cols.to(t.device)]
        state[name] = t.clone()
    p = next(model.parameters())
    small.to(device=p.device, dtype=p.dtype)
    small.load_state_dict(state)
    return small.train(model.training)


@torch.no_grad()
def dead_units(model: nn.Module) -> UnitMask:
    """The units whose incoming weights and biases are all zero in every tied member (their output is 0).

    For a decoder layer tied to an encoder layer this needs the encoder unit dead too, since the
    decoder unit starts from the encoder unit's final cell state; per-member tests would not be safe.
    A group with no live unit at all gives a mask that :func:`shrink` refuses (UnitError).
    """
    named = dict(model.named_parameters())
    keep = {}
    for g in unit_groups(model.cfg):
        alive = torch.zeros(g.size, dtype=torch.bool)
        for m in g.members:
            n = member_size(model.cfg, m)
            for slot in member_slots(model.cfg, m):
                if slot.role != "out":
                    alive |= unit_view(named[slot.param].detach(), slot, n).ne(0).any(dim=1).cpu()
        keep[g.name] = alive
    return UnitMask(keep, {"from": "dead units (zero incoming weights and biases)"})
