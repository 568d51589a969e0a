"""Fine-tuning the shared centroids on training batches (Deep Compression's trained quantisation).

Each weight of a k-means tensor is its centroid, ``W[mask] = C[codes]``, so the gradient of a
centroid is the sum of the gradients of its members; the codes (which centroid each weight uses)
and the mask stay fixed, and pruned weights are never stored, so they stay exactly zero. Only the
centroids move: 2^bits numbers per weight class, a few steps are enough.

The step is Adam's, not plain SGD's: a centroid's summed gradient grows with its membership, which
differs by orders of magnitude between a popular centroid of the softmax and a rare one of the
attention, and Adam's per-centroid scaling makes one learning rate fit all. Dropout is off (eval
mode), so the loss before and after is measured on the same function and the steps are repeatable.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..data.batching import Batch, collate, load_split, make_batches
from ..models.seq2seq import nll_loss
from .quantised import QuantisedModel

__all__ = ["finetune_centroids", "training_batches", "mean_loss"]


def training_batches(cfg, src_vocab, tgt_vocab, n_batches: int, batch_size: int = 64, seed: int = 0) -> list[Batch]:
    """The first ``n_batches`` shuffled batches of the training split named by ``cfg`` (an ExperimentConfig)."""
    d = cfg.data
    data = load_split(d.corpus, d.train_split, d.src_lang, d.tgt_lang, d.lowercase, src_vocab, tgt_vocab, d.max_len)
    return [collate(data, idx) for idx in make_batches(data, batch_size, seed=seed, epoch=0)[:n_batches]]


def _loss(model: nn.Module, batch: Batch) -> torch.Tensor:
    """Mean token NLL of one batch (a scalar)."""
    logits = model(batch.src, batch.src_len, batch.tgt_in)  # (B, T, V)
    return nll_loss(logits, batch.tgt_out) / max(batch.n_tokens, 1)


@torch.no_grad()
def _load(model: nn.Module, q: QuantisedModel) -> None:
    """Copy ``q``'s dequantised weights into ``model`` in place (the LSTMs keep their flat weight views)."""
    named = dict(model.named_parameters())
    for name in q.tensors:
        named[name].copy_(q.dequantise(name))


@torch.no_grad()
def mean_loss(model: nn.Module, q: QuantisedModel, batches: Sequence[Batch]) -> float:
    """Token-weighted mean NLL of ``model`` with ``q``'s weights over ``batches`` (eval mode)."""
    _load(model, q)
    model.eval()
    total = sum(float(_loss(model, b)) * b.n_tokens for b in batches)
    return total / max(sum(b.n_tokens for b in batches), 1)


def finetune_centroids(
    model: nn.Module, q: QuantisedModel, batches: Sequence[Batch], steps: int, lr: float = 1e-4
) -> dict:
    """Move ``q``'s codebooks (in place) by ``steps`` Adam steps, one batch each, cycling through ``batches``.

    ``model`` (a Seq2Seq of the same shape) serves as the forward function; its weights end as ``q``'s.

    Returns:
        ``{"steps", "lr", "batches", "loss_before", "loss_after"}``: mean token NLL over ``batches``.
    """
    if q.method != "kmeans":
        raise ValueError("only k-means codebooks can be fine-tuned")
    if steps < 1 or not batches:
        raise ValueError(f"fine-tuning needs steps >= 1 and at least one batch, got {steps} and {len(batches)}")
    before = mean_loss(model, q, batches)
    named = dict(model.named_parameters())
    centroids = {c: v.clone().requires_grad_(True) for c, v in q.codebooks.items()}  # each (2^bits,)
    opt = torch.optim.Adam(list(centroids.values()), lr=lr)
    model.eval()
    for step in range(steps):
        _load(model, q)
        model.zero_grad(set_to_none=True)
        _loss(model, batches[step % len(batches)]).backward()
        with torch.no_grad():
            for c in centroids.values():
                c.grad = torch.zeros_like(c)
            for name, t in q.tensors.items():
                grad = named[name].grad
                if grad is None:  # a parameter the loss does not reach
                    continue
                # the shared weight's gradient: the sum of its members' gradients
                centroids[t.weight_class].grad.index_add_(0, t.codes.long(), grad[t.mask].float())
        opt.step()
        with torch.no_grad():
            for cls, c in centroids.items():
                q.codebooks[cls] = c.detach().clone()
    model.zero_grad(set_to_none=True)
    after = mean_loss(model, q, batches)
    return {"steps": steps, "lr": lr, "batches": len(batches), "loss_before": before, "loss_after": after}
