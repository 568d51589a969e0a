"""Roofline of decoding: the fastest a decoder step could run on this CPU, and how close decoding gets.

    .venv/bin/python benchmarks/roofline.py models/multi30k-en-de --threads 1

A decoder step reads every weight it multiplies once and does 2 FLOPs per weight and row, so its
time is at least max(bytes / bandwidth, FLOPs / peak). Per step and per hypothesis row (the rows are
the beam, 5, or one greedy sentence) of a Seq2Seq (:func:`step_cost`):

    weights   decoder layer k  [W_ih W_hh] (4n_k, in_k + n_k), in_1 = E + A (input feeding)
              attention W_c (A, H_enc + n_L); softmax layer W_s (V, A)
              (W_a is applied once per sentence to the encoder states, so not per step)
    fp32      biases of the LSTM layers (2 x 4n_k) and of W_s (V); one embedding row (E) per row
    state     keys (S, n_L) and memory (S, H_enc) of the row's sentence, read by scores and context
    FLOPs     2 x rows x (weights kept) + 2 x rows x S x (n_L + H_enc); nonlinearities not counted

Variants: dense fp32 (4 bytes per weight); pruned 90 % by magnitude per matrix and stored dense (the
same bytes and FLOPs: a dense kernel multiplies the zeros too); the same pruned model stored CSR
(4-byte value and 4-byte column index per kept weight, 4 bytes per row pointer, FLOPs on the kept
weights: a limit, not run here); 50 % of the hidden units removed and the model shrunk
(``nmtprune.prune.units``, l1 per layer, as benchmarks/bench_shrink.py); int8 weights (1 byte per
weight and a 4-byte scale per row, fp32 biases and embeddings; decoded with ``nmtprune.decode.int8``
under ``--int8``, else a limit only). Bandwidth: the read speed over a buffer of the variant's own
weight bytes (read again and again, as decoding reads its weights, so a model that fits the L3 cache
reads at the cache's speed) or the streaming speed far beyond the L3 cache, whichever is higher; the
int8 variant's compute limit is the int8 GEMM speed of PyTorch's dynamic-quantised linear.

The measured side decodes the first ``--sentences`` of ``--split`` one sentence at a time
(``translate_data`` with batch 1: rows = beam), counts the ``decode_step`` calls and the time inside
them, and divides: per-step time inside ``decode_step`` and end to end (encoder and search included).
Fraction of the roofline = limit / measured. Median of ``--repeats`` passes. Writes ``--out`` (JSON)
and a markdown snippet beside it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DEFAULT_OUT = REPO / "benchmarks" / "results" / "roofline.json"

__all__ = ["step_matrices", "step_cost", "variant_costs", "read_bandwidth", "copy_bandwidth", "fp32_peak", "int8_peak"]


def step_matrices(cfg) -> dict[str, tuple[int, int]]:
    """(out, in) of every weight matrix a decoder step multiplies. cfg: a ModelConfig (sizes set)."""
    E, A, V = cfg.emb_dim, cfg.attn_size, cfg.tgt_vocab_size
    enc, dec = cfg.enc_sizes, cfg.dec_sizes
    out, width = {}, E + (A if cfg.input_feed else 0)
    for k, n in enumerate(dec):
        out[f"decoder layer {k + 1}"] = (4 * n, width + n)
        width = n
    out["attention W_c"] = (A, enc[-1] + dec[-1])
    out["softmax layer W_s"] = (V, A)
    return out


def step_cost(
    cfg,
    rows: int,
    src_len: float,
    weight_bytes: float = 4.0,
    density: float = 1.0,
    index_bytes: float = 0.0,
    row_bytes: float = 0.0,
) -> dict:
    """Bytes read and FLOPs of one decoder step for ``rows`` hypotheses (module docstring).

    weight_bytes: bytes per stored weight value; density: fraction of the weights stored and
    multiplied; index_bytes: bytes of position per stored weight; row_bytes: bytes per matrix row
    (a CSR row pointer, an int8 scale). Returns bytes (weights, fp32 extras, state, total) and FLOPs.
    """
    mats = step_matrices(cfg)
    n_weights = sum(o * i for o, i in mats.values())
    n_rows = sum(o for o, _ in mats.values())
    weights = density * n_weights * (weight_bytes + index_bytes) + n_rows * row_bytes
    biases = sum(2 * 4 * n for n in cfg.dec_sizes) + cfg.tgt_vocab_size
    extras = 4 * (biases + rows * cfg.emb_dim)
    state = 4 * rows * src_len * (cfg.dec_sizes[-1] + cfg.enc_sizes[-1])
    flops = 2 * rows * density * n_weights + 2 * rows * src_len * (cfg.dec_sizes[-1] + cfg.enc_sizes[-1])
    return {
        "weight_bytes": weights,
        "fp32_extra_bytes": extras,
        "state_bytes": state,
        "bytes": weights + extras + state,
        "flops": flops,
    }


def variant_costs(cfg, shrunk_cfg, rows: int, src_len: float, sparsity: float = 0.9) -> dict[str, dict]:
    """:func:`step_cost` of every variant of the module docstring; shrunk_cfg None leaves that one out."""
    out = {
        "dense fp32": step_cost(cfg, rows, src_len),
        f"pruned {sparsity:.0%}, stored dense fp32": step_cost(cfg, rows, src_len),
        f"pruned {sparsity:.0%}, CSR fp32": step_cost(
            cfg, rows, src_len, density=1 - sparsity, index_bytes=4.0, row_bytes=4.0
        ),
        "int8 weights": step_cost(cfg, rows, src_len, weight_bytes=1.0, row_bytes=4.0),
    }
    if shrunk_cfg is not None:
        out["units 50 % removed, shrunk fp32"] = step_cost(shrunk_cfg, rows, src_len)
    return out


def _rate(work: float, fn, repeats: int) -> dict:
    """``work`` / second of ``fn`` in units of 1e9: the fastest and the median of ``repeats`` calls after a warm-up.

    The fastest call is the hardware's capacity (a busy machine only slows calls down, as STREAM
    reports its best time); the median shows how much of it a call got.
    """
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"best": round(work / min(times) / 1e9, 2), "median": round(work / statistics.median(times) / 1e9, 2)}


def read_bandwidth(nbytes: int, repeats: int = 9) -> dict:
    """GB/s of summing an fp32 buffer of ``nbytes`` (each call reads it once)."""
    buf = torch.rand(max(1, int(nbytes) // 4))
    return _rate(buf.numel() * 4, buf.sum, repeats)


def copy_bandwidth(nbytes: int, repeats: int = 9) -> dict:
    """GB/s of copying an fp32 buffer of ``nbytes`` into another, counting the read and the write."""
    src = torch.rand(max(1, int(nbytes) // 4))
    dst = torch.empty_like(src)
    return _rate(2 * src.numel() * 4, lambda: dst.copy_(src), repeats)


def fp32_peak(repeats: int = 30, m: int = 64, k: int = 1024, n: int = 2048) -> dict:
    """GFLOP/s of an fp32 (m x k) @ (k x n) product, matmul_peak.py's shape (a decoder GEMM of 64 rows)."""
    a, b, out = torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)
    return _rate(2 * m * k * n, lambda: torch.mm(a, b, out=out), repeats)


def int8_peak(repeats: int = 30, m: int = 64, k: int = 1024, n: int = 2048) -> dict:
    """GOP/s of PyTorch's dynamic-quantised int8 linear (m x k input, n x k int8 weights, one scale per row)."""
    from torch.ao.nn.quantized.dynamic import Linear
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # PyTorch marks torch.ao quantisation as deprecated; its kernels are current
        warnings.simplefilter("ignore")
        layer = quantize_dynamic(
            torch.nn.Sequential(torch.nn.Linear(k, n)), {torch.nn.Linear: per_channel_dynamic_qconfig}
        )
    assert isinstance(layer[0], Linear)
    x = torch.randn(m, k)
    return _rate(2 * m * k * n, lambda: layer(x), repeats)


def hardware(threads: list[int], stream_bytes: int, sizes: dict[str, int], repeats: int) -> dict:
    """Per thread count: streaming read and copy, read over each variant's weight bytes, fp32 and int8 GEMM."""
    out = {}
    for t in threads:
        torch.set_num_threads(t)
        out[t] = {
            "stream_read_gbs": read_bandwidth(stream_bytes, repeats),
            "stream_copy_gbs": copy_bandwidth(stream_bytes, repeats),
            "read_gbs_at": {name: read_bandwidth(b, 3 * repeats) for name, b in sizes.items()},
            "fp32_gemm_gflops": fp32_peak(),
            "int8_gemm_gops": int8_peak(),
        }
        print(f"hardware, {t} thread(s): {out[t]}", file=sys.stderr, flush=True)
    return out


class _StepClock:
    """Wraps a model's ``decode_step`` (instance attribute): counts calls, time inside, source length."""

    def __init__(self, fn):
        self.fn, self.calls, self.seconds, self.src = fn, 0, 0.0, 0

    def __call__(self, y_prev, state, enc):
        t0 = time.perf_counter()
        out = self.fn(y_prev, state, enc)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.src += enc.memory.shape[1]
        return out


def _first(data, n: int):
    """The first ``n`` sentences of a ParallelData."""
    from nmtprune.data.batching import ParallelData

    fields = ("src", "tgt", "src_tokens", "tgt_tokens", "raw_src", "raw_tgt")
    return ParallelData(*(getattr(data, f)[:n] for f in fields))


def time_decoding(model, data, tgt_vocab, beam: int, repeats: int) -> dict:
    """Per-step seconds of decoding ``data`` one sentence at a time: inside decode_step and end to end."""
    from nmtprune.metrics.evaluate import translate_data

    clock = model.decode_step = _StepClock(model.decode_step)
    warm = _first(data, 2)
    translate_data(model, warm, tgt_vocab, beam=beam, batch_size=1)  # warm-up (allocator, kernels), untimed
    passes = []
    for _ in range(repeats):
        clock.calls, clock.seconds, clock.src = 0, 0.0, 0
        t0 = time.perf_counter()
        translate_data(model, data, tgt_vocab, beam=beam, batch_size=1)
        total = time.perf_counter() - t0
        passes.append({"steps": clock.calls, "in_step_s": clock.seconds, "total_s": total, "src": clock.src})
    del model.decode_step
    return {
        "steps": passes[0]["steps"],
        "mean_src_len": passes[0]["src"] / passes[0]["steps"],
        "in_step_ms": statistics.median(1e3 * p["in_step_s"] / p["steps"] for p in passes),
        "end_to_end_ms": statistics.median(1e3 * p["total_s"] / p["steps"] for p in passes),
        "passes": [{k: round(v, 4) for k, v in p.items()} for p in passes],
    }


def prune_stored_dense(model, sparsity: float):
    """A copy of ``model`` with each per-step weight matrix pruned by magnitude, zeros kept in place."""
    import copy

    pruned = copy.deepcopy(model)
    with torch.no_grad():
        mats = [getattr(pruned.decoder, f"weight_{w}_l{k}") for k in range(pruned.cfg.dec_layers) for w in ("ih", "hh")]
        for w in [*mats, pruned.attention.W_c, pruned.generator.weight]:
            cut = w.abs().flatten().kthvalue(max(1, round(sparsity * w.numel()))).values
            w.masked_fill_(w.abs() <= cut, 0.0)
    return pruned


def limits(cost: dict, hw: dict, read_gbs: float, int8: bool) -> dict:
    """Lower bounds in ms of one step from ``cost`` (:func:`step_cost`) and one thread count's ``hw``."""
    peak = (hw["int8_gemm_gops"] if int8 else hw["fp32_gemm_gflops"])["best"]
    stream_gbs = hw["stream_read_gbs"]["best"]
    # a lower bound takes the faster reading: at the weights' own size, or streaming
    mem = 1e3 * cost["bytes"] / (max(read_gbs, stream_gbs) * 1e9)
    stream = 1e3 * cost["bytes"] / (stream_gbs * 1e9)
    comp = 1e3 * cost["flops"] / (peak * 1e9)
    return {
        "memory_ms": mem,
        "memory_stream_ms": stream,
        "compute_ms": comp,
        "limit_ms": max(mem, comp),
        "binds": "memory" if mem >= comp else "compute",
    }


def markdown(result: dict) -> str:
    """The hardware table and the roofline table for BENCHMARKS.md."""
    m, st, hw = result["machine"], result["settings"], result["hardware"]
    lines = [
        f"Machine: {m['cpuinfo_model']}, {m['cpus']} CPUs, capability `{m['capability']}`; torch {m['torch']}; "
        f"commit `{(result['git']['commit'] or '?')[:10]}`{' (+uncommitted)' if result['git']['dirty'] else ''}; "
        f"{result['date']}; load average at start {m['loadavg_at_start'][0]}.\n",
        f"Command: `{result['command']}`\n",
        f"Hardware: fastest (median) of {st['repeats_hw']} calls each, 3x as many for the reads at a variant's "
        f"size, 30 for the GEMMs (64x1024 @ 1024x2048); stream buffer {st['stream_mb']} MB; the limits use the "
        "fastest.\n",
        "| threads | stream read GB/s | stream copy GB/s (read + write) | fp32 GEMM GFLOP/s | int8 GEMM GOP/s | "
        "read GB/s over the variant's weight bytes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def both(r: dict) -> str:
        return f"{r['best']} ({r['median']})"

    for t, h in hw.items():
        at = ", ".join(f"{k}: {both(v)}" for k, v in h["read_gbs_at"].items())
        cells = (h[k] for k in ("stream_read_gbs", "stream_copy_gbs", "fp32_gemm_gflops", "int8_gemm_gops"))
        lines.append(f"| {t} | " + " | ".join(both(c) for c in cells) + f" | {at} |")
    lines += [
        "",
        f"Per decoder step, {st['threads']} thread(s); measured: the first {st['sentences']} sentences of "
        f"{st['split']}, one at a time, median of {st['repeats']} passes (ms per `decode_step` call: inside it, and "
        "the whole decoding divided by the calls). Fraction = limit / measured.\n",
        "| variant | rows | weight MB | MB read | MFLOP | memory ms | memory ms (stream only) | compute ms | "
        "limit ms | binds | measured ms in step | end to end | fraction in step | end to end |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["rows"]:
        c, lim, meas = r["cost"], r["limits"], r.get("measured")
        got = (
            [f"{meas['in_step_ms']:.3f}", f"{meas['end_to_end_ms']:.3f}"]
            + [f"{lim['limit_ms'] / meas[k]:.0%}" for k in ("in_step_ms", "end_to_end_ms")]
            if meas
            else [r.get("why", "not run")] + ["–"] * 3
        )
        lines.append(
            f"| {r['variant']} | {r['rows']} | {c['weight_bytes'] / 1e6:.2f} | {c['bytes'] / 1e6:.2f} | "
            f"{c['flops'] / 1e6:.1f} | {lim['memory_ms']:.3f} | {lim['memory_stream_ms']:.3f} | "
            f"{lim['compute_ms']:.3f} | {lim['limit_ms']:.3f} | {lim['binds']} | " + " | ".join(got) + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, nargs="?", default=REPO / "models" / "multi30k-en-de")
    ap.add_argument("--split", default="test_2016_flickr")
    ap.add_argument("--sentences", type=int, default=40, help="first N sentences decoded")
    ap.add_argument("--beams", type=int, nargs="+", default=[5, 1], help="beam sizes (1 = greedy); rows = beam")
    ap.add_argument("--repeats", type=int, default=3, help="decoding passes per variant and beam; median")
    ap.add_argument("--threads", type=int, default=1, help="threads of the decoding and of its limits")
    ap.add_argument("--hw-threads", type=int, nargs="+", default=[1, 2], help="thread counts of the hardware table")
    ap.add_argument("--hw-repeats", type=int, default=9)
    ap.add_argument("--stream-mb", type=int, default=512, help="buffer far beyond the L3 cache")
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--int8", action="store_true", help="also decode with nmtprune.decode.int8's int8 model")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    from sparse_breakeven import record, write

    from nmtprune.data.batching import load_split
    from nmtprune.prune.units import get_unit_score, select_units, shrink
    from nmtprune.train.checkpoint import load_model

    dense, cfg, src_vocab, tgt_vocab = load_model(args.model)
    small = shrink(dense, select_units(get_unit_score("l1")(dense), dense, 0.5, "per-layer")).eval()
    models = {
        "dense fp32": dense,
        f"pruned {args.sparsity:.0%}, stored dense fp32": prune_stored_dense(dense, args.sparsity),
        "units 50 % removed, shrunk fp32": small,
    }
    if args.int8:
        from nmtprune.decode.int8 import int8_model

        models["int8 weights"] = int8_model(dense)
    d = cfg.data
    data = load_split(d.corpus, args.split, d.src_lang, d.tgt_lang, d.lowercase, src_vocab, tgt_vocab)
    n = min(args.sentences, len(data))
    data = _first(data, n)
    result = record("roofline")
    load = result["machine"]["loadavg_at_start"]
    if load[0] > 0.5:
        print(f"WARNING: load average {load} at start: the machine is not idle", file=sys.stderr)

    # weight bytes do not depend on the rows or the source length
    costs = variant_costs(cfg.model, small.cfg, 1, 1.0, args.sparsity)
    sizes = {name: int(c["weight_bytes"]) for name, c in costs.items()}
    hw = hardware(args.hw_threads, args.stream_mb * 2**20, sizes, args.hw_repeats)
    torch.set_num_threads(args.threads)
    measured = {}
    for name, model in models.items():
        for beam in args.beams:
            measured[name, beam] = time_decoding(model.eval(), data, tgt_vocab, beam, args.repeats)
            print(f"{name} beam {beam}: {measured[name, beam]['in_step_ms']:.3f} ms/step", file=sys.stderr)
    rows = []
    for beam in args.beams:
        dense_src = measured["dense fp32", beam]["mean_src_len"]
        for name in costs:
            meas = measured.get((name, beam))
            s = meas["mean_src_len"] if meas else dense_src  # each measured variant's own source lengths
            cost = variant_costs(cfg.model, small.cfg, beam, s, args.sparsity)[name]
            lim = limits(cost, hw[args.threads], hw[args.threads]["read_gbs_at"][name]["best"], name == "int8 weights")
            row = {"variant": name, "rows": beam, "mean_src_len": round(s, 3), "cost": cost, "limits": lim}
            if meas:
                row["measured"] = meas
            else:
                row["why"] = "pending (no int8 decoding run)" if name == "int8 weights" else "limit only"
            rows.append(row)
    result |= {
        "settings": {
            "model": str(args.model),
            "split": args.split,
            "sentences": n,
            "beams": args.beams,
            "batch_size": 1,
            "repeats": args.repeats,
            "repeats_hw": args.hw_repeats,
            "threads": args.threads,
            "stream_mb": args.stream_mb,
            "sparsity": args.sparsity,
            "shrunk": "l1, per-layer, 50 % of every unit group, not retrained",
        },
        "hardware": hw,
        "rows": rows,
    }
    write(result, args.out, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
