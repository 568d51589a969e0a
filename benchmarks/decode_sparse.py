"""What CSR decoding buys a pruned model: the same model decoded dense and with ``--sparse``, in one run.

For each sparsity (magnitude, class-blind, no retraining, pruned here from ``MODEL``) and each
``--add NAME=DIR`` (a model pruned and retrained elsewhere), two decoders of the same weights:

* ``dense path``: the pruned model as ``nmtprune evaluate`` runs it (zeros multiplied like any weight);
* ``written-out, dense``: the decoder step ``--sparse`` runs (:class:`nmtprune.decode.explicit_step.
  ExplicitStep`: one product per LSTM layer on [x; h]) with every product dense (``mode="none"``),
  the control that tells what the rewritten step alone changes;
* ``--sparse``: :func:`nmtprune.decode.sparse.sparse_model`, which times each decoder-step product
  dense and as CSR at the row counts decoding uses and runs CSR where it pays (its plan is recorded).

All three give the same translations up to rounding (the share identical to the row they are compared
with is recorded): ``--sparse`` against ``written-out, dense`` is what skipping the zeros buys, free
of the translation lengths; ``written-out, dense`` against the dense path is what the rewritten
step buys; the dense fp32 model of
the same run is timed too, as the baseline a user compares with (a pruned model without retraining
writes different, often longer, translations, which its ratio to dense includes). Beam-5
sentences/s over the first ``--speed-sentences`` (batches of 64) and greedy latency per sentence, one
sentence at a time, over the first ``--latency-sentences``; each figure the median of ``--repeats``
passes, every repeat timing every decoder once in an order that rotates between repeats. Both the wall
time and the process's CPU time are recorded; the table and the ratios use CPU time, which on one
thread is what the decoding cost, since on a shared machine the wall time of one pass varied up to 3x
between repeats of the same decoder.

Usage (about 15 minutes on one loaded thread):
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/decode_sparse.py --repeats 3
Prints a markdown table; writes ``--out`` (default benchmarks/results/decode_sparse.json).
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DEFAULT_OUT = REPO / "benchmarks" / "results" / "decode_sparse.json"


def decoders(model_dir: str, sparsities: list[float], extra: list[tuple[str, Path]]) -> tuple[list[dict], object]:
    """``{"variant", "group", "path", "model", "plan"?, "build_s"?}`` per decoder, and the dense model."""
    from nmtprune import api as nmt
    from nmtprune.decode.sparse import sparse_model

    dense = nmt.load(model_dir)
    out = [{"variant": "dense fp32", "group": "dense", "path": "dense", "model": dense.net}]
    models = []
    for s in sparsities:
        pruned = nmt.Loaded(copy.deepcopy(dense.net), *dense[1:])
        nmt.prune(pruned, "magnitude", s, "class-blind")
        models.append((f"magnitude {s * 100:g} % (no retraining)", pruned.net))
    models += [(name, nmt.load(src).net) for name, src in extra]
    for name, net in models:
        t0 = time.perf_counter()
        sp = sparse_model(net)
        build_s = round(time.perf_counter() - t0, 2)
        out.append({"variant": name, "group": name, "path": "dense path", "model": net})
        out.append(
            {"variant": name, "group": name, "path": "written-out, dense", "model": sparse_model(net, mode="none")}
        )
        out.append(
            {"variant": name, "group": name, "path": "--sparse", "model": sp, "plan": sp.plan, "build_s": build_s}
        )
    return out, dense


def measure(variants: list[dict], dense, args) -> None:
    """BLEU, translations and speed runs of every decoder (in place)."""
    from nmtprune import api as nmt
    from nmtprune.metrics.evaluate import bleu_scores, translate_data

    tv, lang = dense.tgt_vocab, dense.cfg.data.tgt_lang
    test = nmt.sentences(dense, args.split, args.bleu_sentences or None)
    speed = nmt.sentences(dense, args.split, args.speed_sentences)
    latency = nmt.sentences(dense, args.split, args.latency_sentences)
    for v in variants:
        v["hyps"] = translate_data(v["model"], test, tv, beam=5)
        v["bleu_tok_lc"] = bleu_scores(v["hyps"], test.raw_tgt, lang)["bleu_tok_lc"]
        translate_data(v["model"], latency, tv, beam=1, batch_size=1)  # warm-up
        v["beam5_runs"], v["latency_runs_ms"], v["beam5_cpu_runs"], v["latency_cpu_runs_ms"] = [], [], [], []
        print(f"{v['variant']}, {v['path']}: BLEU {v['bleu_tok_lc']}", file=sys.stderr, flush=True)
    for r in range(args.repeats):
        shift = r * len(variants) // args.repeats
        for v in variants[shift:] + variants[:shift]:
            wall, cpu = _timed(lambda: translate_data(v["model"], speed, tv, beam=5))
            v["beam5_runs"].append(round(len(speed) / wall, 2))
            v["beam5_cpu_runs"].append(round(len(speed) / cpu, 2))
            wall, cpu = _timed(lambda: translate_data(v["model"], latency, tv, beam=1, batch_size=1))
            v["latency_runs_ms"].append(round(1000 * wall / len(latency), 2))
            v["latency_cpu_runs_ms"].append(round(1000 * cpu / len(latency), 2))
        print(f"repeat {r + 1}/{args.repeats} done", file=sys.stderr, flush=True)


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of fn(): on one thread the CPU time is what the
    decoding itself cost, while the wall time also holds the waits of a shared machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def rows(variants: list[dict]) -> list[dict]:
    """Medians, and ratios to dense fp32 and to the same weights on the dense path (same run), from CPU time."""
    med = {
        id(v): (statistics.median(v["beam5_cpu_runs"]), statistics.median(v["latency_cpu_runs_ms"])) for v in variants
    }
    base = med[id(variants[0])]
    # each row's control: --sparse against the same step with dense products, that one against the dense path
    control = {"--sparse": "written-out, dense", "written-out, dense": "dense path"}
    by_path = {(v["group"], v["path"]): v for v in variants}
    out = []
    for v in variants:
        speed, latency = med[id(v)]
        twin = by_path[(v["group"], control.get(v["path"], v["path"]))]
        row = {
            "variant": v["variant"],
            "path": v["path"],
            "control": twin["path"],
            "bleu_tok_lc": v["bleu_tok_lc"],
            "same_translations": round(sum(a == b for a, b in zip(v["hyps"], twin["hyps"])) / len(v["hyps"]), 3),
            "beam5_runs": v["beam5_runs"],
            "beam5_cpu_runs": v["beam5_cpu_runs"],
            "beam5_sentences_per_cpu_s": round(speed, 2),
            "beam5_sentences_per_s_wall": round(statistics.median(v["beam5_runs"]), 2),
            "vs_dense_fp32": round(speed / base[0], 2),
            "vs_control": round(speed / med[id(twin)][0], 2),
            "greedy_latency_runs_ms": v["latency_runs_ms"],
            "greedy_latency_cpu_runs_ms": v["latency_cpu_runs_ms"],
            "greedy_cpu_ms": round(latency, 2),
            "greedy_latency_ms_wall": round(statistics.median(v["latency_runs_ms"]), 2),
            "latency_lower_vs_dense_fp32": round(base[1] / latency, 2),
            "latency_lower_vs_control": round(med[id(twin)][1] / latency, 2),
        }
        for key in ("plan", "build_s"):
            if key in v:
                row[key] = v[key]
        out.append(row)
    return out


def markdown(res: dict) -> str:
    head = (
        "| variant | decoded | BLEU | same translations as its control | beam-5 sent per CPU s | × dense fp32 "
        "| × its control | greedy CPU ms/sent | × lower vs dense fp32 | × lower vs its control |\n"
        + "| --- " * 10
        + "|\n"
    )
    body = "".join(
        f"| {r['variant']} | {r['path']} | {r['bleu_tok_lc']} | {r['same_translations']:.0%} | "
        f"{r['beam5_sentences_per_cpu_s']} | {r['vs_dense_fp32']} | {r['vs_control']} | {r['greedy_cpu_ms']} | "
        f"{r['latency_lower_vs_dense_fp32']} | {r['latency_lower_vs_control']} |\n"
        for r in res["rows"]
    )
    return head + body


def parse_added(items: list[str]) -> list[tuple[str, Path]]:
    out = []
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not (Path(path) / "model.safetensors").is_file():
            raise SystemExit(f"decode_sparse.py: --add {item!r}: expected NAME=DIR, a model directory")
        out.append((name, Path(path)))
    return out


def main(argv=None) -> int:
    import torch
    from decode_throughput import machine_info
    from deployable import commit

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", nargs="?", default="models/multi30k-en-de")
    p.add_argument("--split", default="test_2016_flickr")
    p.add_argument("--sparsities", type=float, nargs="+", default=[0.5, 0.8, 0.9, 0.95])
    p.add_argument("--add", action="append", default=[], metavar="NAME=DIR", help="a model pruned elsewhere")
    p.add_argument("--bleu-sentences", type=int, default=0, help="BLEU on the first N sentences (0 = all)")
    p.add_argument("--speed-sentences", type=int, default=100)
    p.add_argument("--latency-sentences", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    extra = parse_added(args.add)
    torch.set_num_threads(args.threads)
    info = machine_info()
    res = {
        "command": "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/decode_sparse.py " + shlex.join(argv or sys.argv[1:]),
        **commit(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {**info, "capability": torch.backends.cpu.get_cpu_capability(), "threads": args.threads},
    }
    variants, dense = decoders(args.model, args.sparsities, extra)
    measure(variants, dense, args)
    res["rows"] = rows(variants)
    res["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out)
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
