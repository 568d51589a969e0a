"""Second derivatives for the curvature scores (OBD, Taylor, GraSP): Hessian-vector products and diagonals.

The objective E and its conventions (sums over batches divided by N, float32 results shaped like each
parameter) are those of :mod:`._autograd`. :func:`hvp`, :func:`hutchinson_diagonal` and
:func:`exact_hessian_diagonal` differentiate twice, so they run inside :func:`~._autograd.scoring_mode`
with ``double_backward=True``; an op with no double backward is reported as a
:class:`~._autograd.DoubleBackwardError` with the fix in the message. :func:`exact_gn_diagonal` needs first
derivatives only: it stands here as the exact curvature reference beside the Hessian's.

Costs, in units of one forward+backward pass over the scoring batches ("a pass"):

* :func:`hvp` / :func:`hutchinson_diagonal`: a backward with ``create_graph`` plus one double
  backward per vector / probe: on the reference model (CPU, 2 threads) about 3x a pass for one
  vector and 5.8x for two probes (2.5 vs 0.43 s; benchmarks/bench_scores.py --only cost).
* :func:`exact_hessian_diagonal`: one double backward per weight; :func:`exact_gn_diagonal`: one
  backward per (token, vocabulary entry). Tiny models only; both refuse more than ``max_weights``.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Mapping, Sequence

import torch

from ._autograd import (
    DoubleBackwardError,
    Objective,
    Params,
    Vectors,
    param_grads,
    token_count,
    token_loss,
    zeros_like_params,
)

__all__ = ["hvp", "hutchinson_diagonal", "exact_hessian_diagonal", "exact_gn_diagonal"]


@contextlib.contextmanager
def _explain_double_backward() -> Iterator[None]:
    try:
        yield
    except RuntimeError as e:
        msg = str(e)
        if (
            "double backward" in msg.lower()
            or "backwards is not supported" in msg
            or "differentiate twice" in msg
            or ("derivative for" in msg and "not implemented" in msg)
        ):
            raise DoubleBackwardError(
                f"a Hessian-vector product failed because an op has no double backward ({msg.splitlines()[0]}). "
                "Fused RNN kernels (cuDNN) cannot be differentiated twice: score with nonfused=True "
                "(cuDNN off), on the CPU, or with a first-order score"
            ) from e
        raise


def hvp(
    obj: Objective,
    params: Params,
    batches: Sequence,
    vectors: Sequence[Mapping[str, torch.Tensor]],
    temperature: float = 1.0,
    with_gradient: bool = False,
):
    """H v for each v in ``vectors`` (H = ∇²E over all batches): one create_graph backward per batch,
    then one double backward per vector. Needs :func:`~._autograd.scoring_mode` with ``double_backward=True``.

    Returns:
        [Hv, ...] as {name: float32 tensor}; with ``with_gradient``, (∇E, [Hv, ...]) from the same pass.
    """
    outs = [zeros_like_params(params) for _ in vectors]
    grad = zeros_like_params(params)
    with _explain_double_backward():
        for b in batches:
            g = param_grads(token_loss(obj, b, temperature), params, create_graph=True)
            for a, gi in zip(grad.values(), g):
                a.add_(gi.detach().float())
            for j, v in enumerate(vectors):
                dot = sum((gi * v[k].to(gi.dtype)).sum() for gi, k in zip(g, params))
                for o, h in zip(outs[j].values(), param_grads(dot, params, retain_graph=j + 1 < len(vectors))):
                    o.add_(h.float())
    n = token_count(obj, batches)
    outs = [{k: v / n for k, v in o.items()} for o in outs]
    return ({k: v / n for k, v in grad.items()}, outs) if with_gradient else outs


def hutchinson_diagonal(
    obj: Objective, params: Params, batches: Sequence, probes: int = 1, seed: int = 0, probe_batch: int = 1
) -> Vectors:
    """diag(H) ≈ z ⊙ (H_b z) with Rademacher z, ``probes`` fresh z per batch, summed over batches / N.

    Each batch gets its own probes, so the sum is an unbiased estimate of diag ∇²E with
    len(batches) x probes probes in all; the error of one probe on weight k has variance
    Σ_{j≠k} h_kj² (tests check both the mean and this spread). Not guaranteed non-negative.

    Args:
        probe_batch: probes per double backward; > 1 runs them as one vmapped backward
            (``is_grads_batched``), which amortises the decoder loop's per-op overhead at the cost of
            probe_batch gradient-sized buffers. The probes drawn (probe-major, parameters in order,
            from a CPU generator seeded with ``seed``) do not depend on it.
    """
    if probes < 1 or probe_batch < 1:
        raise ValueError(f"probes and probe_batch must be >= 1, got {probes}, {probe_batch}")
    gen = torch.Generator().manual_seed(seed)  # CPU generator: same probes on every device
    acc = zeros_like_params(params)
    with _explain_double_backward():
        for b in batches:
            g = param_grads(token_loss(obj, b), params, create_graph=True)
            live = [i for i, gi in enumerate(g) if gi.requires_grad]  # others have zero curvature
            for start in range(0, probes, probe_batch):
                k = min(probe_batch, probes - start)
                draws = [[torch.randint(0, 2, p.shape, generator=gen) for p in params.values()] for _ in range(k)]
                z = [
                    (torch.stack([d[i] for d in draws]) * 2 - 1).to(p.device, torch.float32)
                    for i, p in enumerate(params.values())
                ]  # per param (k, *shape)
                hz = torch.autograd.grad(
                    [g[i] for i in live],
                    [list(params.values())[i] for i in live],
                    grad_outputs=[z[i].to(g[i].dtype) if k > 1 else z[i][0].to(g[i].dtype) for i in live],
                    retain_graph=start + k < probes,
                    allow_unused=True,
                    is_grads_batched=k > 1,
                )
                accs = list(acc.values())
                for i, h in zip(live, hz):
                    if h is not None:
                        accs[i].add_((z[i] * h.float().reshape(z[i].shape)).sum(0))
    n = token_count(obj, batches) * probes
    return {k: v / n for k, v in acc.items()}


def _check_tiny(params: Params, max_weights: int, what: str) -> None:
    n = sum(p.numel() for p in params.values())
    if n > max_weights:
        raise ValueError(
            f"the exact {what} costs one backward pass per weight; this model has {n:,} weights "
            f"(max_weights={max_weights:,}): use it on tiny models only"
        )


def exact_hessian_diagonal(obj: Objective, params: Params, batches: Sequence, max_weights: int = 20_000) -> Vectors:
    """∂²E/∂w_k² exactly, one double backward per weight (tiny models: tests, rank correlations)."""
    _check_tiny(params, max_weights, "Hessian diagonal")
    acc = zeros_like_params(params)
    with _explain_double_backward():
        for b in batches:
            g = param_grads(token_loss(obj, b), params, create_graph=True)
            for (k, p), gk in zip(params.items(), g):
                if not gk.requires_grad:
                    continue  # the gradient does not depend on the weights: zero curvature
                flat, out = gk.reshape(-1), acc[k].view(-1)
                for i in range(flat.numel()):
                    (h,) = torch.autograd.grad(flat[i], p, retain_graph=True, allow_unused=True)
                    if h is not None:
                        out[i] += float(h.reshape(-1)[i])
    n = token_count(obj, batches)
    return {k: v / n for k, v in acc.items()}


def exact_gn_diagonal(obj: Objective, params: Params, batches: Sequence, max_weights: int = 20_000) -> Vectors:
    """Exact Gauss-Newton (= true Fisher) diagonal: (1/N) Σ_t Σ_v p_t(v) (∇ log p_t(v))².

    One backward per (token, vocabulary entry): tiny models and vocabularies only.
    """
    _check_tiny(params, max_weights, "Gauss-Newton diagonal")
    acc = zeros_like_params(params)
    for b in batches:
        logits, _ = obj.logits(b)
        logp = torch.log_softmax(logits.float(), dim=-1)  # (N_b, V)
        p = logp.detach().exp()
        for t in range(logp.shape[0]):
            for v in range(logp.shape[1]):
                for a, g in zip(acc.values(), param_grads(logp[t, v], params, retain_graph=True)):
                    a.add_(p[t, v] * g.float().square())
    n = token_count(obj, batches)
    return {k: v / n for k, v in acc.items()}
