"""The yardsticks of training throughput: the core's fp32 matmul speed and the model's FLOPs per token.

    python benchmarks/matmul_peak.py --threads 1

``matmul_peak``: GFLOP/s of a 64 x 1024 @ 1024 x 2048 fp32 product (the shape of one decoder step's
GEMM for a batch of 64), median of repeats at the current thread count. Large products run faster
than this, so a training step can come close to it or pass it only if its non-matmul work is small.

``train_flops_per_target_token``: matrix-multiply FLOPs of one training step of a Seq2Seq, per
non-padding target token. Rules: a product of (m x k) by (k x n) costs 2mkn FLOPs forward and twice
that backward (input and weight gradients; every input of every matmul needs its gradient,
embeddings included), so a step costs 3x the forward. Counted for the useful positions only: real
source tokens in the encoder and W_a, real target tokens in the decoder, attention and softmax
layer; work spent on padding is overhead, as are all elementwise operations. Per target token:

    decoder layer 1     2 * 4H * (E + A + H)          (input feeding adds A columns)
    decoder layer k>1   2 * 4H * (H + H)
    attention           2 * A * (H_enc + H)           (W_c) + 2 * 2 * H * S_t  (scores, context)
    softmax layer       2 * V_tgt * A
    encoder             (src/tgt tokens) * [2 * 4H * (E + H) + 2 * 4H * (H + H) + 2 * H * H_enc (W_a)]

S_t is the source length of the token's sentence, so the data enters through two averages:
source tokens per target token and the target-weighted mean source length.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

__all__ = ["matmul_peak", "train_flops_per_target_token", "data_shape", "flops_report", "peak_in_fresh_process"]


def matmul_peak(repeats: int = 30, m: int = 64, k: int = 1024, n: int = 2048) -> float:
    """fp32 GFLOP/s of an (m x k) @ (k x n) product, median of ``repeats`` timed calls."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    out = torch.empty(m, n)
    for _ in range(5):  # warm-up: kernel selection, page faults
        torch.mm(a, b, out=out)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        times.append(time.perf_counter() - t0)
    return 2 * m * k * n / statistics.median(times) / 1e9


def data_shape(batches) -> dict:
    """Averages of the data that the FLOP count needs, from collated batches (``Batch``)."""
    src = sum(int(b.src_len.sum()) for b in batches)
    tgt_per_sent = [(b.tgt_out != 0).sum(1) for b in batches]
    tgt = sum(int(t.sum()) for t in tgt_per_sent)
    weighted = sum(float((b.src_len.float() * t.float()).sum()) for b, t in zip(batches, tgt_per_sent))
    return {"src_per_tgt_token": src / tgt, "src_len_per_tgt_token": weighted / tgt}


def train_flops_per_target_token(cfg, src_per_tgt_token: float, src_len_per_tgt_token: float) -> dict:
    """Matmul FLOPs of a training step per target token (module docstring), in parts and in total.

    cfg: a :class:`nmtprune.config.ModelConfig` with vocabulary sizes set.
    """
    E, A, V = cfg.emb_dim, cfg.attn_size, cfg.tgt_vocab_size
    enc, dec = cfg.enc_sizes, cfg.dec_sizes
    decoder = 0
    width = E + (A if cfg.input_feed else 0)
    for n in dec:
        decoder += 2 * 4 * n * (width + n)
        width = n
    attention = 2 * A * (enc[-1] + dec[-1]) + 2 * 2 * dec[-1] * src_len_per_tgt_token
    softmax = 2 * V * A
    encoder, width = 0, E
    for n in enc:
        encoder += 2 * 4 * n * (width + n)
        width = n
    if cfg.attention == "general":
        encoder += 2 * dec[-1] * enc[-1]
    forward = {"decoder": decoder, "attention": attention, "softmax": softmax, "encoder": encoder * src_per_tgt_token}
    parts = {name: 3 * f for name, f in forward.items()}
    return {"parts": parts, "total": sum(parts.values())}


def flops_report(cfg, batches) -> dict:
    """:func:`train_flops_per_target_token` over ``batches`` with the data averages it used, for JSON."""
    shape = data_shape(batches)
    flops = train_flops_per_target_token(cfg, **shape)
    return {
        "total": round(flops["total"]),
        "parts": {k: round(v) for k, v in flops["parts"].items()},
        **{k: round(v, 4) for k, v in shape.items()},
    }


def peak_in_fresh_process(env: dict) -> float:
    """:func:`matmul_peak` in a new process with ``env``'s thread settings (``OMP_NUM_THREADS``)."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--json", "--threads", env["OMP_NUM_THREADS"]],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)["gflops"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--json", action="store_true", help="print {'gflops': ..., 'threads': ...} only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gflops = matmul_peak(args.repeats)
    if args.json:
        print(json.dumps({"gflops": round(gflops, 2), "threads": torch.get_num_threads()}))
    else:
        print(f"fp32 matmul 64x1024 @ 1024x2048: {gflops:.1f} GFLOP/s ({args.threads} threads)")


if __name__ == "__main__":
    main()
