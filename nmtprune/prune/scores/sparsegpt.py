"""SparseGPT (Frantar & Alistarh 2023): prune each matrix to reconstruct its outputs, updating the survivors.

A method, not only a score: with ``reconstruct`` set, the CLI and the sweep call
:func:`nmtprune.prune.reconstruct.sparsegpt_model`, which goes through the model layer by layer in
the order the data flows, fits each matrix to the calibration inputs it sees after the layers
before it were pruned, and pushes every pruned weight's error onto the weights still free in its
row through the inverse-Hessian chain (H = XᵀX + λI). How many weights each matrix loses follows
the selection (see that module).

As a plain score (the site, gradual pruning, anything that only ranks weights), the spec's function
gives each weight's OBS cost if it alone were removed with every other weight of its row free to
compensate: w_ij² / [H⁻¹]_jj with the damped Gram of the matrix's input (for an LSTM layer the joint
Gram of [x_t; h_{t-1}]), and (count_v + λ) · w² for an embedding, whose H is diagonal. Ranking by
it is OBS's first step, without the updates. An embedding row of a token the calibration batches
never contain would cost only λ · w² and go first; like every data-driven score, SparseGPT ranks
such rows by the absent-row policy (``absent_rows``, default ``"magnitude"``: the median count of
the rows that were seen).

Data: calibration batches of the training split (``n_batches``); cost: one traced forward pass per
weight class plus a Cholesky factorisation and O(rows · cols²) updates per matrix.
"""

from __future__ import annotations

import torch

from ...models.trace import trace_batches
from ...sparse.targets import class_groups
from ..obs import JointGram, embedding_saliency
from ..reconstruct import sparsegpt_model
from ..sparsegpt import damped_hessian
from ..spec import Paper, ScoreSpec

__all__ = ["obs_cost", "SPECS"]

_EMBEDDINGS = ("src_emb", "tgt_emb")


def obs_cost(model, batches=None, damp: float = 0.01, absent_rows: str = "magnitude", **_) -> dict[str, torch.Tensor]:
    """{param_name: w² / [H⁻¹]_jj shaped like the parameter}, on the model as it is (no update)."""
    if not batches:
        raise ValueError("sparsegpt needs calibration batches (n_batches > 0)")
    joint = JointGram(model)  # LSTM layers jointly; the others' Gram (an embedding's: its token counts)
    trace_batches(model, batches, joint)
    grams = {**joint.finish(), **joint.other.stats}
    out = {}
    for cname, group in class_groups(model):
        if cname in _EMBEDDINGS:
            ((name, p),) = group
            out[name] = embedding_saliency(p, grams[name], damp=damp, absent_rows=absent_rows).to(p.dtype)
            continue
        if cname in joint.params:  # one linear map on [x_t; h_{t-1}]
            parts = [(torch.cat([p.detach().double() for _, p in group], dim=1), grams[cname], group)]
        else:
            parts = [(p.detach().double(), grams[n], [(n, p)]) for n, p in group]
        for W, H, members in parts:
            Hd, _ = damped_hessian(H, damp)
            d = torch.linalg.inv(Hd).diagonal()  # (cols,) [H⁻¹]_jj
            cost = W.pow(2) / d[None, :]
            for (name, p), c in zip(members, cost.split([q.shape[1] for _, q in members], dim=1)):
                out[name] = c.to(p.dtype).contiguous()
    return out


def _reconstruct(
    model, batches, sparsity, selection, *, classes=None, damp=0.01, block_size=128, absent_rows="magnitude", **_
):
    return sparsegpt_model(
        model,
        batches,
        sparsity,
        selection,
        classes=classes,
        damp=damp,
        block_size=block_size,
        absent_rows=absent_rows,
    )


def _mask_only(model, batches, sparsity, selection, **kw):
    """SparseGPT's masks on the dense weights: the control that tells the mask's share from the update's.

    The masks are the ones :func:`_reconstruct` chooses (each block's choice already sees the updates of
    the blocks before it, so they are exactly SparseGPT's), but every surviving weight keeps its trained
    value instead of the updated one.
    """
    dense = {n: p.detach().clone() for n, p in model.named_parameters()}
    masks = _reconstruct(model, batches, sparsity, selection, **kw)
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(dense[n])
    masks.apply(model)
    masks.info["reconstruction"]["weights"] = "dense (mask only, no update)"
    return masks


_SPARSEGPT = ScoreSpec(
    "sparsegpt",
    obs_cost,
    n_batches=4,
    options={"damp": 0.01, "block_size": 128},
    reconstruct=_reconstruct,
    cost="one traced forward pass per weight class on the calibration batches, a Cholesky factorisation and "
    "O(rows · cols²) weight updates per matrix",
    paper=Paper(
        "SparseGPT (Frantar & Alistarh 2023)",
        "OBS per matrix: prune column by column, push each pruned weight's output error onto the free "
        "weights through the inverse-Hessian chain",
        "OPT-175B at 50 %, no retraining: perplexity 8.21 (dense 8.35; magnitude collapses)",
    ),
    label="SparseGPT",
    site_label="SparseGPT",
    symbol="w²/[H⁻¹]ᵢᵢ",
    text="SparseGPT (Frantar & Alistarh 2023): each matrix is pruned to keep its outputs on a few calibration "
    "sentences, and the weights that stay move to make up for the ones removed.",
    formula=r"\mathrm{score}(w_{ij}) = \frac{w_{ij}^2}{[H^{-1}]_{jj}},\quad H = X^\top X + \lambda I",
)

SPECS = (
    _SPARSEGPT,
    # the control beside SparseGPT's curve: the same masks with the trained weights, no update
    _SPARSEGPT.variant(
        "sparsegpt-mask",
        reconstruct=_mask_only,
        control_of="sparsegpt",
        label="SparseGPT mask, no update",
        text="SparseGPT's mask with the trained weights left as they were: what the mask alone keeps, without "
        "the weight updates.",
    ),
)
