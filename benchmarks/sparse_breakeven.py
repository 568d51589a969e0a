"""Sparsity at which a sparse weight matrix multiplies faster than the dense one, per decoding matmul.

    .venv/bin/python benchmarks/sparse_breakeven.py models/multi30k-en-de --threads 1

Each matrix that a decoder step multiplies, with the shape read from the checkpoint:

    decoder layer k   [W_ih W_hh]   (4H_k, in_k + H_k)   one matrix, as a fused LSTM cell would store it
    attention W_c                   (A, H_enc + H_dec)
    softmax layer W_s               (V_tgt, A)
    attention W_a                   (H_dec, H_enc)       once per sentence over its source states, not per step

For each matrix W (out, in), rows ``x`` (B, in) and sparsity s, the dense product ``x @ W.T`` (fp32)
races the same product with W stored sparse: ``(W_sparse @ x.T).T`` where W_sparse is
``to_sparse_csr()`` or ``to_sparse_bsr((b, b))``. B is what decoding multiplies at once: 1 (greedy,
one sentence), 5 (beam 5, one sentence), 64 and 320 (``translate_data``'s batches of 64 sentences,
greedy and beam 5). Masks:

* ``csr``, ``bsr{b}``: an unstructured random mask keeping (1 - s) of the weights; BSR then stores
  every b x b block that holds a kept weight, zeros included.
* ``bsr{b}-block``: a random mask of whole b x b blocks, what block pruning would give; it shows what
  BSR can do when the mask has its structure.
* ``csr-magnitude`` (``--magnitude``): the checkpoint's own weights pruned by magnitude per matrix.

Timing: one thread by default; after a warm-up call, dense and sparse calls alternate ``--repeats``
times and each side keeps its median (alternating keeps a slow spell of the shared machine from
falling on one side only); the table shows the lowest and highest dense median of each row, the
spread between races of the same product. Break-even: the lowest sparsity from which the sparse format's median is
below the dense one's at that sparsity and every higher one; "never" if that does not hold at the
highest. Sparsities are raced from the highest down and a cell stops at the first loss, since lower
sparsities cannot change its break-even (and sparse products of dense-ish matrices are the slow
ones). Writes ``--out`` (JSON, every median) and a markdown snippet beside it; ``--report JSON``
writes the markdown of one or more results (runs of the same grid side by side) to ``--out``'s .md
without timing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DEFAULT_OUT = REPO / "benchmarks" / "results" / "sparse_breakeven.json"
SPARSITIES = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99)
ROWS = (1, 5, 64, 320)

__all__ = ["decoding_matrices", "random_mask", "block_mask", "magnitude_mask", "break_even", "race"]


def decoding_matrices(model) -> dict[str, tuple[torch.Tensor, str]]:
    """The matrices of a :class:`~nmtprune.models.seq2seq.Seq2Seq` that decoding multiplies.

    Returns name -> (weight (out, in), when it is applied); the LSTM layers as [W_ih W_hh].
    """
    out = {}
    for k in range(model.cfg.dec_layers):
        w_ih, w_hh, _, _ = model.decoder.layer(k)
        out[f"decoder layer {k + 1} [W_ih W_hh]"] = (torch.cat([w_ih, w_hh], 1).detach().float(), "per step")
    out["attention W_c"] = (model.attention.W_c.detach().float(), "per step")
    out["softmax layer W_s"] = (model.generator.weight.detach().float(), "per step")
    if model.attention.W_a is not None:
        out["attention W_a"] = (model.attention.W_a.detach().float(), "per sentence")
    return out


def random_mask(shape: tuple[int, int], sparsity: float, gen: torch.Generator) -> torch.Tensor:
    """Bool (out, in): exactly round((1 - sparsity) * numel) kept positions, uniformly at random."""
    n = shape[0] * shape[1]
    keep = torch.zeros(n, dtype=torch.bool)
    keep[torch.randperm(n, generator=gen)[: round((1 - sparsity) * n)]] = True
    return keep.view(shape)


def block_mask(shape: tuple[int, int], sparsity: float, block: int, gen: torch.Generator) -> torch.Tensor:
    """Bool (out, in): whole block x block tiles kept at random, (1 - sparsity) of the tiles.

    The shape must divide into tiles (callers pad it).
    """
    rows, cols = shape[0] // block, shape[1] // block
    if rows * block != shape[0] or cols * block != shape[1]:
        raise ValueError(f"shape {shape} does not divide into {block}x{block} blocks")
    tiles = random_mask((rows, cols), sparsity, gen)
    return tiles.repeat_interleave(block, 0).repeat_interleave(block, 1)


def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Bool like ``weight``: the round((1 - sparsity) * numel) largest |w| kept."""
    k = round((1 - sparsity) * weight.numel())
    keep = torch.zeros(weight.numel(), dtype=torch.bool)
    keep[weight.abs().flatten().topk(k).indices] = True
    return keep.view_as(weight)


def break_even(sparsities: list[float], sparse_ms: list[float], dense_ms: list[float]) -> float | None:
    """Lowest sparsity from which sparse is faster than dense at it and every higher one; None if never.

    The three lists run in the same order, any order.
    """
    found = None
    for s, sp, de in sorted(zip(sparsities, sparse_ms, dense_ms), reverse=True):
        if sp >= de:
            break
        found = s
    return found


def race(dense_fn, sparse_fn, repeats: int) -> tuple[float, float]:
    """Median milliseconds of dense_fn and sparse_fn, called alternately ``repeats`` times after a warm-up."""
    dense_fn(), sparse_fn()
    dense, sparse = [], []
    for _ in range(repeats):
        for fn, times in ((dense_fn, dense), (sparse_fn, sparse)):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(dense), statistics.median(sparse)


def _block(fmt: str) -> int:
    return int(fmt[3:].split("-")[0]) if fmt.startswith("bsr") else 1


def _padded(weight: torch.Tensor, block: int) -> torch.Tensor:
    """weight (out, in) with zero rows and columns up to multiples of ``block`` (BSR needs whole blocks).

    Zero padding stores no block, so the sparse side does no extra work beyond the longer row pointer;
    the product is cut back to ``out`` rows.
    """
    rows, cols = (-weight.shape[0]) % block, (-weight.shape[1]) % block
    return torch.nn.functional.pad(weight, (0, cols, 0, rows)) if rows or cols else weight


def _sparse(weight: torch.Tensor, mask: torch.Tensor, fmt: str) -> torch.Tensor:
    masked = weight * mask
    if fmt.startswith("csr"):
        return masked.to_sparse_csr()
    b = _block(fmt)
    return masked.to_sparse_bsr((b, b))


def _mask(fmt: str, weight: torch.Tensor, sparsity: float, gen: torch.Generator) -> torch.Tensor:
    if fmt == "csr-magnitude":
        return magnitude_mask(weight, sparsity)
    if fmt.endswith("-block"):
        return block_mask(tuple(weight.shape), sparsity, _block(fmt), gen)
    return random_mask(tuple(weight.shape), sparsity, gen)


def measure(matrices: dict, rows: list[int], sparsities: list[float], formats: list[str], repeats: int) -> list[dict]:
    """Every (matrix, B, format, sparsity) race; one dict per (matrix, B, format) with its medians."""
    gen = torch.Generator().manual_seed(0)
    results = []
    for name, (weight, when) in matrices.items():
        for B in rows:
            x = torch.randn(B, weight.shape[1], generator=gen)
            out = weight.shape[0]
            for fmt in formats:
                wp = _padded(weight, _block(fmt))
                # (in, B), zero rows for padded columns: the sparse operand comes first
                xt = torch.nn.functional.pad(x.T, (0, 0, 0, wp.shape[1] - x.shape[1])).contiguous()
                done, dense_ms, sparse_ms, stored = [], [], [], []
                for s in sorted(sparsities, reverse=True):
                    ws = _sparse(wp, _mask(fmt, wp, s, gen), fmt)
                    d, sp = race(lambda: x @ weight.T, lambda: (ws @ xt)[:out].T, repeats)
                    done.append(s)
                    dense_ms.append(round(d, 4))
                    sparse_ms.append(round(sp, 4))
                    stored.append(round(ws.values().numel() / wp.numel(), 4))
                    if sp >= d:
                        break
                results.append(
                    {
                        "matrix": name,
                        "shape": list(weight.shape),
                        "applied": when,
                        "rows": B,
                        "format": fmt,
                        "sparsities": done,
                        "dense_ms": dense_ms,
                        "sparse_ms": sparse_ms,
                        "stored_fraction": stored,
                        "break_even": break_even(done, sparse_ms, dense_ms),
                    }
                )
                print(f"{name} B={B} {fmt}: break-even {results[-1]['break_even']}", file=sys.stderr, flush=True)
    return results


def machine() -> dict:
    """decode_throughput's machine record plus /proc/cpuinfo's model name and torch's CPU capability."""
    from decode_throughput import machine_info

    info = machine_info()
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    names = [ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")]
    info["cpuinfo_model"] = names[0] if names else info["cpu_model"]
    info["capability"] = torch.backends.cpu.get_cpu_capability()
    return info


def record(benchmark: str, **fields) -> dict:
    """A result's opening fields: benchmark, date, command, git commit, machine; then ``fields``."""
    from nmtprune.provenance import git_state

    return {
        "benchmark": benchmark,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]),
        "git": dict(zip(("commit", "dirty"), git_state())),
        "machine": machine(),
        **fields,
    }


def write(result: dict, out: Path, md: str) -> None:
    """``result`` as JSON at ``out`` and ``md`` beside it (.md), the markdown also printed."""
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(md, encoding="utf-8")
    print(md)
    print(f"wrote {out} and {out.with_suffix('.md')}", file=sys.stderr)


def _cell(r: dict) -> tuple[str, str]:
    """(break-even, sparse/dense time at 99 %) of one race series, as the table prints them."""
    be = "never" if r["break_even"] is None else f"{round(100 * r['break_even'])}"
    at = r["sparsities"].index(0.99) if 0.99 in r["sparsities"] else None
    return be, "–" if at is None else f"{r['sparse_ms'][at] / r['dense_ms'][at]:.2f}"


def markdown(results: list[dict]) -> str:
    """The table for BENCHMARKS.md: break-even per matrix x B x format, and sparse/dense time at 99 %.

    With several runs of the same grid each cell lists every run's figure, separated by " / ".
    """
    lines = []
    for result in results:
        m, st = result["machine"], result["settings"]
        lines += [
            f"Machine: {m['cpuinfo_model']}, {m['cpus']} CPUs, capability `{m['capability']}`; torch {m['torch']}; "
            f"{st['threads']} thread(s); commit `{(result['git']['commit'] or '?')[:10]}`"
            f"{' (+uncommitted)' if result['git']['dirty'] else ''}; {result['date']}; load average at start "
            f"{m['loadavg_at_start'][0]}. Median of {st['repeats']} alternating dense/sparse calls per cell.\n",
            f"Command: `{result['command']}`\n",
        ]
    formats = results[0]["settings"]["formats"]
    lines += [
        'Each cell: break-even sparsity in % (sparse/dense time at 99 %; below 1: sparse faster); "never": '
        "not faster at 99 %." + (" Runs in the order above, separated by /." if len(results) > 1 else "") + "\n",
        "| matrix (shape, applied) | B | dense ms (lowest–highest median of the row) | " + " | ".join(formats) + " |",
        "| --- | --- | --- |" + " --- |" * len(formats),
    ]
    cells: dict[tuple[str, int], dict[str, list[tuple[str, str]]]] = {}
    dense: dict[tuple[str, int], list[float]] = {}
    stored: dict[str, list[float]] = {}
    for result in results:
        for r in result["results"]:
            key = (f"{r['matrix']} ({'x'.join(map(str, r['shape']))}, {r['applied']})", r["rows"])
            cells.setdefault(key, {}).setdefault(r["format"], []).append(_cell(r))
            dense.setdefault(key, []).extend(r["dense_ms"])
            if 0.99 in r["sparsities"]:
                stored.setdefault(r["format"], []).append(r["stored_fraction"][r["sparsities"].index(0.99)])
    for key, row in cells.items():
        spread = f"{min(dense[key]):.3g}–{max(dense[key]):.3g}"
        text = [
            " / ".join(b for b, _ in row[f]) + " (" + " / ".join(t for _, t in row[f]) + ")" if f in row else "–"
            for f in formats
        ]
        lines.append(f"| {key[0]} | {key[1]} | {spread} | " + " | ".join(text) + " |")
    if stored:
        lines.append(
            "\nValues stored at 99 % sparsity, as a fraction of the dense matrix (highest over the matrices): "
            + ", ".join(f"{f} {max(v):.2f}" for f, v in stored.items())
            + "."
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, nargs="?", default=REPO / "models" / "multi30k-en-de")
    ap.add_argument("--rows", type=int, nargs="+", default=list(ROWS), help="rows B multiplied at once")
    ap.add_argument("--sparsities", type=float, nargs="+", default=list(SPARSITIES))
    ap.add_argument("--blocks", type=int, nargs="+", default=[4, 16], help="BSR block sizes")
    ap.add_argument("--magnitude", action="store_true", help="also CSR with the checkpoint's magnitude mask")
    ap.add_argument("--repeats", type=int, default=7, help="timed calls per side; medians kept")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", nargs="+", help="matrices whose name contains one of these words")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument(
        "--report", type=Path, nargs="+", help="only write the markdown of these result JSONs, one table (no timing)"
    )
    args = ap.parse_args(argv)
    if args.report:
        md = markdown([json.loads(p.read_text(encoding="utf-8")) for p in args.report])
        args.out.with_suffix(".md").write_text(md, encoding="utf-8")
        print(md)
        return 0

    import warnings

    from nmtprune.train.checkpoint import load_model

    warnings.filterwarnings("ignore", message=".*Sparse (CSR|BSR) tensor support is in beta.*")
    torch.set_num_threads(args.threads)
    model = load_model(args.model)[0]
    matrices = decoding_matrices(model)
    if args.only:
        matrices = {k: v for k, v in matrices.items() if any(w in k for w in args.only)}
    formats = ["csr"] + [f"bsr{b}" for b in args.blocks] + [f"bsr{b}-block" for b in args.blocks]
    formats += ["csr-magnitude"] if args.magnitude else []
    result = record("sparse_breakeven")
    load = result["machine"]["loadavg_at_start"]
    if load[0] > 0.5:
        print(f"WARNING: load average {load} at start: the machine is not idle", file=sys.stderr)
    t0 = time.perf_counter()
    result["settings"] = {
        "model": str(args.model),
        "rows": args.rows,
        "formats": formats,
        "repeats": args.repeats,
        "threads": torch.get_num_threads(),
        "dtype": "float32",
        "product": "dense x @ W.T vs (W_sparse @ x.T).T",
    }
    result["results"] = measure(matrices, args.rows, sorted(args.sparsities), formats, args.repeats)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    write(result, args.out, markdown([result]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
