"""Cost of the data-driven scores, and how well each OBD curvature estimator ranks like the exact one.

Two parts, both written to one JSON file:

1. ``cost`` (the reference model): each score timed on the first ``--batches`` scoring batches
   (training split, ``--batch-size`` sentences, seed 0), next to a training step timed in the same
   process on the same batches (bf16 autocast + Adam, as the reference was trained; fp32 with
   ``--fp32-train``). Reported per score: seconds, seconds per batch, and the projection to the
   score's *default* batch count (``SCORES[name].n_batches``) in units of one training epoch
   (``epoch_steps`` x the timed step). The issue's target: the default ``obd`` <= 1 epoch.
2. ``correlation`` (a tiny Seq2Seq, vocab 8, hidden 6, trained 1,500 steps to copy its source with
   20 % random targets, so it sits near a minimum with a translation-like non-zero loss): Spearman
   rank correlation of each estimator's curvature diagonal h, and of its OBD saliency ½ h w², with
   the exact Hessian diagonal (and the exact Gauss-Newton diagonal), plus its wall time. The exact
   diagonal is not computable on the reference model (21.3M double backwards).

    python benchmarks/bench_scores.py --batches 4 --threads 2 --out benchmarks/results/bench_scores.json
    python benchmarks/bench_scores.py --only correlation    # seconds, any machine

Run the cost part on an idle machine (the load average is recorded); a short run (few batches) is a
smoke test of the harness, not a result.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from nmtprune.config import ModelConfig
from nmtprune.data.batching import Batch
from nmtprune.models import Seq2Seq
from nmtprune.models.seq2seq import nll_loss
from nmtprune.prune.scores import SCORES, absent_row_counts, get_score, load_scoring_batches
from nmtprune.prune.scores._autograd import (exact_gn_diagonal, exact_hessian_diagonal, prunable_params,
                                             scoring_mode, seq2seq_objective)
from nmtprune.prune.scores.obd import curvature_diagonal
from nmtprune.provenance import provenance
from nmtprune.train.checkpoint import load_model

DATA_SCORES = [n for n, s in SCORES.items() if s.needs_data and n != "obd-exact"]


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    ra, rb = a.double().argsort().argsort().double(), b.double().argsort().argsort().double()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / (ra.norm() * rb.norm()))


def flat(d: dict) -> torch.Tensor:
    return torch.cat([v.reshape(-1).double() for v in d.values()])


def time_train_step(model, batches, bf16: bool) -> float:
    """Median seconds of one training step (forward, backward, clip, Adam) over the batches.

    The first batch runs once untimed first (allocator and kernel warm-up), so one batch suffices.
    """
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-9)  # a negligible step: the weights stay as loaded
    times = []
    for i, b in enumerate([batches[0]] + list(batches)):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(b.src, b.src_len, b.tgt_in)
        (nll_loss(logits, b.tgt_out) / b.n_tokens).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i:
            times.append(time.perf_counter() - t0)
    model.eval()
    return float(np.median(times))


def cost(args) -> dict:
    model, cfg, sv, tv = load_model(args.model)
    t0 = time.perf_counter()
    batches = load_scoring_batches(cfg, sv, tv, args.batches, args.batch_size, seed=0)
    load_s = time.perf_counter() - t0
    epoch_steps = math.ceil(29000 / args.batch_size) if "multi30k" in cfg.data.corpus else None
    state = {k: v.clone() for k, v in model.state_dict().items()}
    step_s = time_train_step(model, batches, bf16=not args.fp32_train)
    model.load_state_dict(state)
    epoch_s = step_s * epoch_steps if epoch_steps else None
    get_score("snip")(model, batches=batches[:1])  # untimed warm-up of the fp32 scoring path
    rows = {}
    for name in args.scores:
        spec = get_score(name)
        t0 = time.perf_counter()
        spec(model, batches=batches, seed=0)
        sec = time.perf_counter() - t0
        per_batch = sec / len(batches)
        rows[name] = {"options": dict(spec.options), "seconds": round(sec, 2), "seconds_per_batch": round(per_batch, 3),
                      "default_batches": spec.n_batches,
                      "projected_default_seconds": round(per_batch * spec.n_batches, 1),
                      "projected_default_epochs": round(per_batch * spec.n_batches / epoch_s, 3) if epoch_s else None}
        print(f"{name:16s} {sec:8.2f} s  {per_batch:7.3f} s/batch  default ({spec.n_batches} batches) ≈ "
              f"{rows[name]['projected_default_epochs']} epochs", file=sys.stderr, flush=True)
    return {"model": str(args.model), "params": sum(p.numel() for p in model.parameters()),
            "batches": len(batches), "batch_size": args.batch_size,
            "target_tokens": sum(b.n_tokens for b in batches), "data_load_seconds": round(load_s, 2),
            "train_step_seconds": round(step_s, 3), "train_step": "fp32" if args.fp32_train else "bf16 autocast",
            "epoch_steps": epoch_steps, "epoch_seconds_estimate": round(epoch_s, 1) if epoch_s else None,
            "absent_rows": absent_row_counts(model, batches), "scores": rows}


def _tiny_task(seed: int = 0, steps: int = 1500):
    """A tiny Seq2Seq trained to copy 3 tokens out of 4 with 20 % noisy targets, and 4 scoring batches of 64."""
    torch.manual_seed(seed)
    m = Seq2Seq(ModelConfig(emb_dim=4, hidden=6, enc_layers=1, dec_layers=1, src_vocab_size=8, tgt_vocab_size=8,
                            attention="general", dropout=0.0, init_range=0.3))
    gen = torch.Generator().manual_seed(seed)

    def batch(n=16, L=3):
        src = torch.randint(4, 8, (n, L), generator=gen)
        noise = torch.rand(n, L, generator=gen) < 0.2  # a fifth of the targets random: irreducible entropy,
        y = torch.where(noise, torch.randint(4, 8, (n, L), generator=gen), src)  # like translation
        return Batch(src, torch.full((n,), L), torch.cat([torch.full((n, 1), 2), y[:, :-1]], 1), y, np.arange(n))

    opt = torch.optim.Adam(m.parameters(), lr=0.02)
    for _ in range(steps):
        b = batch()
        loss = nll_loss(m(b.src, b.src_len, b.tgt_in), b.tgt_out) / b.n_tokens
        opt.zero_grad()
        loss.backward()
        opt.step()
    return m.eval(), [batch(64) for _ in range(4)], float(loss.detach())


def correlation(args) -> dict:
    m, bs, loss = _tiny_task()
    obj, params = seq2seq_objective(m), prunable_params(m)
    w2 = flat({k: p.detach().square() for k, p in params.items()})
    with scoring_mode(m, params, double_backward=True):
        t0 = time.perf_counter()
        exact = flat(exact_hessian_diagonal(obj, params, bs))
        exact_s = time.perf_counter() - t0
        gn = flat(exact_gn_diagonal(obj, params, bs))
        rows = {}
        for label, est, opts in [("fisher (1 sample)", "fisher", {"samples": 1}),
                                 ("fisher (10 samples)", "fisher", {"samples": 10}),
                                 ("empirical (per sentence)", "empirical", {"micro_batch": 1}),
                                 ("empirical (whole batch)", "empirical", {"micro_batch": None}),
                                 ("hutchinson (2 probes/batch)", "hutchinson", {"probes": 2}),
                                 ("hutchinson (100 probes/batch)", "hutchinson", {"probes": 100, "probe_batch": 100}),
                                 ("gn-exact", "gn-exact", {})]:
            t0 = time.perf_counter()
            h = flat(curvature_diagonal(obj, params, bs, est, seed=0, **opts))
            sec = time.perf_counter() - t0
            rows[label] = {"seconds": round(sec, 3),
                           "spearman_h_vs_exact_hessian": round(spearman(h, exact), 4),
                           "spearman_saliency_vs_exact_hessian": round(spearman(h.clamp(min=0) * w2,
                                                                                exact.clamp(min=0) * w2), 4),
                           "spearman_h_vs_exact_gn": round(spearman(h, gn), 4)}
    return {"model": "tiny Seq2Seq (vocab 8, emb 4, hidden 6, 1+1 layers), 1,500 Adam steps on copying "
                     "with 20 % random targets",
            "final_train_loss": round(loss, 4), "weights": int(exact.numel()), "batches": len(bs),
            "exact_hessian_seconds": round(exact_s, 3), "negative_exact_diagonal": int((exact < 0).sum()),
            "estimators": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/multi30k-en-de")
    ap.add_argument("--scores", nargs="*", default=DATA_SCORES, choices=sorted(SCORES))
    ap.add_argument("--batches", type=int, default=4, help="scoring batches to time each score on")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fp32-train", action="store_true", help="time the training step in fp32, not bf16")
    ap.add_argument("--only", choices=["cost", "correlation"])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_scores.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    result = {"benchmark": "bench_scores", "threads": args.threads,
              "loadavg_at_start": list(os.getloadavg()), "torch": torch.__version__,
              **provenance(), "command": "python benchmarks/bench_scores.py " + " ".join(sys.argv[1:])}
    if args.only in (None, "correlation"):
        result["correlation"] = correlation(args)
        print(json.dumps(result["correlation"]["estimators"], indent=1), file=sys.stderr)
    if args.only in (None, "cost"):
        result["cost"] = cost(args)
    result["loadavg_at_end"] = list(os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(str(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
