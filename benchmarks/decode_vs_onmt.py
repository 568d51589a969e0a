"""Dense fp32 decoding: nmtprune vs OpenNMT-py 3.5.1's ``onmt_translate``, same weights, same sentences.

The project's target is dense fp32 decoding at >= 1.5x ``onmt_translate`` on the same configuration.
Both systems decode one model: nmtprune's checkpoint, converted for OpenNMT-py by
benchmarks/onmt_convert.py (vocabulary rows permuted for the two special-token orders, sources
written reversed because nmtprune's model reverses them internally). The same first ``--limit``
sentences of the split go to both, 64 sentences per batch, one thread (``OMP_NUM_THREADS`` and
``MKL_NUM_THREADS`` = ``--threads``, nmtprune also ``torch.set_num_threads``), beam 5 and greedy.

What is timed: decoding only, in a fresh process per run, with no warm-up in either (onmt_translate
has none to offer), so one-time costs of the first batch are inside both clocks.

* nmtprune: a worker process (this file, ``--_worker``) loads the model untimed, then times reading
  the token file, encoding it, ``translate_data`` (what ``nmtprune translate``/``evaluate`` run: batches
  in length order, batched beam search with length normalisation alpha = 1, or greedy) and writing
  the output.
* OpenNMT-py: ``onmt_translate -report_time``; its clock starts after the model is loaded and covers
  reading, batching, search and building the output, like the worker's. Its "Average translation
  time (ms)" (0.1 ms resolution, times the sentence count) is used, not the 0.1 s total.

Each process's whole wall time (interpreter start, imports, model load, decoding) is recorded too,
and so are the decoder's steps and rows (sentences x live beams per step, summed): nmtprune's counted
in its timed runs, OpenNMT-py's in one extra untimed run per beam size (:data:`ONMT_COUNTER`). The
two searches differ there: onmt_translate drops a sentence from its batch once it is finished,
nmtprune keeps every batch whole until its last sentence ends.

Runs alternate in ABBA order over ``--repeats`` rounds; medians are reported. Translation
agreement is the share of sentences whose token strings are identical. Beam search differs by
design: nmtprune keeps searching until ``beam`` hypotheses have finished and draws 2 x beam
candidates per step, onmt_translate stops a sentence once its best live hypothesis ends; both rank by
summed log-probability / length (``</s>`` counted; onmt ``-length_penalty avg -alpha 1``). Length
caps: nmtprune 1.5 x longest source + 10 per batch, onmt ``-max_length_ratio 1.5`` (1.5 x + 5).

Usage:
    .venv/bin/python benchmarks/decode_vs_onmt.py --limit 200 --repeats 3
Writes --out (JSON, atomically) and the same name with .md; prints the markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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

ONMT_VENV = REPO / ".venv-onmt"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "decode_vs_onmt.json"
SYSTEMS = ("nmtprune", "onmt")


def _worker(spec: dict) -> None:
    """nmtprune's side of one run: load untimed, then time reading, encoding, decoding and writing."""
    import torch

    torch.set_num_threads(spec["threads"])
    from nmtprune import api as nmt
    from nmtprune.data.batching import ParallelData
    from nmtprune.metrics.evaluate import translate_data

    m = nmt.load(spec["model"])
    rows = [0, 0]  # decoder steps, and rows (sentences x beams) those steps ran on
    step = m.net.decode_step

    def counted(y, state, enc):
        rows[0] += 1
        rows[1] += y.shape[0]
        return step(y, state, enc)

    m.net.decode_step = counted  # a counter per step: ~1 us against the step's milliseconds
    t0 = time.perf_counter()
    toks = [line.split() for line in Path(spec["src"]).read_text("utf-8").splitlines()]
    ids = [m.src_vocab.encode(t) for t in toks]
    n = len(ids)
    data = ParallelData(ids, [[] for _ in ids], toks, [[] for _ in ids], [""] * n, [""] * n)
    with torch.inference_mode():
        hyps = translate_data(m.net, data, m.tgt_vocab, beam=spec["beam"], batch_size=spec["batch_size"])
    Path(spec["output"]).write_text("".join(" ".join(h) + "\n" for h in hyps), "utf-8")
    secs = time.perf_counter() - t0
    print(json.dumps({"decode_s": secs, "torch_threads": torch.get_num_threads(), "steps": rows[0], "rows": rows[1]}))


def run_nmtprune(args, work: Path, beam: int, out: Path, env: dict) -> dict:
    spec = {
        "model": str(args.model),
        "src": str(work / "src.txt"),
        "beam": beam,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "output": str(out),
    }
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, __file__, "--_worker", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    wall = time.perf_counter() - t0
    rec = json.loads(p.stdout.strip().splitlines()[-1])
    return {"process_s": wall, **rec}


def onmt_command(work: Path, beam: int, out: Path, batch_size: int) -> list[str]:
    return [
        str(ONMT_VENV / "bin" / "onmt_translate"),
        *("-model", str(work / "model.pt"), "-src", str(work / "onmt_src.txt"), "-output", str(out)),
        *("-beam_size", str(beam), "-batch_size", str(batch_size), "-batch_type", "sents", "-gpu", "-1"),
        *("-length_penalty", "avg", "-alpha", "1.0", "-max_length_ratio", "1.5", "-report_time"),
    ]


# onmt_translate's own entry point with its decoder's forward wrapped to count steps and rows; run
# once per beam size outside the timed runs (argv: the onmt_translate options)
ONMT_COUNTER = """
import json, sys
from onmt.inference_engine import InferenceEnginePY
from onmt.opts import translate_opts
from onmt.utils.parse import ArgumentParser
parser = ArgumentParser()
translate_opts(parser)
opt = parser.parse_args(sys.argv[1:])
ArgumentParser.validate_translate_opts(opt)
ArgumentParser._get_all_transform_translate(opt)
ArgumentParser._validate_transforms_opts(opt)
ArgumentParser.validate_translate_opts_dynamic(opt)
engine = InferenceEnginePY(opt)
dec, rows = engine.translator.model.decoder, [0, 0]
forward = dec.forward
def counted(tgt, *a, **k):
    rows[0] += 1
    rows[1] += tgt.shape[0]
    return forward(tgt, *a, **k)
dec.forward = counted
engine.infer_file()
print(json.dumps({"steps": rows[0], "rows": rows[1]}))
"""


def count_onmt_rows(args, work: Path, beam: int, env: dict) -> dict:
    argv = onmt_command(work, beam, work / f"onmt_count_beam{beam}.txt", args.batch_size)[1:]
    p = subprocess.run(
        [str(ONMT_VENV / "bin" / "python"), "-c", ONMT_COUNTER, *argv], env=env, capture_output=True, text=True
    )
    if p.returncode != 0:
        raise SystemExit(f"onmt row count failed:\n{(p.stdout + p.stderr)[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_onmt(args, work: Path, beam: int, out: Path, env: dict, n: int) -> dict:
    t0 = time.perf_counter()
    p = subprocess.run(onmt_command(work, beam, out, args.batch_size), env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    log = p.stdout + p.stderr
    if p.returncode != 0:
        raise SystemExit(f"onmt_translate failed ({p.returncode}):\n{log[-3000:]}")
    avg = re.search(r"Average translation time \(ms\): ([0-9.]+)", log)
    total = re.search(r"Total translation time \(s\): ([0-9.]+)", log)
    if not avg:
        raise SystemExit(f"no 'Average translation time' in onmt_translate's log:\n{log[-3000:]}")
    return {"decode_s": float(avg.group(1)) * n / 1000, "reported_total_s": float(total.group(1)), "process_s": wall}


def prepare(args, work: Path):
    """Convert the model, write both systems' inputs; returns (loaded model, data)."""
    import torch
    from nmtprune import api as nmt
    from onmt_convert import convert, onmt_source_lines

    m = nmt.load(args.model)
    data = nmt.sentences(m, args.split, limit=args.limit or None)
    torch.save(convert(m), work / "model.pt")
    # nmtprune reads its tokens in reading order; unknown words as <unk>, so both see the same ids
    itos = m.src_vocab.itos
    (work / "src.txt").write_text("".join(" ".join(itos[i] for i in s) + "\n" for s in data.src), "utf-8")
    (work / "onmt_src.txt").write_text("".join(line + "\n" for line in onmt_source_lines(m, data)), "utf-8")
    return m, data


def agreement(a: list[str], b: list[str]) -> float:
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def markdown(r: dict) -> str:
    mach, s = r["machine"], r["settings"]
    lines = [
        f"Machine: {mach['cpu_model']}, ISA {'/'.join(mach['isa']) or '?'} (torch CPU capability "
        f"{mach['cpu_capability']}), torch {mach['torch']}; OpenNMT-py {s['onmt_version']}; {s['threads']} thread, "
        f"fp32; {s['sentences']} sentences of {s['split']}, batches of {s['batch_size']}; commit `{r['git_commit']}`; "
        f"{r['date']}; load average at start {mach['loadavg_at_start']}, at end {r['loadavg_at_end']}; "
        f"median of {s['repeats']} interleaved runs, each a fresh process.",
        "",
        "| search | nmtprune s (sent/s) | onmt_translate s (sent/s) | nmtprune / onmt speed | agreement | "
        "BLEU tok-lc nmtprune / onmt | decoder steps, rows nmtprune / onmt | process s incl. load, nmtprune / onmt |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, e in r["results"].items():
        a, b = e["nmtprune"], e["onmt"]
        name = "greedy" if key == "beam1" else key.replace("beam", "beam ")
        lines.append(
            f"| {name} | {a['median_decode_s']:.2f} ({a['sentences_per_s']:.1f}) | "
            f"{b['median_decode_s']:.2f} ({b['sentences_per_s']:.1f}) | **{e['speed_ratio']:.2f}x** | "
            f"{e['agreement'] * 100:.1f} % | {a['bleu_tok_lc']} / {b['bleu_tok_lc']} | "
            f"{a['steps']}, {a['rows']:,} / {b['steps']}, {b['rows']:,} | "
            f"{a['median_process_s']:.1f} / {b['median_process_s']:.1f} |"
        )
    lines += ["", f"Command: `{r['command']}`", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Dense decoding speed: nmtprune vs onmt_translate on the same weights.")
    ap.add_argument("--model", type=Path, default=REPO / "models" / "multi30k-en-de", help="nmtprune model dir")
    ap.add_argument("--split", default="test_2016_flickr", help="test split (default test_2016_flickr)")
    ap.add_argument("--limit", type=int, default=0, help="first N sentences (0 = all)")
    ap.add_argument("--beams", type=int, nargs="+", default=[5, 1], help="beam sizes (1 = greedy)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved runs per system and beam; median")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads for both systems")
    ap.add_argument("--batch-size", type=int, default=64, help="sentences per batch, both systems")
    ap.add_argument("--work", type=Path, help="folder for the checkpoint, inputs, outputs (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="result JSON (.md beside it)")
    ap.add_argument("--_worker", dest="worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker(json.loads(args.worker))
        return 0
    if not (ONMT_VENV / "bin" / "onmt_translate").exists():
        ap.error(f"{ONMT_VENV}/bin/onmt_translate not found: run benchmarks/setup_opennmt.sh first")

    import torch
    from decode_throughput import machine_info
    from nmtprune.metrics.evaluate import bleu_scores
    from onmt_convert import ONMT_ENV

    machine = {**machine_info(), "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    if machine["loadavg_at_start"][0] > 0.5:
        print(f"WARNING: load average {machine['loadavg_at_start']} at start: the machine is not idle", file=sys.stderr)
    work = args.work or Path(tempfile.mkdtemp(prefix="decode_vs_onmt-"))
    work.mkdir(parents=True, exist_ok=True)
    m, data = prepare(args, work)
    n = len(data)
    threads = str(args.threads)
    env = {**os.environ, **ONMT_ENV, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    env["PYTHONWARNINGS"] = "ignore"
    onmt_version = subprocess.run(
        [str(ONMT_VENV / "bin" / "python"), "-c", "import onmt; print(onmt.__version__)"],
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()

    runs = {(s, b): [] for s in SYSTEMS for b in args.beams}
    variants = [(s, b) for b in args.beams for s in SYSTEMS]
    for rep in range(args.repeats):
        for system, beam in variants if rep % 2 == 0 else variants[::-1]:  # ABBA: cancels slow drift
            out = work / f"{system}_beam{beam}_{rep}.txt"
            load = [round(x, 2) for x in os.getloadavg()]
            if system == "nmtprune":
                rec = run_nmtprune(args, work, beam, out, env)
            else:
                rec = run_onmt(args, work, beam, out, env, n)
            rec.update(loadavg_before=load, sentences_per_s=n / rec["decode_s"])
            runs[(system, beam)].append({k: round(v, 4) if isinstance(v, float) else v for k, v in rec.items()})
            print(
                f"[{rep + 1}/{args.repeats}] {system} beam {beam}: {rec['decode_s']:.2f} s decoding "
                f"({rec['sentences_per_s']:.1f} sent/s), {rec['process_s']:.1f} s process, load {load[0]}",
                file=sys.stderr,
                flush=True,
            )

    results = {}
    for beam in args.beams:
        texts = {s: (work / f"{s}_beam{beam}_0.txt").read_text("utf-8").splitlines() for s in SYSTEMS}
        entry = {}
        for s in SYSTEMS:
            rs = runs[(s, beam)]
            med = statistics.median(r["decode_s"] for r in rs)
            entry[s] = {
                "runs": rs,
                "median_decode_s": round(med, 4),
                "sentences_per_s": round(n / med, 2),
                "median_process_s": round(statistics.median(r["process_s"] for r in rs), 3),
                "mean_output_tokens": round(sum(len(t.split()) for t in texts[s]) / n, 2),
                "bleu_tok_lc": bleu_scores([t.split() for t in texts[s]], data.raw_tgt, m.cfg.data.tgt_lang)[
                    "bleu_tok_lc"
                ],
            }
        entry["onmt"].update(count_onmt_rows(args, work, beam, env))
        entry["nmtprune"].update(steps=runs[("nmtprune", beam)][0]["steps"], rows=runs[("nmtprune", beam)][0]["rows"])
        entry["speed_ratio"] = round(entry["onmt"]["median_decode_s"] / entry["nmtprune"]["median_decode_s"], 3)
        entry["agreement"] = round(agreement(texts["nmtprune"], texts["onmt"]), 4)
        entry["repeat_outputs_identical"] = all(
            (work / f"{s}_beam{beam}_{k}.txt").read_text("utf-8").splitlines() == texts[s]
            for s in SYSTEMS
            for k in range(args.repeats)
        )
        results[f"beam{beam}"] = entry

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    result = {
        "benchmark": "decode_vs_onmt",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(
            shlex.quote(a) for a in [".venv/bin/python", "benchmarks/decode_vs_onmt.py", *sys.argv[1:]]
        ),
        "git_commit": commit.stdout.strip(),
        "machine": machine,
        "settings": {
            "model": str(args.model),
            "split": args.split,
            "sentences": n,
            "beams": args.beams,
            "batch_size": args.batch_size,
            "threads": args.threads,
            "repeats": args.repeats,
            "onmt_version": onmt_version,
            "onmt_command": " ".join(shlex.quote(a) for a in onmt_command(work, 5, work / "out.txt", args.batch_size)),
            "conversion": "benchmarks/onmt_convert.py: specials <pad> <unk> <s> </s> -> <unk> <blank> <s> </s> "
            "(embedding and softmax rows permuted), linear_in = W_a^T, linear_out = W_c, LSTM weights as they "
            "are; sources given to onmt_translate reversed (nmtprune reverses inside the model)",
            "timing": "decoding only, no warm-up: nmtprune in-process after an untimed model load (read, encode, "
            "translate_data, write); onmt_translate's -report_time average x sentences. Decoder steps and rows "
            "(sentences x live beams per step, summed): nmtprune counted in its timed runs, onmt_translate in one "
            "extra untimed run per beam with its decoder's forward wrapped",
        },
        "results": results,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for path, text in (
        (args.out, json.dumps(result, indent=2) + "\n"),
        (args.out.with_suffix(".md"), markdown(result)),
    ):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # atomic: a reader never sees half a file
    print(markdown(result))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}; work files in {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
