"""Data for the data-driven scores: scoring batches, the embedding-row pitfall, re-initialisation.

Scoring batches: the first ``n_batches`` batches of epoch 0 of the *training* split as
:func:`nmtprune.data.batching.make_batches` orders it for ``seed`` (length-bucketed pools, shuffled),
with the training ``max_len`` filter. Deterministic given (data, batch size, seed); the first n
batches of a longer list are the same n batches, so a cache of the longest list serves every score.
Reference model (Multi30k, 29,000 pairs, batches of 64): 454 batches per epoch; embedding rows never
seen in the first n batches (source / target vocabulary 5,895 / 7,880): n = 16: 4,090 / 5,930;
50: 2,657 / 4,082; 100: 1,661 / 2,679; 200: 672 / 1,091; 454 (an epoch): 3 / 3 (special tokens).

The embedding-row pitfall: the embedding row of a token absent from the scoring
batches gets exactly zero gradient, so SNIP, OBD (Fisher) and Taylor give it score 0 and would prune
it first, whatever its importance; GraSP gives it 0, the middle of its signed range. Policies
(``absent_rows=``; see :func:`fill_absent_rows`):

* ``"magnitude"`` (default): fall back to magnitude rank. An absent row's score is |w| x r, where r is
  the median of score/|w| over the present entries of the same embedding, so it lands where present
  weights of equal magnitude typically land. Finite, so every selection scheme works unchanged.
* ``"keep"``: +inf, never pruned while a scored weight of the selection is left (class-distribution's
  σ_c is then taken over the finite scores). Among themselves ties break by row index.
* ``"zero"``: leave the raw scores (the naive behaviour; for ablations).

Source rows count as present when the id occurs in ``batch.src``, target rows when it occurs in
``batch.tgt_in`` (the decoder's inputs). The padding row is never "absent": it is zero and unused by
design. Softmax rows of absent tokens still get gradient through the normaliser and are left alone.
:func:`absent_row_counts` gives the numbers a report needs.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Callable, Sequence

import torch
from torch import nn

from ...data.batching import Batch, ParallelData, collate, load_split, make_batches
from ...data.vocab import PAD

__all__ = [
    "scoring_batches",
    "first_sentences",
    "load_scoring_batches",
    "batch_source",
    "scored_weights",
    "absent_rows",
    "absent_row_counts",
    "fill_absent_rows",
    "ABSENT_POLICIES",
    "variance_scaling_copy",
    "INITS",
    "check_options",
]

ABSENT_POLICIES = ("magnitude", "keep", "zero")
INITS = (None, "variance-scaling")  # score the model as given, or a re-initialised copy (at-init scores)


def check_options(absent_rows: str, init=None) -> None:
    """ValueError naming the option when ``absent_rows`` or ``init`` is not a known choice."""
    if init not in INITS:
        raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
    if absent_rows not in ABSENT_POLICIES:
        raise ValueError(f"absent_rows must be one of {list(ABSENT_POLICIES)}, got {absent_rows!r}")


_EMB_INPUTS = {"src_emb.weight": "src", "tgt_emb.weight": "tgt_in"}  # embedding -> the batch field it reads


def scoring_batches(data: ParallelData, n_batches: int, batch_size: int = 64, seed: int = 0) -> list[Batch]:
    """The first ``n_batches`` training batches of epoch 0 for ``seed`` (all of them if fewer)."""
    if n_batches < 1 or batch_size < 1:
        raise ValueError(f"n_batches and batch_size must be >= 1, got {n_batches}, {batch_size}")
    return [collate(data, idx) for idx in make_batches(data, batch_size, seed=seed, epoch=0)[:n_batches]]


def first_sentences(batches: list[Batch], n: int) -> list[Batch]:
    """The first ``n`` sentences of ``batches`` (the last batch cut short when needed): calibration data of
    exactly n sentences, each smaller set a prefix of a larger one."""
    out, left = [], n
    for b in batches:
        if left <= 0:
            break
        if b.src.shape[0] > left:
            b = dataclasses.replace(
                b,
                src=b.src[:left],
                src_len=b.src_len[:left],
                tgt_in=b.tgt_in[:left],
                tgt_out=b.tgt_out[:left],
                index=b.index[:left],
            )
        out.append(b)
        left -= int(b.src.shape[0])
    return out


def load_scoring_batches(cfg, src_vocab, tgt_vocab, n_batches: int, batch_size: int = 64, seed: int = 0) -> list[Batch]:
    """Scoring batches from the training split named by an ExperimentConfig (with its max_len)."""
    d = cfg.data
    train = load_split(d.corpus, d.train_split, d.src_lang, d.tgt_lang, d.lowercase, src_vocab, tgt_vocab, d.max_len)
    return scoring_batches(train, n_batches, batch_size, seed)


def batch_source(cfg, src_vocab, tgt_vocab, batch_size: int = 64, seed: int = 0) -> Callable[[int], list[Batch]]:
    """``source(n)``: :func:`load_scoring_batches` for ``n``, the split loaded on the first call and
    each list kept, so asking again costs nothing (what :func:`nmtprune.prune.registry.run_score` takes)."""
    cache: dict = {}

    def source(n_batches: int) -> list[Batch]:
        if "train" not in cache:
            d = cfg.data
            cache["train"] = load_split(
                d.corpus, d.train_split, d.src_lang, d.tgt_lang, d.lowercase, src_vocab, tgt_vocab, d.max_len
            )
        if n_batches not in cache:
            cache[n_batches] = scoring_batches(cache["train"], n_batches, batch_size, seed)
        return cache[n_batches]

    return source


def scored_weights(model: nn.Module, scores) -> dict[str, torch.Tensor]:
    """{param: w as float32, shaped like the param} for the parameters ``scores`` has (a part's input)."""
    return {n: p.detach().float() for n, p in model.named_parameters() if n in scores}


def absent_rows(model: nn.Module, batches: Sequence[Batch]) -> dict[str, torch.Tensor]:
    """{embedding param name: (V,) bool, True where the token occurs in no scoring batch}."""
    named = dict(model.named_parameters())
    out = {}
    for name, field in _EMB_INPUTS.items():
        if name not in named:
            continue
        seen = torch.zeros(named[name].shape[0], dtype=torch.bool)
        for b in batches:
            seen[getattr(b, field).reshape(-1).cpu()] = True
        seen[PAD] = True
        out[name] = ~seen
    return out


def absent_row_counts(model: nn.Module, batches: Sequence[Batch]) -> dict[str, int]:
    """{embedding param name: number of rows whose token is absent from the scoring batches}."""
    return {k: int(v.sum()) for k, v in absent_rows(model, batches).items()}


def fill_absent_rows(
    scores: dict[str, torch.Tensor], model: nn.Module, batches: Sequence[Batch], policy: str = "magnitude"
) -> dict[str, torch.Tensor]:
    """Apply an absent-row policy (module docstring) to ``scores`` in place; returns them."""
    if policy not in ABSENT_POLICIES:
        raise ValueError(f"absent_rows must be one of {list(ABSENT_POLICIES)}, got {policy!r}")
    if policy == "zero":
        return scores
    named = dict(model.named_parameters())
    for name, rows in absent_rows(model, batches).items():
        if name not in scores or not bool(rows.any()):
            continue
        s = scores[name]
        rows = rows.to(s.device)
        if policy == "keep":
            s[rows] = math.inf
            continue
        w = named[name].detach().abs().to(s.dtype)
        present = (~rows).unsqueeze(1).expand_as(w) & (w > 0)
        ratio = float((s[present] / w[present]).median()) if bool(present.any()) else 1.0
        s[rows] = w[rows] * ratio
    return scores


def variance_scaling_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A deep copy of ``model`` re-initialised with variance scaling (SNIP's VS-X, GraSP's reinit).

    Weight matrices (LSTM W_ih / W_hh, attention, softmax) get Glorot normal, std sqrt(2 / (fan_in +
    fan_out)) with fan_in = columns and fan_out = rows (each LSTM matrix as a whole, as TensorFlow
    initialises a fused LSTM kernel); embeddings N(0, 1/E); biases 0; padding rows 0. Drawn from a
    CPU generator seeded with ``seed`` in parameter order, so the copy is identical on every device.
    ``model`` itself is not touched.
    """
    fresh = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in fresh.named_parameters():
            if p.dim() < 2:
                p.zero_()
                continue
            rows, cols = p.shape
            std = cols**-0.5 if name.endswith("_emb.weight") else math.sqrt(2.0 / (rows + cols))
            p.copy_(torch.randn(p.shape, generator=gen) * std)
            if name.endswith("_emb.weight"):
                p[PAD].zero_()
    return fresh
