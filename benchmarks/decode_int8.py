"""CPU decoding speed and BLEU of fp32 and int8, in PyTorch and in onnxruntime, in one run.

Four decoders of one model on the same sentences (the first ``--limit`` of ``--split``):

* ``PyTorch fp32``: the model as ``nmtprune evaluate`` runs it (the baseline of every ratio);
* ``PyTorch int8``: ``nmtprune evaluate --int8`` (:mod:`nmtprune.decode.int8`);
* ``onnxruntime fp32`` and ``onnxruntime int8``: ``nmtprune export-onnx [--int8]`` directories,
  exported here into a temporary folder, decoded by :mod:`nmtprune.deploy.onnx_runner`.

All four go through the same search code (``translate_data``: batches of 64 in length order, greedy
and beam 5, alpha 1), on ``--threads`` threads (torch's and onnxruntime's). After one untimed
warm-up batch each, every repeat times each decoder once, in an order that rotates between repeats
so that a slow spell of a shared machine does not land on one decoder; each figure is the median of
``--repeats`` passes, and each ratio is a median against PyTorch fp32's median of the same run.
BLEU is ``bleu_tok_lc`` (the Multi30k protocol) on those sentences, with the shares of sentences
whose translation equals PyTorch fp32's and PyTorch int8's.

Usage:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/decode_int8.py models/multi30k-en-de --limit 100 --repeats 5
Prints a markdown table; writes ``--out`` (default benchmarks/results/decode_int8.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_OUT = REPO / "benchmarks" / "results" / "decode_int8.json"
VARIANTS = ("PyTorch fp32", "PyTorch int8", "onnxruntime fp32", "onnxruntime int8")


def machine() -> dict:
    import onnxruntime
    import torch
    from decode_throughput import machine_info

    info = machine_info()  # the CPU's model name, as the other decoding benchmarks record it
    return {
        "cpu": info["cpu_model"],
        "cores": info["cpus"],
        "capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "quantized_engine": torch.backends.quantized.engine,
    }


def commit() -> str:
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short=10", "HEAD") or "unknown"
    return head + (
        "+uncommitted" if git("status", "--porcelain", "--", "nmtprune", "benchmarks/decode_int8.py") else ""
    )


def decoders(model_dir: str, threads: int, work: Path) -> tuple[dict, object]:
    """The four decoders of the model in ``model_dir`` (exports written under ``work``), and the loaded model."""
    from nmtprune import api as nmt
    from nmtprune.decode.int8 import int8_model
    from nmtprune.deploy import export_onnx, load_onnx

    m = nmt.load(model_dir)
    export_onnx(m.net, model_dir, work / "fp32")
    export_onnx(m.net, model_dir, work / "int8", int8=True)
    return {
        "PyTorch fp32": m.net,
        "PyTorch int8": int8_model(m.net),
        "onnxruntime fp32": load_onnx(work / "fp32", threads=threads)[0],
        "onnxruntime int8": load_onnx(work / "int8", threads=threads)[0],
    }, m


def run(args) -> dict:
    import torch

    from nmtprune import api as nmt
    from nmtprune.metrics.evaluate import bleu_scores, translate_data

    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="decode_int8.") as work:
        models, m = decoders(args.model, args.threads, Path(work))
        data = nmt.sentences(m, args.split, args.limit)
        warm = nmt.sentences(m, args.split, 8)
        rows = []
        for beam in args.beams:
            for model in models.values():  # warm-up: first calls allocate and pack
                translate_data(model, warm, m.tgt_vocab, beam=beam)
            runs: dict[str, list[float]] = {v: [] for v in VARIANTS}
            hyps: dict[str, list] = {}
            for r in range(args.repeats):
                for v in VARIANTS[r % 4 :] + VARIANTS[: r % 4]:
                    start = time.perf_counter()
                    hyps[v] = translate_data(models[v], data, m.tgt_vocab, beam=beam)
                    runs[v].append(round(len(data) / (time.perf_counter() - start), 2))
            base = statistics.median(runs["PyTorch fp32"])
            for v in VARIANTS:
                median = round(statistics.median(runs[v]), 2)
                same = sum(a == b for a, b in zip(hyps[v], hyps["PyTorch fp32"]))
                same8 = sum(a == b for a, b in zip(hyps[v], hyps["PyTorch int8"]))
                rows.append(
                    {
                        "variant": v,
                        "beam": beam,
                        "runs": runs[v],
                        "median": median,
                        "vs_fp32": round(median / base, 2),
                        "bleu_tok_lc": bleu_scores(hyps[v], data.raw_tgt, m.cfg.data.tgt_lang)["bleu_tok_lc"],
                        "same_as_fp32": round(same / len(data), 3),
                        "same_as_int8": round(same8 / len(data), 3),
                    }
                )
    return {
        "machine": machine(),
        "commit": commit(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(
            [f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}"] * ("OMP_NUM_THREADS" in os.environ)
            + [shlex.quote(a) for a in [".venv/bin/python", "benchmarks/decode_int8.py", *sys.argv[1:]]]
        ),
        "model": args.model,
        "split": args.split,
        "sentences": len(data),
        "threads": args.threads,
        "repeats": args.repeats,
        "load_average": {"start": [round(x, 2) for x in load_start], "end": [round(x, 2) for x in os.getloadavg()]},
        "rows": rows,
    }


def markdown(res: dict) -> str:
    mach = res["machine"]
    lines = [
        f"Machine: {mach['cpu']}, {mach['cores']} cores, capability `{mach['capability']}`, torch {mach['torch']} "
        f"(quantised engine `{mach['quantized_engine']}`), onnxruntime {mach['onnxruntime']}; "
        f"{res['threads']} thread(s); commit `{res['commit']}`; {res['date']}; load average "
        f"{res['load_average']['start'][0]} at start, {res['load_average']['end'][0]} at the end.",
        f"`{res['model']}`, the first {res['sentences']} sentences of `{res['split']}`, batches of 64; "
        f"median of {res['repeats']} passes after a warm-up.",
        "",
        "| decoder | search | runs (sentences/s) | median sentences/s | vs PyTorch fp32 | BLEU (tok, lc) "
        "| same output as PyTorch fp32 | as PyTorch int8 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in res["rows"]:
        search = "greedy" if r["beam"] == 1 else f"beam {r['beam']}"
        lines.append(
            f"| {r['variant']} | {search} | {', '.join(str(x) for x in r['runs'])} | **{r['median']}** "
            f"| {r['vs_fp32']}x | {r['bleu_tok_lc']} | {r['same_as_fp32']:.0%} | {r['same_as_int8']:.0%} |"
        )
    lines += ["", f"Reproduce: `{res['command']}`"]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", nargs="?", default="models/multi30k-en-de")
    p.add_argument("--split", default="test_2016_flickr")
    p.add_argument("--limit", type=int, default=100, help="the split's first N sentences (default %(default)s)")
    p.add_argument("--beams", type=int, nargs="+", default=[1, 5])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    res = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(args.out).with_suffix(".tmp")
    tmp.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
