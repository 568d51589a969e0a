"""Hidden units of a Seq2Seq model: which weights each unit owns, and which units are tied.

A *member* is one layer's hidden dimension, named like its See et al. weight class:
``src_layer{k}`` (encoder layer k, 1-based), ``tgt_layer{k}`` (decoder layer k) and ``attention``
(the attentional layer h~ = tanh(W_c [c; h]), whose units are the rows of W_c).

Unit j of a member owns *slots*, i.e. slices of parameters: the rows and columns that exist only
because unit j does, so removing the unit removes all of them:

======================  ==========================================================  ======
member                  slot                                                        role
======================  ==========================================================  ======
LSTM layer (n units)    rows j, n+j, 2n+j, 3n+j (gates i, f, g, o) of W_ih, W_hh    in
                        entries j, n+j, 2n+j, 3n+j of b_ih, b_hh                    bias
                        column j of W_hh (its own recurrent input)                  out
                        column j of the next layer's W_ih                           out
encoder top layer       column j of W_a (general) and of the context part of W_c    out
decoder top layer       row j of W_a (general) and column j of the h part of W_c    out
attention (A units)     row j of W_c                                                in
                        column j of the softmax W_s, and of the input-feeding
                        columns of decoder layer 1's W_ih                           out
======================  ==========================================================  ======

Setting unit j's ``in`` and ``bias`` slots to zero makes its output exactly 0 at every step (all
gate pre-activations are 0, so c_t = 0.5 c_{t-1} = 0 and h_t = 0.5 tanh(0) = 0; for h~, tanh(0) = 0),
so the ``out`` slots then multiply zeros: deleting all of them changes nothing (:mod:`.shrink`).

*Tied* members share one index set and form one :class:`UnitGroup`, named by joining the member
names with ``+``: ``src_layer{k}+tgt_layer{k}`` when the decoder starts from the encoder's final
states (equal layer counts, Luong et al.), and the two top layers under ``dot`` attention (the
score h_t . h_s needs equal widths). A 2+2-layer model has the groups ``src_layer1+tgt_layer1``,
``src_layer2+tgt_layer2`` and ``attention``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import torch

from ...config import ModelConfig
from ..spec import UnitError

__all__ = [
    "UnitError",
    "Slot",
    "UnitGroup",
    "member_names",
    "member_size",
    "member_slots",
    "ties",
    "unit_groups",
    "find_group",
    "unit_view",
    "sum_members",
]


@dataclass(frozen=True)
class Slot:
    """Where the units of one member sit in one parameter.

    Attributes:
        param: parameter name, e.g. ``encoder.weight_hh_l0``.
        axis: 0 (rows / bias entries) or 1 (columns).
        role: ``in`` (the unit's own incoming weights), ``bias`` or ``out`` (a consumer's weights).
        gates: True if unit j owns positions j, n+j, 2n+j, 3n+j (the four LSTM gate blocks);
            False if it owns position ``offset + j``.
        offset: first position of the member's block along ``axis`` (gates: always 0).
    """

    param: str
    axis: int
    role: Literal["in", "bias", "out"]
    gates: bool = False
    offset: int = 0

    def positions(self, units: torch.Tensor, n: int) -> torch.Tensor:
        """Positions along ``axis`` owned by ``units`` (LongTensor (k,)) of a member with n units.

        Gate slots return the k units of gate i, then of f, g, o: (4k,).
        """
        if self.gates:
            return torch.cat([units + g * n for g in range(4)])
        return units + self.offset


@dataclass(frozen=True)
class UnitGroup:
    """Members pruned with one index set. ``size``: units per member (equal, they are tied)."""

    name: str
    members: tuple[str, ...]
    size: int


def member_names(cfg: ModelConfig) -> list[str]:
    """``src_layer1..``, ``tgt_layer1..``, ``attention``: the canonical member order."""
    return (
        [f"src_layer{k + 1}" for k in range(cfg.enc_layers)]
        + [f"tgt_layer{k + 1}" for k in range(cfg.dec_layers)]
        + ["attention"]
    )


def member_size(cfg: ModelConfig, member: str) -> int:
    if member == "attention":
        return cfg.attn_size
    side, k = _split(cfg, member)
    return (cfg.enc_sizes if side == "src" else cfg.dec_sizes)[k]


def _split(cfg: ModelConfig, member: str) -> tuple[str, int]:
    """``tgt_layer2`` -> ("tgt", 1) (0-based layer index); UnitError for a name that is no member."""
    for side, layers in (("src", cfg.enc_layers), ("tgt", cfg.dec_layers)):
        prefix = f"{side}_layer"
        if member.startswith(prefix) and member[len(prefix) :].isdigit():
            k = int(member[len(prefix) :]) - 1
            if 0 <= k < layers:
                return side, k
    raise UnitError(f"unknown layer {member!r}; this model has {member_names(cfg)}")


def member_slots(cfg: ModelConfig, member: str) -> list[Slot]:
    """Every slot of ``member`` (see the module table), in a fixed order."""
    enc, E = cfg.enc_sizes, cfg.emb_dim
    general = cfg.attention == "general"
    if member == "attention":
        out = [Slot("attention.W_c", 0, "in"), Slot("generator.weight", 1, "out")]
        if cfg.input_feed:
            out.append(Slot("decoder.weight_ih_l0", 1, "out", offset=E))
        return out
    side, k = _split(cfg, member)
    module, layers = ("encoder", cfg.enc_layers) if side == "src" else ("decoder", cfg.dec_layers)
    out = [
        Slot(f"{module}.weight_ih_l{k}", 0, "in", gates=True),
        Slot(f"{module}.weight_hh_l{k}", 0, "in", gates=True),
        Slot(f"{module}.bias_ih_l{k}", 0, "bias", gates=True),
        Slot(f"{module}.bias_hh_l{k}", 0, "bias", gates=True),
        Slot(f"{module}.weight_hh_l{k}", 1, "out"),
    ]
    if k + 1 < layers:
        out.append(Slot(f"{module}.weight_ih_l{k + 1}", 1, "out"))
    elif side == "src":  # keys = W_a h_s; context c enters W_c [c; h] first
        out += [Slot("attention.W_a", 1, "out")] if general else []
        out.append(Slot("attention.W_c", 1, "out", offset=0))
    else:  # score h_t . W_a h_s (row of W_a); h enters W_c [c; h] after the context
        out += [Slot("attention.W_a", 0, "out")] if general else []
        out.append(Slot("attention.W_c", 1, "out", offset=enc[-1]))
    return out


def ties(cfg: ModelConfig) -> list[tuple[str, str]]:
    """Pairs of members that must share one index set (see the module docstring)."""
    pairs = []
    if cfg.enc_layers == cfg.dec_layers:  # decoder layer k starts from encoder layer k's (h, c)
        pairs += [(f"src_layer{k + 1}", f"tgt_layer{k + 1}") for k in range(cfg.enc_layers)]
    if cfg.attention == "dot":  # h_t . h_s
        pairs.append((f"src_layer{cfg.enc_layers}", f"tgt_layer{cfg.dec_layers}"))
    return pairs


def unit_groups(cfg: ModelConfig) -> list[UnitGroup]:
    """The prunable unit groups, tied members merged, in canonical member order."""
    names = member_names(cfg)
    root = {m: m for m in names}

    def find(m: str) -> str:
        while root[m] != m:
            m = root[m]
        return m

    for a, b in ties(cfg):
        root[find(b)] = find(a)
    merged: dict[str, list[str]] = {}
    for m in names:  # canonical order, so a group is named and ordered by its first member
        merged.setdefault(find(m), []).append(m)
    groups = []
    for members in merged.values():
        sizes = {member_size(cfg, m) for m in members}
        assert len(sizes) == 1, f"tied members {members} have sizes {sizes}"  # ModelConfig validates this
        groups.append(UnitGroup("+".join(members), tuple(members), sizes.pop()))
    return groups


def find_group(groups: Sequence[UnitGroup], name: str) -> UnitGroup:
    """The group called ``name`` or holding the member ``name`` (``tgt_layer1`` finds
    ``src_layer1+tgt_layer1``); UnitError listing the groups otherwise."""
    for g in groups:
        if name == g.name or name in g.members:
            return g
    raise UnitError(f"unknown layer {name!r}; the unit groups are {[g.name for g in groups]}")


def unit_view(tensor: torch.Tensor, slot: Slot, n: int) -> torch.Tensor:
    """The slot's part of ``tensor`` as (n, m): row j holds everything unit j owns there.

    E.g. a gate slot of W_ih (4n, in) gives (n, 4*in) (gates i, f, g, o side by side); a bias
    (4n,) gives (n, 4); a column slot of W_c (A, H_enc + H) gives (n, A). A view where possible.
    """
    t = tensor if slot.axis == 0 else tensor.transpose(0, 1)  # units along dim 0
    if slot.gates:
        t = t.reshape(4, n, -1).transpose(0, 1)  # (n, 4, m)
        return t.reshape(n, -1)
    t = t[slot.offset : slot.offset + n]
    return t.reshape(n, -1)


def sum_members(cfg: ModelConfig, member_score) -> dict[str, torch.Tensor]:
    """``{group: Σ over its members of member_score(member, n)}``: tied units are scored together.

    ``member_score(member, n) -> FloatTensor (n,)``; the sum is what a shared gate or one shared
    index set implies (Li et al. rank coupled filters by summed norms; Molchanov et al. sum the
    criteria of gates shared through a skip connection).
    """
    return {g.name: sum(member_score(m, g.size) for m in g.members) for g in unit_groups(cfg)}
