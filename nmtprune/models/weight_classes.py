"""See et al.'s weight classes, each with a stable name used in configs, results, reports and the site.

======================  ==================================================  =========================
name                    parameters                                          See et al. (Fig 4)
======================  ==================================================  =========================
``src_emb``             src_emb.weight (V_src x E)                          source embedding
``src_layer{k}``        encoder.weight_ih_l{k-1}, encoder.weight_hh_l{k-1}  source layer k
``tgt_emb``             tgt_emb.weight (V_tgt x E)                          target embedding
``tgt_layer{k}``        decoder.weight_ih_l{k-1}, decoder.weight_hh_l{k-1}  target layer k
``attention``           attention.W_a (general only), attention.W_c         attention
``softmax``             generator.weight (V_tgt x H)                        softmax
======================  ==================================================  =========================

Biases are in no class and are never pruned (as in the paper); percentages are over these classes.
``tgt_layer1``'s input matrix includes the input-feeding columns (the paper's count is silent on
them); :func:`gate_blocks` reports them as their own block. ``attention`` includes W_a for
``general`` attention, which the paper (dot attention) did not have.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["WeightClass", "weight_classes", "class_names", "gate_blocks", "GATES"]

# PyTorch's row order of the 4 gate blocks in weight_ih / weight_hh; g is the cell input (paper's ĥ).
GATES = ("i", "f", "g", "o")


@dataclass(frozen=True)
class WeightClass:
    name: str
    params: tuple[str, ...]  # parameter names in model.named_parameters()
    paper_name: str

    def tensors(self, model: nn.Module) -> list[torch.Tensor]:
        named = dict(model.named_parameters())
        return [named[p] for p in self.params]

    def numel(self, model: nn.Module) -> int:
        return sum(t.numel() for t in self.tensors(model))


def weight_classes(model: nn.Module) -> list[WeightClass]:
    """The classes of a Seq2Seq model, in the paper's Fig 4 order."""
    cfg = model.cfg
    out = [
        WeightClass(
            f"src_layer{k + 1}", (f"encoder.weight_ih_l{k}", f"encoder.weight_hh_l{k}"), f"source layer {k + 1}"
        )
        for k in range(cfg.enc_layers)
    ]
    out += [
        WeightClass(
            f"tgt_layer{k + 1}", (f"decoder.weight_ih_l{k}", f"decoder.weight_hh_l{k}"), f"target layer {k + 1}"
        )
        for k in range(cfg.dec_layers)
    ]
    attn = ("attention.W_a", "attention.W_c") if cfg.attention == "general" else ("attention.W_c",)
    out.append(WeightClass("attention", attn, "attention"))
    out.append(WeightClass("softmax", ("generator.weight",), "softmax"))
    out.append(WeightClass("src_emb", ("src_emb.weight",), "source embedding"))
    out.append(WeightClass("tgt_emb", ("tgt_emb.weight",), "target embedding"))
    return out


def class_names(model: nn.Module) -> list[str]:
    return [c.name for c in weight_classes(model)]


def gate_blocks(param_name: str, shape: tuple[int, ...], emb_dim: int, input_feed: bool):
    """Split an LSTM matrix into named (rows, cols) blocks: gate x input kind.

    Returns a list of (block_name, row_slice, col_slice), e.g. ("g.input", slice(2H, 3H), slice(0, E)).
    Input kinds: ``input`` (from the layer below / the embedding), ``feed`` (input feeding columns of
    the first decoder layer), ``recurrent`` (weight_hh).
    """
    rows, cols = shape
    H = rows // 4
    if "weight_hh" in param_name:
        col_parts = [("recurrent", slice(0, cols))]
    elif param_name == "decoder.weight_ih_l0" and input_feed:
        col_parts = [("input", slice(0, emb_dim)), ("feed", slice(emb_dim, cols))]
    else:
        col_parts = [("input", slice(0, cols))]
    return [(f"{g}.{kind}", slice(j * H, (j + 1) * H), cs) for j, g in enumerate(GATES) for kind, cs in col_parts]
