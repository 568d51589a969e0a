"""Decoding throughput of an nmtprune checkpoint: sentences/s, beam 5 and greedy.

Times exactly what ``nmtprune evaluate`` times (``translate_data``: batches of 64 sentences in length
order, batched beam search with length penalty alpha, or greedy search), over a whole split, after
one untimed warm-up batch per beam size. Tokenisation/encoding of the split and BLEU scoring are
outside the clock. Beam sizes are interleaved within each repeat (ABBA order); the reported figure
is the median over ``--repeats``.

Usage (idle machine):
    .venv/bin/python benchmarks/decode_throughput.py runs/multi30k_ref/best --split test_2016_flickr \\
        --beams 5 1 --repeats 3 --threads 2
Writes --out (JSON) and the same name with .md (a snippet for BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from nmtprune.provenance import git_state

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_OUT = REPO / "benchmarks" / "results" / "decode_throughput.json"


def _cmd(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True, cwd=REPO).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine_info() -> dict:
    import torch

    fields = dict(line.split(":", 1) for line in _cmd(["lscpu"]).splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = fields.get("Flags", "").split()
    return {
        "cpu_model": fields.get("Model name", platform.processor()),
        "cpus": os.cpu_count(),
        "isa": [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Decoding sentences/s of an nmtprune checkpoint.")
    ap.add_argument("model", type=Path, help="checkpoint directory (e.g. runs/multi30k_ref/best)")
    ap.add_argument("--corpus", help="corpus name (default: the checkpoint's)")
    ap.add_argument("--split", default="test_2016_flickr", help="split to decode (default test_2016_flickr)")
    ap.add_argument("--beams", type=int, nargs="+", default=[5, 1], help="beam sizes (1 = greedy)")
    ap.add_argument("--alpha", type=float, default=1.0, help="length penalty, as `nmtprune evaluate`")
    ap.add_argument("--batch-size", type=int, default=64, help="sentences per decoding batch")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes per beam size; median reported")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    ap.add_argument("--limit", type=int, default=0, help="decode only the first N sentences (smoke tests)")
    ap.add_argument("--bleu", action="store_true", help="also report BLEU of the last pass (sanity check)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="result JSON (.md snippet beside it)")
    args = ap.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    from nmtprune.data.batching import ParallelData, load_split
    from nmtprune.metrics.evaluate import bleu_scores, translate_data
    from nmtprune.train.checkpoint import load_model

    torch.set_num_threads(args.threads)
    model, cfg, src_vocab, tgt_vocab = load_model(args.model)
    d = cfg.data
    corpus = args.corpus or d.corpus
    data = load_split(corpus, args.split, d.src_lang, d.tgt_lang, d.lowercase, src_vocab, tgt_vocab)
    if args.limit:
        n = min(args.limit, len(data))
        data = ParallelData(
            data.src[:n], data.tgt[:n], data.src_tokens[:n], data.tgt_tokens[:n], data.raw_src[:n], data.raw_tgt[:n]
        )
    warm = ParallelData(
        data.src[: args.batch_size],
        data.tgt[: args.batch_size],
        data.src_tokens[: args.batch_size],
        data.tgt_tokens[: args.batch_size],
        data.raw_src[: args.batch_size],
        data.raw_tgt[: args.batch_size],
    )
    machine = machine_info()
    if machine["loadavg_at_start"][0] > 0.5:
        print(f"WARNING: load average {machine['loadavg_at_start']} at start: the machine is not idle", file=sys.stderr)

    for beam in args.beams:  # warm-up (allocator, oneDNN primitives), untimed
        translate_data(model, warm, tgt_vocab, beam=beam, batch_size=args.batch_size, alpha=args.alpha)
    runs: dict[int, list[dict]] = {b: [] for b in args.beams}
    hyps = {}
    for rep in range(args.repeats):
        order = args.beams if rep % 2 == 0 else list(reversed(args.beams))
        for beam in order:
            t0 = time.perf_counter()
            hyps[beam] = translate_data(model, data, tgt_vocab, beam=beam, batch_size=args.batch_size, alpha=args.alpha)
            secs = time.perf_counter() - t0
            out_tokens = sum(len(h) + 1 for h in hyps[beam])
            runs[beam].append(
                {
                    "seconds": round(secs, 3),
                    "sentences_per_s": round(len(data) / secs, 2),
                    "output_tokens_per_s": round(out_tokens / secs, 1),
                }
            )
            print(
                f"[{rep + 1}/{args.repeats}] beam {beam}: {len(data) / secs:.1f} sentences/s",
                file=sys.stderr,
                flush=True,
            )

    results = {}
    for beam in args.beams:
        vals = [r["sentences_per_s"] for r in runs[beam]]
        entry = {"runs": runs[beam], "median_sentences_per_s": round(statistics.median(vals), 2)}
        if args.bleu:
            entry["bleu"] = bleu_scores(hyps[beam], data.raw_tgt, d.tgt_lang)
        results[f"beam{beam}"] = entry
    result = {
        "benchmark": "decode_throughput",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "git": dict(zip(("commit", "dirty"), git_state())),
        "machine": machine,
        "settings": {
            "model": str(args.model),
            "corpus": corpus,
            "split": args.split,
            "sentences": len(data),
            "limit": args.limit,
            "beams": args.beams,
            "alpha": args.alpha,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
            "threads": args.threads,
            "torch_threads": torch.get_num_threads(),
            "params": sum(p.numel() for p in model.parameters()),
            "warmup": "one batch per beam, untimed",
        },
        "results": results,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"### Decoding throughput ({corpus} {args.split}, {len(data)} sentences)",
        "",
        f"Machine: {machine['cpu_model']}, {machine['cpus']} CPUs; torch {machine['torch']}, {args.threads} threads; "
        f"batch {args.batch_size} sentences, fp32, alpha {args.alpha}; checkpoint `{args.model}` "
        f"({result['settings']['params']:,} parameters); commit `{(result['git']['commit'] or '?')[:10]}`; "
        f"{result['date']}; median of {args.repeats} passes after a warm-up batch.",
        "",
        "| search | runs (sentences/s) | median sentences/s |",
        "| --- | --- | --- |",
    ]
    for beam in args.beams:
        e = results[f"beam{beam}"]
        name = "greedy" if beam == 1 else f"beam {beam}"
        lines.append(
            f"| {name} | {', '.join(str(r['sentences_per_s']) for r in e['runs'])} | "
            f"**{e['median_sentences_per_s']}** |"
        )
    lines += [
        "",
        f"Reproduce: `.venv/bin/python benchmarks/decode_throughput.py "
        f"{' '.join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))}`",
        "",
    ]
    md = "\n".join(lines)
    args.out.with_suffix(".md").write_text(md, encoding="utf-8")
    print(md)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
