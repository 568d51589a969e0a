"""Where one fp32 training step of the reference model spends CPU time, and how fast it runs.

    python benchmarks/profile_step.py --threads 1             # timing + torch.profiler table
    python benchmarks/profile_step.py --threads 1 --compare   # readable path vs fast path, interleaved

A step is what the training loop does (train/loop.py): forward, summed token NLL, backward, gradient
clipping at 5, SGD, zero_grad. Batches are the first real Multi30k training batches (benchmarks/
real_batches.py; 64 sentences, about 900 target tokens each), the model the throughput benchmark's
(2 x 512 LSTM, general attention, input feeding, dropout 0.2). Reports target tokens/s, the matmul
GFLOP/s that implies (FLOPs per target token from benchmarks/matmul_peak.py) and its share of the
64x1024 @ 1024x2048 matmul speed measured in the same process.

``--compare`` times the readable step loop (``model.fast_train = False``, what training ran before
the fast path) against the fast path in one process, alternating step by step, each with its own
model copy from the same initialisation: on a shared machine only such paired numbers are comparable.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from matmul_peak import data_shape, matmul_peak, train_flops_per_target_token  # noqa: E402
from real_batches import real_batches  # noqa: E402

from nmtprune.config import ModelConfig  # noqa: E402
from nmtprune.models import Seq2Seq, nll_loss  # noqa: E402


def make_step(model: Seq2Seq):
    """A training step of the loop's recipe (SGD lr 1.0, clip 5) bound to its own optimizer."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)

    def step(batch) -> None:
        model.train()
        loss = nll_loss(model(batch.src, batch.src_len, batch.tgt_in), batch.tgt_out)
        (loss / batch.n_tokens).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def timed_runs(steps: dict, batches, repeats: int) -> dict[str, list[float]]:
    """Target tokens/s of each variant per repeat. Variants alternate step by step (ABBA order), so a
    burst of load from other processes hits them alike."""
    runs = {name: [] for name in steps}
    names = list(steps)
    for rep in range(repeats):
        secs = dict.fromkeys(names, 0.0)
        for i, b in enumerate(batches):
            for name in names if (rep + i) % 2 == 0 else names[::-1]:
                t0 = time.perf_counter()
                steps[name](b)
                secs[name] += time.perf_counter() - t0
        for name in names:
            runs[name].append(sum(b.n_tokens for b in batches) / secs[name])
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", type=int, default=10, help="steps per timed run")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs (per variant with --compare)")
    ap.add_argument("--compare", action="store_true", help="readable vs fast path, interleaved; no profile")
    ap.add_argument("--rows", type=int, default=15, help="operators in the profiler table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    batches, src_vocab, tgt_vocab = real_batches(args.batches + 2)
    warmup, timed = batches[:2], batches[2:]
    cfg = ModelConfig(emb_dim=512, hidden=512, src_vocab_size=src_vocab, tgt_vocab_size=tgt_vocab, dropout=0.2)
    flops = train_flops_per_target_token(cfg, **data_shape(timed))["total"]
    torch.manual_seed(0)
    model = Seq2Seq(cfg)
    variants = {"fast": model}
    if args.compare:
        variants = {"readable": copy.deepcopy(model), "fast": model}
        variants["readable"].fast_train = False
    steps = {name: make_step(m) for name, m in variants.items()}
    for step in steps.values():
        for b in warmup:
            step(b)
    peaks = [matmul_peak() for _ in range(3)]
    runs = timed_runs(steps, timed, args.repeats)
    peaks += [matmul_peak() for _ in range(3)]
    peak = statistics.median(peaks)
    print(
        f"{args.threads} thread(s); {flops / 1e6:.1f} MFLOP per target token (matmuls, forward + backward); "
        f"fp32 matmul 64x1024 @ 1024x2048: {peak:.1f} GFLOP/s (median of {len(peaks)})"
    )
    print("| path | runs (target tok/s) | median | GFLOP/s | % of matmul peak |\n| --- | --- | --- | --- | --- |")
    for name, values in runs.items():
        med = statistics.median(values)
        print(
            f"| {name} | {', '.join(f'{v:.0f}' for v in values)} | {med:.0f} | {med * flops / 1e9:.1f} | "
            f"{100 * med * flops / 1e9 / peak:.0f} % |"
        )
    if len(runs) == 2:
        a, b = runs["readable"], runs["fast"]
        print(f"fast / readable: {statistics.median([y / x for x, y in zip(a, b)]):.3f} (median of paired runs)")
    if args.compare:
        return
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for b in timed[:3]:
            steps["fast"](b)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    mm = sum(
        e.self_cpu_time_total
        for e in events
        if e.key
        in (
            "aten::mm",
            "aten::addmm",
            "aten::bmm",
            "aten::baddbmm",
            "aten::mkldnn_rnn_layer",
            "aten::mkldnn_rnn_layer_backward",
        )
    )
    print(f"matrix multiplies (incl. oneDNN LSTM layers): {100 * mm / total:.1f} % of self CPU time")
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
