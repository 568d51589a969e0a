"""Wanda (Sun et al. 2023): a weight's magnitude times the norm of the input it multiplies.

S_ij = |W_ij| · ‖X_j‖₂, where X_j is input feature j of the matrix over the calibration tokens: a
small weight on a large input can matter more than a larger weight on an input that is nearly always
small. The inputs come from one teacher-forced pass of the model's own trace
(:meth:`nmtprune.models.Seq2Seq.trace`, eval mode) over the scoring batches, so every LSTM matrix
is weighed by what it really multiplies: decoder layer 1's input matrix by [embedding; input feed],
each recurrent matrix by h_{t-1}, the softmax layer by the attentional state.

Embeddings take one-hot inputs, so ‖X_j‖₂ of a token is the square root of its count in the
calibration data: a token that never occurs would score 0 in every dimension and go first. With two
calibration batches of the reference model that is 5,548 of 5,895 source and 7,532 of 7,880 target
rows, 31 % of all weights, so Wanda takes the same absent-row policy as the other data-driven scores
(``absent_rows``, default ``"magnitude"``: an unseen row is ranked as present rows of equal magnitude
typically are; ``"zero"`` keeps the raw scores for the ablation). No weight is updated: Wanda only scores. The paper compares scores within each output row; under the project's
selections the same scores are compared per class or over all classes.
"""

from __future__ import annotations

import torch

from ...models.trace import ColumnSquares, trace_batches
from ...sparse.targets import prunable
from ..obs import wanda_scores
from ._data import check_options, fill_absent_rows
from ..spec import Paper, ScoreSpec

__all__ = ["wanda_importance", "SPECS"]

_EMBEDDINGS = ("src_emb.weight", "tgt_emb.weight")


def wanda_importance(model, batches=None, absent_rows: str = "magnitude", **_) -> dict[str, torch.Tensor]:
    """{param_name: |W| · ‖X_col‖₂ shaped like the parameter} for every prunable matrix.

    ``batches``: calibration minibatches (``src``, ``src_len``, ``tgt_in``, ``tgt_out``); at least one.
    ``absent_rows``: the policy for embedding rows of tokens the batches never contain (:mod:`._data`).
    """
    if not batches:
        raise ValueError("wanda needs calibration batches (n_batches > 0)")
    check_options(absent_rows)
    sums = ColumnSquares(model)
    trace_batches(model, batches, sums, params=[name for _, name, _ in prunable(model)])
    scores = {
        name: wanda_scores(p.detach(), sums.stats[name], embedding=name in _EMBEDDINGS)
        for _, name, p in prunable(model)
    }
    return fill_absent_rows(scores, model, batches, absent_rows)


SPECS = (
    ScoreSpec(
        "wanda",
        wanda_importance,
        n_batches=2,
        cost="one forward pass per calibration batch, no gradients",
        paper=Paper(
            "Wanda (Sun et al. 2023)",
            "|w| · ‖input‖₂ per weight, no update",
            "LLaMA-7B at 50 %, no retraining: perplexity 7.26 (SparseGPT 7.22, magnitude 17.3, dense 5.68)",
        ),
        label="Wanda",
        site_label="Wanda",
        symbol="|w|·‖x‖",
        text="Wanda (Sun et al. 2023): each weight's magnitude times the size of the input it multiplies over a few "
        "calibration sentences, so a weight on a strong input is kept even when it is small.",
        formula=r"\mathrm{score}(w_{ij}) = |w_{ij}| \cdot \lVert X_j \rVert_2",
    ),
)
