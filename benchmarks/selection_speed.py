"""Mask selection time over all weight classes of a ~30M-weight model (target: < 1 s on CPU).

Baseline measured in the same run: the textbook global threshold by a full sort of all scores
(``torch.sort`` of the concatenation). Median of ``--repeats`` runs each.

    python benchmarks/selection_speed.py --repeats 5 --threads 2 --json benchmarks/results/selection_speed.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from nmtprune.config import ModelConfig
from nmtprune.models import Seq2Seq
from nmtprune.prune import get_score, select
from nmtprune.provenance import provenance


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # 4+4 layers x 512 with 10K/10K vocabularies: ~30M weights in the classes
    model = Seq2Seq(
        ModelConfig(emb_dim=512, hidden=512, enc_layers=4, dec_layers=4, src_vocab_size=10000, tgt_vocab_size=10000)
    )
    scores = get_score("magnitude")(model)
    n = sum(s.numel() for s in scores.values())
    sparsity = 0.8

    def full_sort():
        flat = torch.cat([s.reshape(-1) for s in scores.values()])
        order = torch.sort(flat, stable=True).indices
        keep = torch.ones_like(flat, dtype=torch.bool)
        keep[order[: round(sparsity * n)]] = False
        return keep

    rows = {"baseline: full sort, global threshold": timed(full_sort, args.repeats)}
    for scheme in ("class-blind", "class-uniform", "class-distribution"):
        rows[scheme] = timed(lambda: select(scores, model, sparsity, scheme), args.repeats)
    base = statistics.median(rows["baseline: full sort, global threshold"])
    result = {
        "weights": n,
        "sparsity": sparsity,
        "repeats": args.repeats,
        "threads": args.threads,
        "median_s": {k: round(statistics.median(v), 4) for k, v in rows.items()},
        "runs_s": {k: [round(x, 4) for x in v] for k, v in rows.items()},
        "speedup_vs_full_sort": {k: round(base / statistics.median(v), 2) for k, v in rows.items()},
        **provenance(["(benchmarks/selection_speed.py)", *sys.argv[1:]]),
    }
    print(f"{n:,} weights, sparsity {sparsity}, median of {args.repeats}, {args.threads} threads")
    for k, v in result["median_s"].items():
        print(f"  {k:40s} {v:8.3f} s   x{result['speedup_vs_full_sort'][k]} vs full sort")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
