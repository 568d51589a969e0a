"""Autograd machinery shared by the data-driven scores (OBD, SNIP, GraSP, Taylor): objective, scoring mode, gradients.

Objective: E = (1/N) Σ_t ℓ_t, the mean token cross-entropy over all N non-padding target tokens of
the scoring batches (teacher forcing, dropout off). Every quantity below is a sum over batches
divided by N at the end, so batches of any size and number combine exactly. Results are float32
tensors shaped like each parameter, whatever the parameter's dtype (squared gradients underflow in
bf16/fp16). Second derivatives (Hessian-vector products, exact diagonals) are in :mod:`._hessian`.

Costs, in units of one forward+backward pass over the scoring batches ("a pass"):

* :func:`mean_gradient`: 1 pass.
* :func:`fisher_diagonal` ``true``: 1 pass per Monte-Carlo sample; ``empirical``: 1 forward+backward
  per micro-batch (one sentence by default): ~10x a pass per batch of 64 on the reference model
  (4.1 vs 0.43 s on 2 idle CPU threads; benchmarks/bench_scores.py --only cost).

Double backward and fused LSTM kernels: cuDNN's RNN kernel has no double backward, so a score that
differentiates twice cannot go through it. :func:`scoring_mode` with ``double_backward=True`` runs the
forward under ``torch.backends.cudnn.flags(enabled=False)``: ``nn.LSTM`` then takes PyTorch's native
path, whose cell backward on CUDA is ``_thnn_differentiable_lstm_cell_backward`` whenever a graph is
being built (not yet run on a GPU). On the CPU the encoder runs on packed sequences,
which PyTorch never hands to oneDNN, and the decoder's ``torch._VF.lstm_cell`` is plain
differentiable ops; the tests check both twice-differentiable (gradgradcheck, HVPs).
First-order scores need the switch on CUDA as well: they score in eval mode (no dropout), and
cuDNN's RNN refuses a backward outside training mode (pytorch #5878), so :func:`scoring_mode` turns
cuDNN off for every score of a CUDA model; scoring costs a little more there, and nothing on the CPU.
A caller that forbids that switch (``nonfused=False``) on a cuDNN model gets a
:class:`DoubleBackwardError` before any work, and any other "no double backward" failure from
autograd is re-raised as one, with the fix in the message.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...data.vocab import PAD
from ...sparse.targets import prunable

__all__ = [
    "Objective",
    "DoubleBackwardError",
    "seq2seq_objective",
    "prunable_params",
    "weights",
    "scoring_mode",
    "require_batches",
    "token_loss",
    "token_count",
    "zeros_like_params",
    "param_grads",
    "mean_gradient",
    "fisher_diagonal",
]

Params = Mapping[str, torch.Tensor]  # {param_name: parameter}; the weights being scored
Vectors = dict[str, torch.Tensor]  # {param_name: float32 tensor shaped like the parameter}


class DoubleBackwardError(RuntimeError):
    """A score needs Hessian-vector products but the model runs a kernel with no double backward."""


@dataclass(frozen=True)
class Objective:
    """How to get token logits out of a batch; the scores never look inside a batch otherwise.

    Attributes:
        logits: batch -> (logits (N_b, V), targets (N_b,)) for the N_b non-padding target tokens.
        split: (batch, k) -> sub-batches of at most k examples (sentences); per-example gradients.
        count: batch -> N_b, its number of non-padding target tokens.
    """

    logits: Callable[[Any], tuple[torch.Tensor, torch.Tensor]]
    split: Callable[[Any, int], list[Any]]
    count: Callable[[Any], int]


def seq2seq_objective(model: nn.Module) -> Objective:
    """The Objective of a Seq2Seq on :class:`nmtprune.data.batching.Batch` es (moved to its device)."""
    device = next(model.parameters()).device

    def logits(batch):
        b = batch.to(device)
        out = model(b.src, b.src_len, b.tgt_in)  # (B, T, V)
        keep = b.tgt_out.reshape(-1) != PAD
        return out.reshape(-1, out.shape[-1])[keep], b.tgt_out.reshape(-1)[keep]  # (N_b, V), (N_b,)

    def split(batch, k):
        parts = []
        for i in range(0, batch.src.shape[0], k):
            rows = slice(i, i + k)
            s_len = int(batch.src_len[rows].max())
            t_len = int((batch.tgt_out[rows] != PAD).sum(1).max())  # trim padding to the sub-batch
            parts.append(
                type(batch)(
                    batch.src[rows, :s_len],
                    batch.src_len[rows],
                    batch.tgt_in[rows, :t_len],
                    batch.tgt_out[rows, :t_len],
                    batch.index[rows],
                )
            )
        return parts

    return Objective(logits, split, lambda batch: batch.n_tokens)


def prunable_params(model: nn.Module) -> dict[str, nn.Parameter]:
    """{param_name: parameter} of every weight-class parameter, in canonical order (what is scored)."""
    return {name: p for _, name, p in prunable(model)}


def weights(params: Params) -> Vectors:
    """The parameters' values as float32 tensors (detached)."""
    return {k: p.detach().float() for k, p in params.items()}


def require_batches(batches: Optional[Sequence], score: str) -> Sequence:
    if batches is None or len(batches) == 0:
        raise ValueError(
            f"score {score!r} is data-driven and needs scoring batches (batches=[...]): "
            "`nmtprune prune` and the sweep build them from the training split "
            "(nmtprune.prune.scores.scoring_batches)"
        )
    return batches


def _on_cudnn(params: Params) -> bool:
    return any(p.is_cuda for p in params.values()) and torch.backends.cudnn.enabled


@contextlib.contextmanager
def scoring_mode(
    model: nn.Module, params: Params, double_backward: bool = False, nonfused: bool = True
) -> Iterator[None]:
    """Eval mode (no dropout) and, for double backward or on a CUDA model, the non-fused RNN path
    (cuDNN off): cuDNN's LSTM supports no double backward (pytorch #5261), and it refuses any backward in
    eval mode ("cudnn RNN backward can only be called in training mode", pytorch #5878).

    Args:
        double_backward: the caller will differentiate gradients (HVPs).
        nonfused: allow switching cuDNN off for that; False on a cuDNN model is an error.
    Raises:
        DoubleBackwardError: ``double_backward`` on a CUDA model with cuDNN on and ``nonfused=False``.
    """
    if double_backward and not nonfused and _on_cudnn(params):
        raise DoubleBackwardError(
            "this estimator needs Hessian-vector products (double backward), which cuDNN's LSTM kernel "
            "does not support (pytorch #5261); pass nonfused=True (the default) to run the scoring "
            "forward with cuDNN off, or use a first-order score (obd with the Fisher, snip, taylor)"
        )
    was_training = model.training
    model.eval()
    ctx = contextlib.ExitStack()
    if double_backward or _on_cudnn(params):
        ctx.enter_context(torch.backends.cudnn.flags(enabled=False))
    try:
        with ctx:
            yield
    finally:
        model.train(was_training)


def token_loss(obj: Objective, batch, temperature: float = 1.0, targets: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Summed token cross-entropy of one batch (float32), logits divided by ``temperature``.

    ``targets`` (N_b,) replaces the reference tokens (the true Fisher samples them from the model).
    """
    logits, ref = obj.logits(batch)
    return F.cross_entropy(logits.float() / temperature, ref if targets is None else targets, reduction="sum")


def token_count(obj: Objective, batches: Sequence) -> int:
    """N: the non-padding target tokens of all batches (what every sum is divided by)."""
    n = sum(obj.count(b) for b in batches)
    if n == 0:
        raise ValueError("the scoring batches hold no target tokens")
    return n


def zeros_like_params(params: Params) -> Vectors:
    """One float32 zero accumulator per parameter, shaped like it."""
    return {k: torch.zeros(p.shape, dtype=torch.float32, device=p.device) for k, p in params.items()}


def param_grads(
    out: torch.Tensor,
    params: Params,
    create_graph: bool = False,
    retain_graph: Optional[bool] = None,
    grad_outputs=None,
) -> list[torch.Tensor]:
    """d out / d params; a parameter ``out`` does not depend on gets zeros (not None)."""
    ps = list(params.values())
    gs = torch.autograd.grad(
        out, ps, grad_outputs=grad_outputs, create_graph=create_graph, retain_graph=retain_graph, allow_unused=True
    )
    return [torch.zeros_like(p) if g is None else g for p, g in zip(ps, gs)]


def mean_gradient(obj: Objective, params: Params, batches: Sequence, temperature: float = 1.0) -> Vectors:
    """∇E over all batches (one pass). Accumulating g before any |·| equals one big batch."""
    acc = zeros_like_params(params)
    for b in batches:
        loss = token_loss(obj, b, temperature)
        for a, g in zip(acc.values(), param_grads(loss, params)):
            a.add_(g.float())
    n = token_count(obj, batches)
    return {k: v / n for k, v in acc.items()}


def fisher_diagonal(
    obj: Objective,
    params: Params,
    batches: Sequence,
    kind: str = "true",
    seed: int = 0,
    samples: int = 1,
    micro_batch: Optional[int] = 1,
) -> Vectors:
    """Diagonal of the Fisher of E: (1/N) Σ over examples of squared gradients.

    Args:
        kind: ``true``: targets sampled from the model's own softmax, y_t ~ p(·|prefix, x). Inputs are
            teacher-forced, so the tokens' sampled gradients are independent with mean zero
            (E_y ∇log p(y) = 0) and the square of a whole batch's summed gradient is an unbiased
            estimate of Σ_t diag F_t, i.e. of the Gauss-Newton diagonal: per-token cost is one
            minibatch backward per sample. ``empirical``: the reference targets; no such shortcut
            (the cross terms do not vanish), so per-example gradients are squared: an "example" is
            a micro-batch of ``micro_batch`` sentences (1 = exact per-sentence; None = the whole
            batch, the cheap biased approximation).
        samples: true Fisher only: Monte-Carlo samples per batch (one forward, a backward each).
        seed: seeds the CPU generator of the sampled targets (identical on every device).
    Returns:
        {name: (shape of param) float32}, non-negative.
    """
    if kind not in ("true", "empirical"):
        raise ValueError(f"Fisher kind must be 'true' or 'empirical', got {kind!r}")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    acc = zeros_like_params(params)
    gen = torch.Generator().manual_seed(seed)
    for b in batches:
        if kind == "true":
            logits, _ = obj.logits(b)
            probs = torch.softmax(logits.detach().float(), dim=-1).cpu()  # (N_b, V)
            for s in range(samples):
                y = torch.multinomial(probs, 1, generator=gen).squeeze(1).to(logits.device)  # (N_b,)
                loss = F.cross_entropy(logits.float(), y, reduction="sum")
                for a, g in zip(acc.values(), param_grads(loss, params, retain_graph=s + 1 < samples)):
                    a.add_(g.float().square())
        else:
            for part in [b] if micro_batch is None else obj.split(b, micro_batch):
                for a, g in zip(acc.values(), param_grads(token_loss(obj, part), params)):
                    a.add_(g.float().square())
    n = token_count(obj, batches) * (samples if kind == "true" else 1)
    return {k: v / n for k, v in acc.items()}
