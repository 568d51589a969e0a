"""Frames of SparseGPT at work on one real matrix: pruned weights going to 0, the survivors taking their error.

SparseGPT (:mod:`nmtprune.prune.sparsegpt`) decides a matrix's columns left to right; each pruned
weight's error (w_j − q_j) / U_jj is pushed onto the weights still free to its right, so the surviving
weights move as the columns pass. ``nmtprune site-sparsegpt`` makes that visible on the reference model:

* the matrix: decoder layer 1's gates as one linear map [W_ih W_hh] on [x_t; h_{t-1}] (2048 × 1536 for
  the 512-unit model: embedding, input feed, previous state), the map SparseGPT itself prunes;
* its Hessian: the joint Gram XᵀX (:class:`nmtprune.prune.obs.JointGram`) of a few training batches
  traced through the dense model (:func:`nmtprune.models.trace.trace_batches`), as the sweep's
  calibration does;
* the run: the whole matrix through :func:`~nmtprune.prune.sparsegpt.sparsegpt_prune` at 80 % with
  ``scope="block"`` (the matrix loses exactly round(0.8 · rows · cols) weights, as under class-blind)
  and the sweep's damping and block size; ``on_column`` takes a frame after each shown column;
* what is kept: a crop of ``rows`` gate rows (the same number from each gate) by ``cols`` columns spread
  evenly over the input, so every frame shows weights of all three inputs.

Each frame holds the crop's weights as they would be with every update so far applied, and, for each
crop row, the output error so far of that whole row, (w − ŵ) H (w − ŵ)ᵀ = ‖Xwᵀ − Xŵᵀ‖², next to the error
of zeroing the same weights with no update (the mask alone, as magnitude pruning leaves it). The
artifact (format ``nmtprune-sparsegpt-frames``) is a small JSON file with the command, commit, seed and
machine; ``nmtprune video --method sparsegpt/class-blind`` renders it (:mod:`nmtprune.site.video_sparsegpt`).

Cost: one traced pass over the calibration batches and one SparseGPT run of the matrix (seconds to a
minute on one CPU thread).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from ..sitedata.encode import b64, q8
from .retraining import run_provenance

__all__ = ["FORMAT", "VERSION", "record_columns", "record_sparsegpt", "crop_rows", "crop_cols"]

FORMAT = "nmtprune-sparsegpt-frames"
VERSION = 1
_GATES = ("i", "f", "g", "o")  # PyTorch's order of an LSTM's gate rows


def crop_rows(n_rows: int, rows: int) -> list[int]:
    """``rows`` row indices, the same number from each of the four gate blocks, spread evenly within each."""
    per, gate = rows // 4, n_rows // 4
    return [g * gate + round(k * gate / per) for g in range(4) for k in range(per)]


def crop_cols(n_cols: int, cols: int) -> list[int]:
    """``cols`` column indices spread evenly over the whole input, the first column included."""
    return [round(k * n_cols / cols) for k in range(cols)]


def _row_errors(D: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """Per row, d H dᵀ = ‖X dᵀ‖² for D (rows, cols) of weight changes: (rows,) float64."""
    return ((D @ H) * D).sum(dim=1)


def record_columns(
    W: torch.Tensor,
    H: torch.Tensor,
    rows: Sequence[int],
    cols: Sequence[int],
    *,
    sparsity: float = 0.8,
    block_size: int = 128,
    damp: float = 0.01,
    scope: str = "block",
) -> dict:
    """Run SparseGPT on the whole of W and record the crop ``rows`` × ``cols`` after each of its columns.

    Args:
        W: (R, C) weights of the linear map; H: (C, C) its Gram XᵀX; neither modified.
        rows, cols: the crop's row and column indices (``cols`` ascending).
    Returns:
        ``{"W_new": (R, C), "keep": (R, C)}`` (the run's result, as ``sparsegpt_prune`` returns it), and
        ``"frames"``: a list, frame 0 before any column, then one after each crop column and one after the
        matrix's last column (the result), each with ``column`` (the last column done, -1 for frame 0), ``w`` ((len(rows), len(cols)) float64 weights), ``zeroed``
        (bool, pruned and done), ``err`` and ``err_mask`` ((len(rows),) float64: each crop row's output
        error with SparseGPT's updates, and with the same weights zeroed and no update).
    """
    from ...prune.sparsegpt import damped_hessian, sparsegpt_prune

    r = torch.as_tensor(list(rows))
    c = torch.as_tensor(list(cols))
    W0 = W.detach().double()
    Hd, dead = damped_hessian(H)  # the errors are measured with the undamped H; dead columns matter nowhere
    Hu = H.detach().double()
    done = torch.zeros(W.shape[1], dtype=torch.bool)
    frames = [_frame(-1, W0[r], W0[r], torch.zeros(len(r), W.shape[1], dtype=torch.bool), Hu, c)]
    wanted = set(c.tolist()) | {W.shape[1] - 1}  # the last column too: its frame is the final result

    def on_column(j: int, current, keep: torch.Tensor) -> None:
        done[j] = True
        if j in wanted:
            zeroed = (~keep[r]) & done  # (len(rows), C) pruned and already set to 0
            frames.append(_frame(j, W0[r], current(r), zeroed, Hu, c))

    W_new, keep = sparsegpt_prune(
        W, H, sparsity, block_size=block_size, damp=damp, scope=scope, dtype=torch.float64, on_column=on_column
    )
    return {"W_new": W_new, "keep": keep, "frames": frames, "dead_columns": int(dead.sum())}


def _frame(j: int, w0: torch.Tensor, w: torch.Tensor, zeroed: torch.Tensor, H: torch.Tensor, c) -> dict:
    """One frame: the crop of ``w`` (len(rows), C) and each row's error with updates and with the mask alone."""
    return {
        "column": j,
        "w": w[:, c].clone(),
        "zeroed": zeroed[:, c].clone(),
        "err": _row_errors(w0 - w, H),
        "err_mask": _row_errors(w0 * zeroed, H),  # the same weights zeroed, the others as trained
    }


def _gram(model, joint, batches, cname: str) -> tuple[torch.Tensor, int]:
    """The joint Gram of LSTM class ``cname`` over ``batches`` and the number of tokens it saw."""
    from ...models.trace import trace_batches

    trace_batches(model, batches, joint, params=[cname])
    return joint.finish()[cname], joint.tokens[cname]


def _sig(x: torch.Tensor) -> list[float]:
    return [float(f"{float(v):.4g}") for v in x]  # four significant digits: what a picture can show


def encode(rec: dict, rows: Sequence[int], cols: Sequence[int]) -> dict:
    """The artifact's frame data: the dense crop (float32); per cell the frame at which it is zeroed
    (``zeroed_at``, uint8, 255: never; a zeroed cell stays 0); each frame's change Δ = ŵ − w of the cells
    not yet zeroed, in int8 steps of one scale (``delta_scale`` / 127); and the per-row errors."""
    fr = rec["frames"]
    w0 = fr[0]["w"].numpy()
    zeroed = np.stack([f["zeroed"].numpy() for f in fr])  # (frames, rows, cols), monotone in the frame
    zeroed_at = np.where(zeroed.any(axis=0), zeroed.argmax(axis=0), 255).astype(np.uint8)
    live = [(f["w"].numpy() - w0) * ~z for f, z in zip(fr, zeroed)]
    scale = float(max(np.abs(d).max() for d in live)) or 1.0
    return {
        "rows": list(rows),
        "cols": list(cols),
        "w0": b64(w0.astype(np.float32)),
        "w0_scale": float(np.abs(w0).max()),
        "zeroed_at": b64(zeroed_at),
        "delta_scale": scale,
        "frames": [
            {
                "column": f["column"],
                "pruned": int(f["zeroed"].sum()),
                "delta": b64(q8(d, scale)),
                "err": _sig(f["err"]),
                "err_mask": _sig(f["err_mask"]),
            }
            for f, d in zip(fr, live)
        ],
    }


def record_sparsegpt(
    model_dir: str | Path,
    out: Optional[str | Path] = None,
    *,
    layer: str = "tgt_layer1",
    sparsity: float = 0.8,
    rows: int = 48,
    cols: int = 48,
    n_batches: int = 4,
    batch_size: int = 64,
    block_size: int = 128,
    damp: float = 0.01,
    seed: int = 0,
    threads: int = 1,
    argv: Optional[list[str]] = None,
    progress=print,
) -> dict:
    """Record SparseGPT on LSTM class ``layer``'s [W_ih W_hh] of the checkpoint; return (and write to ``out``)
    the artifact. Calibration: ``n_batches`` training batches of ``batch_size`` sentences drawn with ``seed``."""
    from ...prune.obs import JointGram, reconstruction_error
    from ...prune.scores._data import load_scoring_batches
    from ...train.checkpoint import load_model
    from ..grid import model_hash

    if rows % 4 or rows < 4:
        raise ValueError(f"rows must be a positive multiple of 4 (the same number per gate), got {rows}")
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    model, cfg, sv, tv = load_model(model_dir)
    model.eval()
    named = dict(model.named_parameters())
    joint = JointGram(model)
    if layer not in joint.params:
        raise ValueError(f"{layer!r} is no LSTM layer of this model; known: {list(joint.params)}")
    ih, hh = joint.params[layer]
    batches = load_scoring_batches(cfg, sv, tv, n_batches, batch_size, seed)
    H, tokens = _gram(model, joint, batches, layer)
    n_in = named[ih].shape[1]
    W = torch.cat([named[ih].detach(), named[hh].detach()], dim=1).double()  # (4n, in + n)
    r, c = crop_rows(W.shape[0], rows), crop_cols(W.shape[1], cols)
    progress(f"site-sparsegpt: {layer} {tuple(W.shape)}, {tokens} calibration tokens, crop {rows}×{cols}")
    rec = record_columns(W, H, r, c, sparsity=sparsity, block_size=block_size, damp=damp)
    mask_only = W * rec["keep"]
    whole = {
        "sparsegpt": float(reconstruction_error(W, rec["W_new"], H)),
        "mask_only": float(reconstruction_error(W, mask_only, H)),
        "pruned": int((~rec["keep"]).sum()),
        "weights": W.numel(),
    }
    prov = run_provenance(
        argv,
        f"nmtprune.experiments.siteframes.sparsegpt.record_sparsegpt({str(model_dir)!r}, layer={layer!r}, "
        f"sparsity={sparsity}, rows={rows}, cols={cols}, n_batches={n_batches}, seed={seed})",
    )
    art = {
        "format": FORMAT,
        "version": VERSION,
        "id": f"sparsegpt/class-blind@{round(sparsity * 100)}",
        "method": "sparsegpt/class-blind",
        "provenance": {**prov, "seed": seed, "threads": threads, "seconds": round(time.perf_counter() - t0, 1)},
        "model": {"dir": str(model_dir), "hash": model_hash(model_dir), "corpus": cfg.data.corpus},
        "layer": layer,
        "params": [ih, hh],
        "shape": list(W.shape),
        "inputs": _input_parts(cfg, n_in, W.shape[1]),
        "gates": list(_GATES),
        "sparsity": sparsity,
        "run": {"scope": "block", "block_size": block_size, "damp": damp, "dtype": "float64"},
        "calibration": {
            "split": cfg.data.train_split,
            "batches": n_batches,
            "batch_size": batch_size,
            "tokens": tokens,
        },
        "dead_columns": rec["dead_columns"],
        "whole_matrix": whole,
        **encode(rec, r, c),
    }
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(art, separators=(",", ":")) + "\n", encoding="utf-8")
    return art


def _input_parts(cfg, n_in: int, width: int) -> list[dict]:
    """The named spans of the joint input [x_t; h_{t-1}]: decoder layer 1's x_t is [embedding; input feed]."""
    m = cfg.model
    if n_in == m.emb_dim + m.hidden and m.input_feed:
        parts = [("embedding", 0, m.emb_dim), ("input feed", m.emb_dim, n_in)]
    else:
        parts = [("x_t", 0, n_in)]
    return [{"name": n, "c0": a, "c1": b} for n, a, b in parts] + [{"name": "previous h", "c0": n_in, "c1": width}]
