"""Mutual information between a unit's activity and the output: Xing & Hu (IEEE TNN 20(4), 2009).

"Two-phase construction of multilayer perceptrons using information theory": phase 2 removes
redundant hidden units of a trained MLP one at a time by an MI-based relevance measure (the
references include Kraskov et al.'s kNN MI estimator). **Reconstructed** (only the
abstract was readable): the measure itself, its estimator and the handling of redundancy. Our
reading (``xinghu-mi``), for a decoder-side member (``tgt_layer{k}``, ``attention``):

    R_j = Î(h_j; y) = Σ_{b,c} p̂(b, c) log[p̂(b, c) / (p̂(b) p̂(c))]          (nats)

over the N real target positions t of the scoring batches, where

* b = bin of h_{t,j} among ``bins`` (16) equal-count bins of that unit: edges = the unit's
  quantiles at i/bins, i = 1..bins−1 (linear interpolation, ``torch.quantile``), b = number of
  edges ≤ h (``bucketize(right=True)``);
* c = the output class: the reference next token (``target="reference"``, default) or the model's
  own greedy prediction argmax W_s h~_t (``"prediction"``), restricted to the ``top_k`` (100) most
  frequent classes in the scoring data plus one "other" class (a 50K-way plug-in estimate is hopeless);
* ``bias="miller-madow"`` (default) adds (m_b − 1 + m_c − 1 − (m_bc − 1)) / 2N, m = occupied cells
  (Miller–Madow correction of the three entropies); ``"none"``: the plain plug-in estimate;
* at most ``max_tokens`` (100,000) positions, a uniform subsample drawn with ``seed``.

Encoder members have no target. A tied group (``src_layer{k}+tgt_layer{k}``, or the two tops under
dot attention) is scored by its decoder member(s) alone (the index set is shared, and the decoder
side sees y). An encoder-only group (unequal layer counts) is scored by **our** redundancy reading,
``encoder="redundancy"`` (default): R_j = ½ log(1 − ρ_j²) = −I_Gauss(h_j; h_{−j}), ρ_j² the
squared multiple correlation of h_j with the other units of its layer over source tokens
(= 1 − 1 / (Σ_jj (Σ⁻¹)_jj), Σ the covariance, a tiny ridge added), so redundant units go first;
its scale (≤ 0) is not comparable with the decoder MI, so use per-layer selection with it.
``encoder="zero"`` gives such groups zeros. The paper's one-unit-at-a-time removal with retraining
maps to iterative selection, not to this score.

Data: teacher-forced minibatches (``batches``), eval mode. Cost: one forward per minibatch, then per
decoder unit one quantile and one bincount over N values: O(n · N log N); the redundancy is one
n × n covariance inverse per encoder layer.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from ...spec import Paper, ScoreSpec
from ..groups import UnitError, unit_groups
from ._common import collect

__all__ = ["xinghu_unit", "mutual_information", "quantile_bins", "SPECS"]


def quantile_bins(h: torch.Tensor, bins: int) -> torch.Tensor:
    """Equal-count bin index of every value: h (N, n) -> LongTensor (N, n) in [0, bins)."""
    q = torch.arange(1, bins, dtype=h.dtype) / bins
    edges = torch.quantile(h, q, dim=0)  # (bins - 1, n)
    return torch.stack(
        [torch.bucketize(h[:, j].contiguous(), edges[:, j].contiguous(), right=True) for j in range(h.shape[1])], dim=1
    )


def mutual_information(b: torch.Tensor, c: torch.Tensor, bias: str = "miller-madow") -> float:
    """Plug-in Î(b; c) in nats of two discrete sequences b, c (N,) of non-negative ints."""
    n = b.numel()
    nc = int(c.max()) + 1
    joint = torch.bincount(b * nc + c).double()
    pb, pc = torch.bincount(b).double(), torch.bincount(c).double()

    def entropy(counts: torch.Tensor) -> float:
        p = counts[counts > 0] / n
        return float(-(p * p.log()).sum())

    mi = entropy(pb) + entropy(pc) - entropy(joint)
    if bias == "miller-madow":
        occupied = [int((x > 0).sum()) for x in (pb, pc, joint)]
        mi += (occupied[0] - 1 + occupied[1] - 1 - (occupied[2] - 1)) / (2 * n)
    return mi


def _classes(y: torch.Tensor, top_k: int) -> torch.Tensor:
    """Tokens -> 0..top_k-1 by frequency rank (ties: smaller id first), everything else -> top_k."""
    ids, counts = torch.unique(y, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-int(counts[i]), int(ids[i])))[:top_k]
    table = {int(ids[i]): r for r, i in enumerate(order)}
    return torch.tensor([table.get(int(t), top_k) for t in y], dtype=torch.long)


def _redundancy(h: torch.Tensor, ridge: float = 1e-10) -> torch.Tensor:
    """½ log(1 − ρ_j²) per unit of h (N, n) (≤ 0; finite thanks to a ridge of ``ridge`` × mean variance)."""
    n = h.shape[1]
    if n == 1:
        return torch.zeros(1, dtype=h.dtype)
    cov = torch.cov(h.T).reshape(n, n)
    cov = cov + (ridge * float(torch.diagonal(cov).mean()) + 1e-30) * torch.eye(n, dtype=h.dtype)
    return -0.5 * torch.log(torch.diagonal(cov) * torch.diagonal(torch.linalg.inv(cov)))


def xinghu_unit(
    model: nn.Module,
    batches: Iterable | None = None,
    seed: int = 0,
    bins: int = 16,
    top_k: int = 100,
    target: str = "reference",
    bias: str = "miller-madow",
    encoder: str = "redundancy",
    max_tokens: int = 100_000,
    **_unused,
) -> dict[str, torch.Tensor]:
    """MI relevance per unit: ``{group: FloatTensor (n,)}``, lower = removed first.

    Args: see the module docstring for ``bins``, ``top_k``, ``target``, ``bias``, ``encoder``,
        ``max_tokens``; ``seed`` draws the subsample. ``batches`` is required.
    Raises:
        UnitError: no batches or a bad option.
    """
    for name, value, ok in (("bins", bins, 2), ("top_k", top_k, 1), ("max_tokens", max_tokens, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < ok:
            raise UnitError(f"xinghu-mi: {name} must be an int >= {ok}, got {value!r}")
    for name, value, allowed in (
        ("target", target, ("reference", "prediction")),
        ("bias", bias, ("miller-madow", "none")),
        ("encoder", encoder, ("redundancy", "zero")),
    ):
        if value not in allowed:
            raise UnitError(f"xinghu-mi: {name} must be one of {list(allowed)}, got {value!r}")
    acts, y = collect(model, batches, "xinghu-mi")
    if target == "prediction":
        with torch.no_grad():
            w = model.generator.weight.detach().double().cpu()
            bias_s = getattr(model.generator, "bias", None)
            b = bias_s.detach().double().cpu() if bias_s is not None else 0
            y = (acts["attention"] @ w.T + b).argmax(dim=1)
    gen = torch.Generator().manual_seed(seed)
    keep_t = torch.randperm(len(y), generator=gen)[:max_tokens].sort().values if len(y) > max_tokens else None
    c = _classes(y if keep_t is None else y[keep_t], top_k)

    def decoder_mi(member: str) -> torch.Tensor:
        h = acts[member] if keep_t is None else acts[member][keep_t]
        b = quantile_bins(h, bins)
        return torch.tensor([mutual_information(b[:, j], c, bias) for j in range(h.shape[1])], dtype=torch.float64)

    out = {}
    for g in unit_groups(model.cfg):
        dec = [m for m in g.members if not m.startswith("src_")]
        if dec:
            out[g.name] = sum(decoder_mi(m) for m in dec).float()
        elif encoder == "zero":
            out[g.name] = torch.zeros(g.size)
        else:
            h = acts[g.members[0]]
            if len(h) > max_tokens:
                h = h[torch.randperm(len(h), generator=gen)[:max_tokens]]
            out[g.name] = _redundancy(h).float()
    return out


SPECS = (
    ScoreSpec(
        "xinghu-mi",
        xinghu_unit,
        kind="unit",
        n_batches=16,
        reconstructed=True,
        cost="one forward per minibatch (activations), then a histogram per unit",
        paper=Paper("Xing & Hu 2009", "mutual information between a unit's activation and the next target word"),
        label="Xing & Hu (MI)",
        site_label="Units · Xing & Hu MI",
        symbol="Î(hⱼ; y)",
        text="Relevance by mutual information (Xing & Hu 2009): how much a unit's binned activation tells about the next "
        "target word (the 100 most frequent words plus 'other'), estimated with the Miller-Madow correction; the "
        "least informative units go first.",
        formula=r"\mathrm{score}(j) = \hat{I}(h_j; y) = \sum_{b,c} \hat{p}(b,c) \log \frac{\hat{p}(b,c)}{\hat{p}(b) "
        r"\hat{p}(c)}",
        how="Mutual information between the unit's activation (16 equal-count bins) and the reference next token, over the "
        "decoder positions of 16 training minibatches; a tied layer is scored by its decoder side.",
    ),
)
