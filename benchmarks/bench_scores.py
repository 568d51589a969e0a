"""Cost of the data-driven scores, and how well each OBD curvature estimator ranks like the exact one.

Two parts, both written to one JSON file:

1. ``cost`` (the reference model): each score timed on the first ``--batches`` scoring batches
   (training split, ``--batch-size`` sentences, seed 0), next to a training step timed in the same
   run on the same batches (bf16 autocast + Adam, as the reference was trained; fp32 with
   ``--fp32-train``). Every measurement runs in a fresh process (``--repeats`` times, interleaved;
   medians kept), so its peak memory is its own: the peak resident set during the work minus the
   process's size once model and batches are loaded. Reported per score: seconds per batch, peak
   extra memory, and the projection to the score's *default* batch count (``get_score(name).n_batches``)
   in units of one training epoch (``epoch_steps`` x the timed step). The project's target: the
   default ``obd`` <= 1 epoch.
2. ``correlation`` (a tiny Seq2Seq, vocab 8, hidden 6, trained 1,500 steps to copy its source with
   20 % random targets, so it sits near a minimum with a translation-like non-zero loss): Spearman
   rank correlation of each estimator's curvature diagonal h, and of its OBD saliency ½ h w², with
   the exact Hessian diagonal (and the exact Gauss-Newton diagonal), plus its wall time. The exact
   diagonal is not computable on the reference model (21.3M double backwards).

    python benchmarks/bench_scores.py --only cost --batches 4 --repeats 3 --threads 2
    python benchmarks/bench_scores.py --only correlation    # seconds, any machine

Run the cost part on an idle machine (the load average is recorded); a short run (few batches) is a
smoke test of the harness, not a result. Each part keeps its own provenance, and running one part
leaves the other's last result in the file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from nmtprune.config import ModelConfig
from nmtprune.data.batching import Batch
from nmtprune.models import Seq2Seq
from nmtprune.models.seq2seq import nll_loss
from nmtprune.prune.scores import absent_row_counts, get_score, load_scoring_batches, score_names
from nmtprune.prune.scores._autograd import prunable_params, scoring_mode, seq2seq_objective
from nmtprune.prune.scores._hessian import exact_gn_diagonal, exact_hessian_diagonal
from nmtprune.prune.scores.obd import curvature_diagonal
from nmtprune.provenance import provenance
from nmtprune.train.checkpoint import load_model

DATA_SCORES = [n for n in score_names("weight") if get_score(n).needs_data and n != "obd-exact"]


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


def _status_kb(field: str) -> int:
    """A memory field of /proc/self/status (VmRSS: now; VmHWM: peak since start or the last reset), in KB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"bench_scores: /proc/self/status has no {field} (the memory part needs Linux)")


def _reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so loading's own peak does not count."""
    Path("/proc/self/clear_refs").write_text("5")


def measure_one(args) -> dict:
    """One cost measurement in this (fresh) process, so its peak memory is its own.

    ``args.child`` is ``train-step`` or a score name. Peak extra memory = the process's peak RSS during the
    work (VmHWM, reset after loading) minus its RSS once the model and batches are loaded.
    """
    model, cfg, sv, tv = load_model(args.model)
    t0 = time.perf_counter()
    batches = load_scoring_batches(cfg, sv, tv, args.batches, args.batch_size, seed=0)
    load_s = time.perf_counter() - t0
    _reset_peak()
    base_kb = _status_kb("VmRSS")
    if args.child == "train-step":
        sec = time_train_step(model, batches, bf16=not args.fp32_train)
        per_batch, options = sec, {"step": "fp32" if args.fp32_train else "bf16 autocast", "optimizer": "Adam"}
    else:
        spec = get_score(args.child)
        spec(model, batches=batches[:1], seed=0)  # untimed warm-up on one batch (same work, so same peak)
        t0 = time.perf_counter()
        spec(model, batches=batches, seed=0)
        sec = time.perf_counter() - t0
        per_batch, options = sec / len(batches), dict(spec.options)
    peak_kb = _status_kb("VmHWM")
    return {
        "seconds": sec,
        "seconds_per_batch": per_batch,
        "options": options,
        "data_load_seconds": load_s,
        "loaded_rss_mb": base_kb / 1024,
        "peak_extra_mb": max(0, peak_kb - base_kb) / 1024,
        "absent_rows": absent_row_counts(model, batches),
        "target_tokens": sum(b.n_tokens for b in batches),
        "params": sum(p.numel() for p in model.parameters()),
        "corpus": cfg.data.corpus,
    }


def _child(args, what: str) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        what,
        "--model",
        str(args.model),
        "--batches",
        str(args.batches),
        "--batch-size",
        str(args.batch_size),
        "--threads",
        str(args.threads),
    ] + (["--fp32-train"] if args.fp32_train else [])
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_scores: measuring {what!r} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cost(args) -> dict:
    """Each score and one training step, every repeat in a fresh process; medians over the repeats."""
    names = ["train-step"] + list(args.scores)
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(args.repeats):  # interleaved, so a drifting machine load hits every row alike
        for name in names:
            runs[name].append(_child(args, name))
            print(
                f"repeat {r + 1}/{args.repeats} {name:16s} {runs[name][-1]['seconds_per_batch']:7.3f} s/batch  "
                f"peak +{runs[name][-1]['peak_extra_mb']:.0f} MB",
                file=sys.stderr,
                flush=True,
            )
    med = {n: float(np.median([x["seconds_per_batch"] for x in rs])) for n, rs in runs.items()}
    mem = {n: float(np.median([x["peak_extra_mb"] for x in rs])) for n, rs in runs.items()}
    first = runs["train-step"][0]
    epoch_steps = math.ceil(29000 / args.batch_size) if "multi30k" in first["corpus"] else None
    step_s = med["train-step"]
    epoch_s = step_s * epoch_steps if epoch_steps else None
    rows = {}
    for name in args.scores:
        spec = get_score(name)
        pb = med[name]
        rows[name] = {
            "options": runs[name][0]["options"],
            "seconds": round(pb * args.batches, 2),
            "seconds_per_batch": round(pb, 3),
            "seconds_per_batch_runs": [round(x["seconds_per_batch"], 3) for x in runs[name]],
            "peak_extra_mb": round(mem[name], 1),
            "default_batches": spec.n_batches,
            "projected_default_seconds": round(pb * spec.n_batches, 1),
            "projected_default_epochs": round(pb * spec.n_batches / epoch_s, 3) if epoch_s else None,
        }
    return {
        "model": str(args.model),
        "params": first["params"],
        "batches": args.batches,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "target_tokens": first["target_tokens"],
        "data_load_seconds": round(first["data_load_seconds"], 2),
        "loaded_rss_mb": round(first["loaded_rss_mb"], 1),
        "train_step_seconds": round(step_s, 3),
        "train_step_seconds_runs": [round(x["seconds"], 3) for x in runs["train-step"]],
        "train_step_peak_extra_mb": round(mem["train-step"], 1),
        "train_step": first["options"]["step"] + " + Adam",
        "epoch_steps": epoch_steps,
        "epoch_seconds_estimate": round(epoch_s, 1) if epoch_s else None,
        "absent_rows": first["absent_rows"],
        "scores": rows,
    }


def _tiny_task(seed: int = 0, steps: int = 1500):
    """A tiny Seq2Seq trained to copy 3 tokens out of 4 with 20 % noisy targets, and 4 scoring batches of 64."""
    torch.manual_seed(seed)
    m = Seq2Seq(
        ModelConfig(
            emb_dim=4,
            hidden=6,
            enc_layers=1,
            dec_layers=1,
            src_vocab_size=8,
            tgt_vocab_size=8,
            attention="general",
            dropout=0.0,
            init_range=0.3,
        )
    )
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
        for label, est, opts in [
            ("fisher (1 sample)", "fisher", {"samples": 1}),
            ("fisher (10 samples)", "fisher", {"samples": 10}),
            ("empirical (per sentence)", "empirical", {"micro_batch": 1}),
            ("empirical (whole batch)", "empirical", {"micro_batch": None}),
            ("hutchinson (2 probes/batch)", "hutchinson", {"probes": 2}),
            ("hutchinson (100 probes/batch)", "hutchinson", {"probes": 100, "probe_batch": 100}),
            ("gn-exact", "gn-exact", {}),
        ]:
            t0 = time.perf_counter()
            h = flat(curvature_diagonal(obj, params, bs, est, seed=0, **opts))
            sec = time.perf_counter() - t0
            rows[label] = {
                "seconds": round(sec, 3),
                "spearman_h_vs_exact_hessian": round(spearman(h, exact), 4),
                "spearman_saliency_vs_exact_hessian": round(spearman(h.clamp(min=0) * w2, exact.clamp(min=0) * w2), 4),
                "spearman_h_vs_exact_gn": round(spearman(h, gn), 4),
            }
    return {
        "model": "tiny Seq2Seq (vocab 8, emb 4, hidden 6, 1+1 layers), 1,500 Adam steps on copying "
        "with 20 % random targets",
        "final_train_loss": round(loss, 4),
        "weights": int(exact.numel()),
        "batches": len(bs),
        "exact_hessian_seconds": round(exact_s, 3),
        "negative_exact_diagonal": int((exact < 0).sum()),
        "estimators": rows,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/multi30k-en-de")
    ap.add_argument("--scores", nargs="*", default=DATA_SCORES, choices=sorted(score_names("weight")))
    ap.add_argument("--batches", type=int, default=4, help="scoring batches to time each score on")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per row (cost); the median is kept")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fp32-train", action="store_true", help="time the training step in fp32, not bf16")
    ap.add_argument("--only", choices=["cost", "correlation"])
    ap.add_argument("--child", help=argparse.SUPPRESS)  # internal: one cost measurement, JSON on stdout
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_scores.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(measure_one(args)))
        return 0
    # Each part carries its own provenance, and running one part keeps the other's last result.
    result = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    legacy = {k: result.pop(k) for k in list(result) if k not in ("benchmark", "correlation", "cost")}
    if legacy and "correlation" in result:
        result["correlation"].setdefault("run", legacy)  # files written before parts had their own provenance
    result["benchmark"] = "bench_scores"
    for part, fn in (("correlation", correlation), ("cost", cost)):
        if args.only not in (None, part):
            continue
        run = {
            **provenance(),
            "command": "python benchmarks/bench_scores.py " + " ".join(sys.argv[1:]),
            "threads": args.threads,
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "torch": torch.__version__,
        }  # after provenance(), whose own "command" names the console script
        out = fn(args)
        run["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        result[part] = {**out, "run": run}
        if part == "correlation":
            print(json.dumps(out["estimators"], indent=1), file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)  # atomic: an interrupted run leaves the last result intact
    print(str(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
