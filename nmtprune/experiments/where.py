"""Where the pruned weights are (See et al. Fig 8), computed from weights and masks only.

* per weight class: the pruned fraction;
* each LSTM class split into gate blocks x input kind (``gate_blocks``: i, f, g = the paper's cell
  input ĥ, o; ``input`` / ``feed`` / ``recurrent``): the surviving fraction of each block, and for
  square recurrent blocks the survival of the diagonal (the paper's "white diagonals");
* embedding rows (and the softmax rows, which are target words too) by word frequency rank: the
  surviving fraction per rank bin, and the words whose whole row is pruned (the paper counts 100
  source and 1,194 target words of 50K at 80 %), with their dense row magnitude.

Vocabulary rows 0-3 are the specials (pad, unk, s, /s); words follow by descending training count,
so row rank = frequency rank. Specials are reported apart and left out of the word counts.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..data.vocab import SPECIALS
from ..models.weight_classes import GATES, gate_blocks, weight_classes
from ..prune import MaskSet

__all__ = ["where_pruned", "mask_overlap", "ROW_MATRICES"]

# (weight class, parameter, which vocabulary indexes its rows)
ROW_MATRICES = (
    ("src_emb", "src_emb.weight", "src"),
    ("tgt_emb", "tgt_emb.weight", "tgt"),
    ("softmax", "generator.weight", "tgt"),
)


def _ratio(kept: int, total: int) -> float:
    return round(kept / total, 6) if total else float("nan")


def lstm_blocks(model: nn.Module, masks: MaskSet) -> dict:
    """``{class: {"blocks": {block: {...}}, "gates": {i|f|g|o: survival}, "inputs": {kind: survival}}}``."""
    cfg = model.cfg
    named = dict(model.named_parameters())
    out = {}
    for wc in weight_classes(model):
        if not wc.name.startswith(("src_layer", "tgt_layer")):
            continue
        blocks: dict[str, dict] = {}
        for pname in wc.params:
            m = masks[pname] if pname in masks else torch.ones_like(named[pname], dtype=torch.bool)
            for bname, rows, cols in gate_blocks(pname, tuple(m.shape), cfg.emb_dim, cfg.input_feed):
                sub = m[rows, cols]
                b = blocks.setdefault(bname, {"total": 0, "kept": 0})
                b["total"] += sub.numel()
                b["kept"] += int(sub.count_nonzero())
                if sub.shape[0] == sub.shape[1]:  # recurrent H x H: identity-like structure?
                    diag = sub.diagonal()
                    b["diag_survival"] = _ratio(int(diag.count_nonzero()), diag.numel())
                    off_kept = int(sub.count_nonzero()) - int(diag.count_nonzero())
                    b["offdiag_survival"] = _ratio(off_kept, sub.numel() - diag.numel())
        for b in blocks.values():
            b["survival"] = _ratio(b["kept"], b["total"])
        gates = {
            g: _ratio(
                sum(b["kept"] for n, b in blocks.items() if n.startswith(g + ".")),
                sum(b["total"] for n, b in blocks.items() if n.startswith(g + ".")),
            )
            for g in GATES
        }
        kinds = sorted({n.split(".", 1)[1] for n in blocks})
        inputs = {
            k: _ratio(
                sum(b["kept"] for n, b in blocks.items() if n.endswith("." + k)),
                sum(b["total"] for n, b in blocks.items() if n.endswith("." + k)),
            )
            for k in kinds
        }
        out[wc.name] = {"blocks": blocks, "gates": gates, "inputs": inputs}
    return out


def row_survival(weight: torch.Tensor, mask: torch.Tensor, vocab, rank_bins: int) -> dict:
    """Survival of vocabulary rows by frequency rank, and the words whose whole row is pruned."""
    n_special = len(SPECIALS)
    kept = mask.sum(dim=1).numpy()  # (V,) surviving weights per row
    width = mask.shape[1]
    absmean = weight.detach().abs().mean(dim=1).numpy()  # dense row magnitude
    words = np.arange(n_special, mask.shape[0])
    bins = []
    for chunk in np.array_split(words, min(rank_bins, len(words))):
        if len(chunk):
            bins.append(
                {
                    "rank_lo": int(chunk[0] - n_special + 1),
                    "rank_hi": int(chunk[-1] - n_special + 1),
                    "count_hi": int(vocab.counts[chunk[0]]),
                    "count_lo": int(vocab.counts[chunk[-1]]),
                    "survival": round(float(kept[chunk].sum()) / (len(chunk) * width), 6),
                }
            )
    full = words[kept[words] == 0]
    rest = words[kept[words] > 0]
    counts = np.asarray(vocab.counts)
    return {
        "rows": int(mask.shape[0]),
        "words": int(len(words)),
        "width": int(width),
        "bins": bins,
        "fully_pruned_words": int(len(full)),
        "fully_pruned_fraction": round(len(full) / max(1, len(words)), 6),
        "fully_pruned_specials": [SPECIALS[i] for i in range(n_special) if kept[i] == 0],
        "first_fully_pruned_rank": int(full[0] - n_special + 1) if len(full) else None,
        "fully_pruned_examples": [vocab.itos[i] for i in full[:10]],
        "median_count_fully_pruned": float(np.median(counts[full])) if len(full) else None,
        "median_count_other": float(np.median(counts[rest])) if len(rest) else None,
        "dense_abs_mean_fully_pruned": round(float(absmean[full].mean()), 6) if len(full) else None,
        "dense_abs_mean_other": round(float(absmean[rest].mean()), 6) if len(rest) else None,
    }


def where_pruned(model: nn.Module, masks: MaskSet, src_vocab, tgt_vocab, rank_bins: int = 40) -> dict:
    """The Fig 8 analysis of ``masks`` on the *dense* ``model``.

    Returns:
        ``{"classes": MaskSet.stats, "lstm": lstm_blocks(...), "rows": {class: row_survival(...)}}``.
    """
    named = dict(model.named_parameters())
    vocabs = {"src": src_vocab, "tgt": tgt_vocab}
    rows = {
        cls: row_survival(named[p], masks[p].cpu(), vocabs[v], rank_bins) for cls, p, v in ROW_MATRICES if p in masks
    }
    return {"classes": masks.stats(model), "lstm": lstm_blocks(model, masks), "rows": rows}


def mask_overlap(model: nn.Module, masks: MaskSet, ref: MaskSet) -> dict[str, dict]:
    """How far ``masks`` prune the same weights as ``ref`` (e.g. magnitude's mask at the same sparsity).

    Returns:
        ``{class: {"shared": share of this mask's pruned weights that ``ref`` prunes too, "chance": the
        share an unrelated mask would reach (``ref``'s pruned fraction of the class), "pruned": count}}``
        and ``"overall"``; ``shared`` is None where this mask prunes nothing.
    """
    named = dict(model.named_parameters())
    out, tot = {}, [0, 0, 0, 0]  # pruned here, pruned by both, ref pruned, class size
    for cname, names in _classes(model, masks):
        pruned = both = ref_pruned = size = 0
        for n in names:
            here, there = ~masks[n].cpu(), ~ref[n].cpu()
            pruned, both = pruned + int(here.sum()), both + int((here & there).sum())
            ref_pruned, size = ref_pruned + int(there.sum()), size + named[n].numel()
        out[cname] = _overlap_row(pruned, both, ref_pruned, size)
        tot = [tot[0] + pruned, tot[1] + both, tot[2] + ref_pruned, tot[3] + size]
    out["overall"] = _overlap_row(*tot)
    return out


def _classes(model: nn.Module, masks: MaskSet) -> list[tuple[str, list[str]]]:
    from ..sparse.targets import class_groups

    return [(c, [n for n, _ in g if n in masks]) for c, g in class_groups(model) if any(n in masks for n, _ in g)]


def _overlap_row(pruned: int, both: int, ref_pruned: int, size: int) -> dict:
    return {
        "shared": round(both / pruned, 4) if pruned else None,
        "chance": round(ref_pruned / size, 4) if size else None,
        "pruned": pruned,
    }
