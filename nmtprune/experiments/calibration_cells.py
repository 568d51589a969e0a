"""The runner of ``calibration`` cells: one-shot pruning with chosen calibration data and settings, timed.

The clock covers the pruning step alone: scoring, selection and any weight update (SparseGPT's
layer-by-layer reconstruction, which traces the calibration batches once per weight class). Loading the
training split and cutting the batches come before it, the BLEU and perplexity evaluation after it. The
cell also records the machine, its vector ISA, the threads and the load average when the clock started
(the lanes share the cores), and the target tokens of one training epoch, so the report can express the
time in training epochs from a throughput measured on the same kind of machine.
"""

from __future__ import annotations

import os
import time

import torch

from ..prune import get_score, get_selection, run_score
from ..prune.scores import SCORING_BATCH_SIZE, absent_row_counts, first_sentences
from ..provenance import machine
from .context import Context
from .grid import Cell
from .measure import evaluate

__all__ = ["run_calibration", "full_block"]


def full_block(model) -> int:
    """A block size at least as wide as any matrix SparseGPT solves (an LSTM layer's [W_ih W_hh] included):
    the sum of every matrix's input width, so the mask of each matrix is chosen in one block."""
    return sum(int(p.shape[1]) for p in model.parameters() if p.dim() == 2)


def run_calibration(ctx: Context, cell: Cell) -> dict:
    """Prune the dense model with the cell's score, calibration sentences and options; evaluate it."""
    p = cell.params
    spec, selection = get_score(p["score"]), get_selection(p["scheme"])
    n = p["sentences"]
    batches = first_sentences(ctx.scoring_batches(p["seed"], -(-n // SCORING_BATCH_SIZE)), n)
    epoch_tokens = sum(len(t) + 1 for t in ctx.train_split().tgt)  # target tokens with </s>, as training counts
    model = ctx.dense()
    options = dict(p["options"])
    if options.get("block_size") == 0:
        options["block_size"] = full_block(model)
    load = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    t0 = time.perf_counter()
    if spec.reconstruct is not None:  # prunes and updates the weights in place, layer by layer
        masks = spec.reconstruct(
            model, batches, p["sparsity"], selection, seed=p["seed"], **{**spec.options, **options}
        )
    else:
        scores = run_score(spec, model, batches, seed=p["seed"], **options)
        masks = selection(scores, model, p["sparsity"])
        del scores
    masks.apply(model)
    seconds = time.perf_counter() - t0
    info = machine()
    out = evaluate(ctx, model)
    out["masks"] = {"stats": masks.stats(model), "info": masks.info}
    out["calibration"] = {
        "sentences": sum(int(b.src.shape[0]) for b in batches),
        "batches": len(batches),
        "source_tokens": sum(int(b.src_len.sum()) for b in batches),
        "target_tokens": sum(b.n_tokens for b in batches),
        "options": options,
        "absent_rows": absent_row_counts(ctx.dense(), batches),
    }
    out["prune_timing"] = {
        "seconds": round(seconds, 3),
        "threads": torch.get_num_threads(),
        "cpu": info.get("cpu"),
        "cores": info.get("cores"),
        "cpu_flags": info.get("cpu_flags"),
        "cpu_capability": info.get("cpu_capability"),
        "gpu": info.get("gpu"),
        "loadavg_at_start": load,
        "epoch_target_tokens": epoch_tokens,
    }
    return out
