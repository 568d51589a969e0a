"""Sparse decoding on the CPU: the decoder step's weight products that are faster as CSR run as CSR.

A pruned model decodes at dense speed when its zeros are multiplied like any other weight. Whether
skipping them pays depends on the matrix's shape, its sparsity, the number of rows multiplied at once
(1 for greedy decoding of one sentence, beam x batch in ``translate_data``) and the CPU: on the
reference model's matrices the measured break-even lies between 50 and 95 % (``benchmarks/
sparse_breakeven.py``, BENCHMARKS.md). So the choice is measured, per matrix, on the machine that
decodes: :func:`sparse_model` times each weight product of the decoder step dense and as CSR at each
row count decoding uses (random rows, alternating calls, median of each), and each call then runs
CSR where it was faster by a margin at its row count (:class:`Switch`). Matrices below
``min_sparsity`` are not timed and stay dense.

The step's arithmetic is :class:`~.explicit_step.ExplicitStep`'s (the model's own, written out), so
only the products change; CSR sums in a different order than the dense kernel, so log-probabilities
agree with the fp32 model to rounding, not bit for bit. The encoder runs once per sentence and
stays the model's fused fp32 LSTM. Perplexity is computed through the same step (teacher forced).
"""

from __future__ import annotations

import copy
import statistics
import time
import warnings

import torch
from torch import nn

from ..models.seq2seq import Encoded, Seq2Seq
from .explicit_step import ExplicitStep, MatMulLinear, StepDecoding

__all__ = ["CsrLinear", "Switch", "SparseSeq2Seq", "sparse_model", "describe_plan", "MODES", "ROWS"]

MODES = ("auto", "all", "none")  # time each matrix / CSR for every matrix / dense for every matrix
# the row counts decoding multiplies: one sentence greedy or in a beam of 5, a batch of 64 sentences
# greedy or in beams of 5 (``translate_data``'s batches)
ROWS = (1, 5, 64, 320)


class CsrLinear(nn.Module):
    """x @ W^T + b with W (out, in) stored in CSR: (..., in) -> (..., out); work grows with W's nonzeros."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.out_features, self.in_features = weight.shape
        with warnings.catch_warnings():  # PyTorch calls its CSR layout beta; the products used here are stable
            warnings.simplefilter("ignore", UserWarning)
            self.weight = weight.detach().float().to_sparse_csr()
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)  # (N, in)
        y = (self.weight @ flat.t()).t()  # (N, out): CSR (out, in) times dense (in, N)
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)


def _median_ms(fn, x: torch.Tensor, other, repeats: int) -> tuple[float, float]:
    """Median ms of fn(x) and other(x), called alternately ``repeats`` times after one warm-up each."""
    a, b = [], []
    fn(x), other(x)
    for _ in range(repeats):
        for f, out in ((fn, a), (other, b)):
            t = time.perf_counter()
            f(x)
            out.append((time.perf_counter() - t) * 1e3)
    return statistics.median(a), statistics.median(b)


class Switch(nn.Module):
    """One weight product, dense or CSR by the number of rows of the call.

    ``table``: ``[(rows, use_csr)]`` ascending in rows; a call with N rows follows the entry of the
    largest measured row count <= N (the smallest entry below every measured count).
    """

    def __init__(self, dense: nn.Module | None, csr: nn.Module | None, table: list[tuple[int, bool]]):
        super().__init__()
        self.dense, self.csr, self.table = dense, csr, table

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.numel() // x.shape[-1]
        use_csr = self.table[0][1]
        for rows, choice in self.table:
            if rows <= n:
                use_csr = choice
        return self.csr(x) if use_csr else self.dense(x)


class _Chooser:
    """The ``linear`` factory of :class:`ExplicitStep`: per matrix and row count, dense or CSR (``plan``)."""

    def __init__(self, mode: str, rows: tuple[int, ...], min_sparsity: float, margin: float, repeats: int, names):
        self.mode, self.rows, self.min_sparsity, self.margin, self.repeats = mode, rows, min_sparsity, margin, repeats
        self.names = iter(names)
        self.plan: list[dict] = []

    @torch.no_grad()
    def __call__(self, weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Module:
        sparsity = float((weight == 0).sum()) / weight.numel()
        row = {"matrix": next(self.names), "shape": list(weight.shape), "sparsity": round(sparsity, 4), "rows": []}
        dense, csr = MatMulLinear(weight, bias), CsrLinear(weight, bias)
        table = []
        for n in self.rows:
            if self.mode == "auto" and sparsity >= self.min_sparsity:
                x = torch.randn(n, weight.shape[1], generator=torch.Generator().manual_seed(n))
                dense_ms, csr_ms = _median_ms(dense, x, csr, self.repeats)
                use_csr = csr_ms < self.margin * dense_ms
                row["rows"].append(
                    {"rows": n, "dense_ms": round(dense_ms, 4), "csr_ms": round(csr_ms, 4), "csr": use_csr}
                )
            else:
                use_csr = self.mode == "all"
                row["rows"].append({"rows": n, "csr": use_csr})
            table.append((n, use_csr))
        self.plan.append(row)
        used = {c for _, c in table}
        return Switch(dense if False in used else None, csr if True in used else None, table)


class SparseSeq2Seq(StepDecoding, nn.Module):
    """A Seq2Seq's inference interface whose decoder-step products are dense or CSR per matrix.

    Built by :func:`sparse_model`; ``plan`` lists each matrix with its sparsity, timings and choice.
    """

    def __init__(self, model: Seq2Seq, chooser: _Chooser):
        super().__init__()
        self.model = model
        self.cfg = model.cfg
        self.step = ExplicitStep(model, chooser)
        self.plan = chooser.plan

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> Encoded:
        """src: (B, S) ids, PAD-padded; src_len: (B,). The model's own fp32 encoder."""
        return self.model.encode(src, src_len)


def sparse_model(
    model: Seq2Seq,
    mode: str = "auto",
    rows: tuple[int, ...] = ROWS,
    min_sparsity: float = 0.5,
    margin: float = 0.9,
    repeats: int = 7,
) -> SparseSeq2Seq:
    """The decoder of a trained model with each step product dense or CSR, on the CPU, in eval mode.

    Args:
        mode: ``auto`` times each matrix at or above ``min_sparsity`` and keeps CSR where its median is
            below ``margin`` x dense; ``all`` / ``none`` force CSR / dense everywhere (for tests and
            benchmarks).
        rows: the row counts timed (rows multiplied at once: beam x sentences still decoding); a call
            follows the choice of the largest timed count not above its own.
        repeats: timed calls per product and kind.
    """
    if mode not in MODES:
        raise ValueError(f"sparse mode must be one of {list(MODES)}, got {mode!r}")
    rows = tuple(sorted(set(rows)))
    if not rows or rows[0] < 1:
        raise ValueError(f"rows must be row counts >= 1, got {rows!r}")
    if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in model.parameters()):
        model = copy.deepcopy(model).cpu().float()  # the caller's model stays where it is
    names = [f"decoder layer {k + 1} [W_ih W_hh]" for k in range(model.cfg.dec_layers)] + ["attention W_c", "softmax"]
    chooser = _Chooser(mode, rows, min_sparsity, margin, repeats, names)
    return SparseSeq2Seq(model.eval(), chooser).eval()


def describe_plan(plan: list[dict]) -> list[str]:
    """One line per matrix: its zeros and the row counts at which it runs as CSR (a model's ``plan``)."""
    out = []
    for m in plan:
        csr = [str(r["rows"]) for r in m["rows"] if r["csr"]]
        where = f"CSR at {', '.join(csr)} rows" if csr else "dense"
        out.append(f"{m['matrix']} {tuple(m['shape'])}, {m['sparsity']:.1%} zeros: {where}")
    return out
