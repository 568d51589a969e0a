"""What a user can ship today: each deployable variant's file size, decoding speed and BLEU, in one run.

The variants are built here, in a few minutes, from the committed model (``models/multi30k-en-de``)
with no retraining:

* ``dense fp32``: the model as trained, decoded as ``nmtprune evaluate`` does; its checkpoint stores
  the weights as fp16 (``model.safetensors``), which load as fp32;
* ``dense int8``: the same file decoded with ``--int8`` (:mod:`nmtprune.decode.int8`);
* ``dense onnxruntime int8``: ``nmtprune export-onnx --int8``, decoded by onnxruntime (its two graphs ship);
* ``magnitude S %`` at 50, 80 and 90 %: pruned class-blind (``nmtprune prune``), then compressed
  (``nmtprune compress``) as int8 per row and as k-means 4 and 5 bits; the compressed file is what
  ships, and it is decoded with ``--int8`` (loading it gives fp32 weights, as fast as dense fp32);
* ``units 50 % shrunk``: half the hidden units of every layer removed by L1 and the matrices shrunk
  (``nmtprune prune-units`` + ``shrink``), its ``model.safetensors`` decoded in fp32 and with ``--int8``;
* ``+ shortlist P/F``: each int8 variant of an uncompressed model (``--int8`` and onnxruntime) again, its softmax layer restricted
  to the words a target-vocabulary shortlist gives each batch's sources (``nmtprune shortlist
  --per-source P --frequent F``, built here from the training pairs; ``--shortlist`` of
  translate/evaluate), at 20/500 and 10/200; its BLEU says what it costs.

Measured per variant: the size of the file(s) shipped and how many times smaller than the dense
model's weights as a float32 ``model.safetensors`` (the reference of ``nmtprune compress``'s report);
BLEU (``bleu_tok_lc``, the Multi30k protocol) at beam 5 on the whole split, or on its first
``--max-sentences``; beam-5 sentences/s on ``--threads`` threads over the first
``--speed-sentences`` (batches of 64, as ``evaluate``); and greedy latency per sentence, one sentence
at a time, over the first ``--latency-sentences``. Each speed figure is the median of ``--repeats``
passes; every repeat times every variant once, in an order that rotates between repeats, so that a
slow spell of a shared machine lands on all variants alike; ratios are against dense fp32's median of
the same run.

Each variant is marked against the targets: a file >= 50x smaller than dense fp32, and decoding >= 4x
dense fp32's beam-5 sentences/s with greedy latency >= 4x lower, each within 1.0 BLEU of dense fp32.

``--deploy-study studies/deploy.yaml`` adds the models that study trained (``nmtprune sweep``; hours of
CPU each): a magnitude model retrained at 95 %, compressed, and a model with half its hidden units removed
and retrained, shrunk (:mod:`deployable_variants`).

``--add NAME=DIR`` (repeatable) adds a model trained elsewhere, such as a pruned model retrained by
``nmtprune retrain`` or a shrunk one retrained by a units study cell: the variants the targets need,
which take hours of training and are not built here.

Usage (about 20 minutes on one loaded thread):
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/deployable.py --speed-sentences 100 --repeats 3
Prints a markdown table; writes ``--out`` (default benchmarks/results/deployable.json).
"""

from __future__ import annotations

import argparse
import copy
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
sys.path.insert(0, str(REPO / "benchmarks"))
from deployable_variants import (  # noqa: E402
    deploy_models,
    onnx_shortlist_files,
    stored_and_int8,
    trained_variants,
    with_shortlist,
)

DEFAULT_OUT = REPO / "benchmarks" / "results" / "deployable.json"
SPARSITIES = (0.5, 0.8, 0.9)
COMPRESSIONS = (("int8", "int8", None), ("k-means 4 bits", "kmeans", 4), ("k-means 5 bits", "kmeans", 5))
TARGETS = {"smaller": 50.0, "faster": 4.0, "bleu_drop": 1.0}
# what the targets need and this script cannot make: hours of CPU training each
NEEDS = (
    "No variant here is retrained. The targets need a magnitude-pruned model retrained at high sparsity "
    "(95 %) to stay within 1 BLEU when compressed 50x, and a model with 50 % of its hidden units removed "
    "and retrained to keep BLEU while decoding 4x faster; both are CPU-hours of training, not minutes "
    "(studies/deploy.yaml trains them; --deploy-study measures them here)."
)


def needs(retrained: list[str], pending: list[str] = ()) -> str:
    """What the table leaves out, in words: the fixed sentence when no deploy study was measured."""
    if not retrained and not pending:
        return NEEDS
    text = "The rows marked retrained are the models the deploy study trained" + (
        " (result files: " + ", ".join(f"`{r}`" for r in retrained) + ")" if retrained else " (none has finished yet)"
    )
    text += "; every other row is built from the committed model with no retraining."
    if pending:
        text += " Not measured yet: " + "; ".join(pending) + "."
    return text


def machine(threads: int) -> dict:
    import torch
    from decode_throughput import machine_info

    info = machine_info()  # lscpu's model name and ISA flags, as the other decoding benchmarks record them
    return {
        "cpu": info["cpu_model"],
        "cores": info["cpus"],
        "isa": info["isa"],
        "capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "quantized_engine": torch.backends.quantized.engine,
        "threads": threads,
    }


def commit() -> dict:
    """HEAD at the start, and the tracked files of the package or of this script that differ from it."""

    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout

    dirty = git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        "nmtprune",
        "benchmarks/deployable.py",
        "benchmarks/deployable_variants.py",
    )
    return {
        "commit": git("rev-parse", "--short=10", "HEAD").strip() or "unknown",
        "uncommitted": [line[3:] for line in dirty.splitlines()],
    }


def _bytes(*files: Path) -> int:
    return sum(f.stat().st_size for f in files)


def fp32_bytes(model) -> int:
    """The size of ``model``'s weights as a float32 ``model.safetensors``: what every ratio divides."""
    from safetensors.torch import save

    return len(save({k: v.detach().float().contiguous() for k, v in model.state_dict().items()}))


def build(model_dir: str, work: Path, threads: int, onnx: bool) -> tuple[list[dict], object]:
    """The variants: ``{"variant", "shipped", "bytes", "model", "build_s"}`` each; and the dense model."""
    from nmtprune import api as nmt
    from nmtprune.compress import COMPRESSED_FILE, compress_directory
    from nmtprune.decode.int8 import int8_model
    from nmtprune.train.checkpoint import save_checkpoint

    src = Path(model_dir)
    dense = nmt.load(src)
    fp32_file = src / "model.safetensors"
    out = [
        {
            "variant": "dense fp32",
            "shipped": "model.safetensors (fp16)",
            "bytes": _bytes(fp32_file),
            "model": dense.net,
        },
        {
            "variant": "dense int8 (--int8)",
            "shipped": "model.safetensors (fp16)",
            "bytes": _bytes(fp32_file),
            "model": int8_model(dense.net),
        },
    ]
    if onnx:
        from nmtprune.deploy import export_onnx, load_onnx
        from nmtprune.deploy.onnx_runner import ENCODER_FILE, STEP_FILE

        t0 = time.perf_counter()
        export_onnx(dense.net, src, work / "onnx8", int8=True)
        out.append(
            {
                "variant": "dense onnxruntime int8",
                "shipped": f"{ENCODER_FILE} + {STEP_FILE}",
                "bytes": _bytes(work / "onnx8" / ENCODER_FILE, work / "onnx8" / STEP_FILE),
                **onnx_shortlist_files(work / "onnx8"),
                "model": load_onnx(work / "onnx8", threads=threads)[0],
                "build_s": round(time.perf_counter() - t0, 1),
            }
        )
    for sparsity in SPARSITIES:
        pruned = nmt.Loaded(copy.deepcopy(dense.net), *dense[1:])
        masks = nmt.prune(pruned, "magnitude", sparsity, "class-blind")
        for label, method, bits in COMPRESSIONS:
            t0 = time.perf_counter()
            where = work / f"m{round(sparsity * 100)}-{method}{bits or ''}"
            compress_directory(src, where, pruned.net, masks, method=method, bits=bits)
            shipped = nmt.load(where)  # read back from the file, as a user would
            out.append(
                {
                    "variant": f"magnitude {sparsity:.0%} + {label}, --int8",
                    "shipped": COMPRESSED_FILE,
                    "bytes": _bytes(where / COMPRESSED_FILE),
                    "model": int8_model(shipped.net),
                    "sparsity": sparsity,
                    "build_s": round(time.perf_counter() - t0, 1),
                }
            )
    t0 = time.perf_counter()
    small = nmt.shrink_units(dense, "l1", 0.5)
    save_checkpoint(work / "units50", small.net, small.cfg, small.src_vocab, small.tgt_vocab)
    size = _bytes(work / "units50" / "model.safetensors")
    build_s = round(time.perf_counter() - t0, 1)
    out += stored_and_int8("units 50 % (L1) shrunk", small.net, "model.safetensors (fp32)", size, build_s=build_s)
    return out, dense


def added(extra: list[tuple[str, Path]], work: Path) -> list[dict]:
    """Variants of models trained elsewhere (``--add NAME=DIR``: a ``nmtprune retrain`` output, a sweep cell's
    ``best/``, a shrunk model): decoded as stored in fp32 and with ``--int8``; one that carries a pruning mask is
    also compressed (int8 and k-means 4 and 5 bits) like the magnitude variants."""
    from nmtprune import api as nmt
    from nmtprune.compress import COMPRESSED_FILE, compress_directory
    from nmtprune.decode.int8 import int8_model
    from nmtprune.train.checkpoint import load_masks

    out = []
    for name, src in extra:
        m = nmt.load(src)
        weights = src / "model.safetensors"
        out += stored_and_int8(name, m.net, weights.name, _bytes(weights))
        masks = load_masks(src)
        if masks is None:
            continue
        for label, method, bits in COMPRESSIONS:
            t0 = time.perf_counter()
            where = work / f"{name}-{method}{bits or ''}"
            compress_directory(src, where, m.net, masks, method=method, bits=bits)
            out.append(
                {
                    "variant": f"{name} + {label}, --int8",
                    "shipped": COMPRESSED_FILE,
                    "bytes": _bytes(where / COMPRESSED_FILE),
                    "model": int8_model(nmt.load(where).net),
                    "build_s": round(time.perf_counter() - t0, 1),
                }
            )
    return out


def parse_added(items: list[str]) -> list[tuple[str, Path]]:
    """``NAME=DIR`` pairs of ``--add``; a malformed item or a missing directory is a one-line error."""
    out = []
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"deployable.py: --add {item!r}: expected NAME=DIR (a model directory)")
        if not (Path(path) / "model.safetensors").is_file():
            raise SystemExit(f"deployable.py: --add {item!r}: {path} has no model.safetensors")
        out.append((name, Path(path)))
    return out


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(variants: list[dict], dense, args) -> None:
    """Fill in each variant's BLEU and speed runs (in place)."""
    from nmtprune import api as nmt
    from nmtprune.metrics.evaluate import bleu_scores, translate_data

    tv, lang = dense.tgt_vocab, dense.cfg.data.tgt_lang
    test = nmt.sentences(dense, args.split, args.max_sentences or None)
    speed = nmt.sentences(dense, args.split, args.speed_sentences)
    latency = nmt.sentences(dense, args.split, args.latency_sentences)
    warm = nmt.sentences(dense, args.split, 8)
    for v in variants:
        t0 = time.perf_counter()
        hyps = translate_data(v["model"], test, tv, beam=5)
        v["bleu_tok_lc"] = bleu_scores(hyps, test.raw_tgt, lang)["bleu_tok_lc"]
        v["bleu_s"] = round(time.perf_counter() - t0, 1)
        translate_data(v["model"], warm, tv, beam=5)  # warm-up: first calls allocate and pack
        translate_data(v["model"], warm, tv, beam=1, batch_size=1)
        print(f"{v['variant']}: BLEU {v['bleu_tok_lc']} ({v['bleu_s']} s)", file=sys.stderr, flush=True)
        v["beam5_runs"], v["latency_runs_ms"] = [], []
    for r in range(args.repeats):
        shift = r * len(variants) // args.repeats
        for v in variants[shift:] + variants[:shift]:
            secs = _timed(lambda: translate_data(v["model"], speed, tv, beam=5))
            v["beam5_runs"].append(round(len(speed) / secs, 2))
            secs = _timed(lambda: translate_data(v["model"], latency, tv, beam=1, batch_size=1))
            v["latency_runs_ms"].append(round(1000 * secs / len(latency), 2))
        print(f"repeat {r + 1}/{args.repeats} done", file=sys.stderr, flush=True)


def rows(variants: list[dict], reference: int) -> list[dict]:
    """The table: medians, ratios to dense fp32 of the same run (sizes to ``reference`` bytes, the fp32
    dense safetensors), and each variant against the targets."""
    base = variants[0]
    base_speed = statistics.median(base["beam5_runs"])
    base_latency = statistics.median(base["latency_runs_ms"])
    out = []
    for v in variants:
        speed, latency = statistics.median(v["beam5_runs"]), statistics.median(v["latency_runs_ms"])
        row = {
            "variant": v["variant"],
            "shipped": v["shipped"],
            "bytes": v["bytes"],
            "mb": round(v["bytes"] / 1e6, 2),
            "smaller": round(reference / v["bytes"], 1),
            "bleu_tok_lc": v["bleu_tok_lc"],
            "bleu_drop": round(base["bleu_tok_lc"] - v["bleu_tok_lc"], 2),
            "beam5_runs": v["beam5_runs"],
            "beam5_sentences_per_s": round(speed, 2),
            "faster": round(speed / base_speed, 2),
            "greedy_latency_runs_ms": v["latency_runs_ms"],
            "greedy_latency_ms": round(latency, 2),
            "latency_lower": round(base_latency / latency, 2),
            "bleu_s": v["bleu_s"],
            **({"build_s": v["build_s"]} if "build_s" in v else {}),
            **({"retrained": v["retrained"]} if "retrained" in v else {}),
        }
        bleu_ok = row["bleu_drop"] <= TARGETS["bleu_drop"]
        row["within_1_bleu"] = bleu_ok
        row["meets_size_target"] = bleu_ok and row["smaller"] >= TARGETS["smaller"]
        row["meets_speed_target"] = (
            bleu_ok and row["faster"] >= TARGETS["faster"] and row["latency_lower"] >= TARGETS["faster"]
        )
        out.append(row)
    return out


def verdict(row: dict) -> str:
    """One variant against the targets, in words."""
    if row["variant"] == "dense fp32":
        return "baseline"
    met = [name for name, key in (("size", "meets_size_target"), ("speed", "meets_speed_target")) if row[key]]
    if met:
        return "meets the " + " and ".join(met) + " target" + "s" * (len(met) > 1)
    if not row["within_1_bleu"]:
        return f"{row['bleu_drop']} BLEU below dense"
    return f"within 1 BLEU, below {TARGETS['smaller']:g}x / {TARGETS['faster']:g}x"


def run(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    started, state = time.perf_counter(), commit()
    with tempfile.TemporaryDirectory(prefix="deployable.") as work:
        onnx = not args.no_onnx
        if onnx:
            try:
                import onnxruntime  # noqa: F401
            except ImportError:
                onnx = False
        variants, dense = build(args.model, Path(work), args.threads, onnx)
        trained, pending = deploy_models(args.deploy_study) if args.deploy_study else ([], [])
        variants += trained_variants(trained, Path(work), args.threads, onnx, COMPRESSIONS)
        variants += added(parse_added(args.add), Path(work))
        if not args.no_shortlist:
            variants += with_shortlist(variants, dense, Path(work))
        reference = fp32_bytes(dense.net)
        measure(variants, dense, args)
    table = rows(variants, reference)
    for row in table:
        row["status"] = verdict(row)
    return {
        "benchmark": "deployable",
        "machine": machine(args.threads),
        **state,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(
            [f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}"] * ("OMP_NUM_THREADS" in os.environ)
            + [shlex.quote(a) for a in [".venv/bin/python", "benchmarks/deployable.py", *sys.argv[1:]]]
        ),
        "model": args.model,
        "split": args.split,
        "bleu_sentences": args.max_sentences or "all",
        "bleu_beam": 5,
        "speed_sentences": args.speed_sentences,
        "latency_sentences": args.latency_sentences,
        "repeats": args.repeats,
        "threads": args.threads,
        "fp32_dense_safetensors_bytes": reference,
        "targets": TARGETS,
        "any_meets_a_target": any(r["meets_size_target"] or r["meets_speed_target"] for r in table[1:]),
        "retrained": sorted({v["retrained"] for v in variants if "retrained" in v}),
        "deploy_pending": pending,
        "what_is_needed": needs(sorted({v["retrained"] for v in variants if "retrained" in v}), pending),
        "load_average": {"start": [round(x, 2) for x in load_start], "end": [round(x, 2) for x in os.getloadavg()]},
        "wall_s": round(time.perf_counter() - started, 1),
        "rows": table,
    }


def markdown(res: dict) -> str:
    m = res["machine"]
    bleu_on = "all" if res["bleu_sentences"] == "all" else f"the first {res['bleu_sentences']}"
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, capability `{m['capability']}`, torch {m['torch']}; "
        f"{res['threads']} thread(s); commit `{res['commit']}`"
        + (f" (differing from it: {', '.join(res['uncommitted'])})" if res["uncommitted"] else "")
        + f"; {res['date']}; load average "
        f"{res['load_average']['start'][0]} at start, {res['load_average']['end'][0]} at the end.",
        f"BLEU (tok, lc) at beam 5 on {bleu_on} sentences of `{res['split']}`; beam-5 sentences/s on the first "
        f"{res['speed_sentences']} (batches of 64) and greedy latency one sentence at a time on the first "
        f"{res['latency_sentences']}, medians of {res['repeats']} interleaved passes; x smaller against the "
        f"fp32 dense model.safetensors ({res['fp32_dense_safetensors_bytes'] / 1e6:.2f} MB).",
        "",
        "| variant | shipped | file (MB) | x smaller | beam-5 sentences/s | x faster | greedy ms/sentence "
        "| x lower | BLEU | status |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["rows"]:
        lines.append(
            f"| {r['variant']} | {r['shipped']} | {r['mb']} | {r['smaller']}x | {r['beam5_sentences_per_s']} "
            f"| {r['faster']}x | {r['greedy_latency_ms']} | {r['latency_lower']}x | {r['bleu_tok_lc']} "
            f"| {r['status']} |"
        )
    lines += ["", res["what_is_needed"], "", f"Reproduce: `{res['command']}`"]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", nargs="?", default="models/multi30k-en-de")
    p.add_argument("--split", default="test_2016_flickr")
    p.add_argument("--max-sentences", type=int, default=0, help="BLEU on the first N sentences (0 = all)")
    p.add_argument("--speed-sentences", type=int, default=100, help="beam-5 sentences/s over the first N")
    p.add_argument("--latency-sentences", type=int, default=30, help="greedy batch-1 latency over the first N")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-onnx", action="store_true", help="leave out the onnxruntime variant")
    p.add_argument("--no-shortlist", action="store_true", help="leave out the int8 variants with a shortlist")
    p.add_argument(
        "--deploy-study",
        metavar="STUDY",
        help="also measure the models a deploy study trained (studies/deploy.yaml, after `nmtprune sweep`)",
    )
    p.add_argument(
        "--add",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also measure a model trained elsewhere (a retrained or shrunk model directory); repeatable",
    )
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    if args.repeats < 3:
        p.error("--repeats: a median needs at least 3 passes")
    from nmtprune.train.checkpoint import write_json_atomic

    res = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out, res)
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
