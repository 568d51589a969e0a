"""Where one fp32 training step of the reference-shaped model spends CPU time (torch.profiler).

    python benchmarks/profile_step.py --threads 2

Prints the median step time and the share of self CPU time in matrix multiplies (mm, addmm, bmm,
baddbmm), then the top operators. Random data of the Multi30k batch shape (64 x 14 -> 15 tokens).
"""
import argparse
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile

from nmtprune.config import ModelConfig
from nmtprune.models import Seq2Seq, nll_loss

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
model = Seq2Seq(ModelConfig(emb_dim=512, hidden=512, src_vocab_size=5895, tgt_vocab_size=7880, dropout=0.2))
B, S, T = 64, 14, 15
src, tgt, src_len = torch.randint(4, 5895, (B, S)), torch.randint(4, 7880, (B, T)), torch.full((B,), S)


def step():
    (nll_loss(model(src, src_len, tgt), tgt) / (B * T)).backward()
    model.zero_grad()


for _ in range(2):
    step()
times = []
for _ in range(5):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for _ in range(2):
        step()
events = prof.key_averages()
total = sum(e.self_cpu_time_total for e in events)
mm = sum(e.self_cpu_time_total for e in events if e.key in ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"))
print(f"median step {statistics.median(times):.3f} s ({args.threads} threads); "
      f"matrix multiplies: {100 * mm / total:.1f} % of self CPU time")
print(events.table(sort_by="self_cpu_time_total", row_limit=8))
