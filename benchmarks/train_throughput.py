"""Training throughput: nmtprune vs OpenNMT-py 3.5.1, same model, same data, same run.

What is measured
----------------
Target tokens per second during training: non-padding target tokens, counting the end-of-sentence
token and not ``<s>`` (nmtprune: ``tgt_out != <pad>``; OpenNMT-py: ``tgt[1:] != <blank>``, its
``Statistics.n_words``; the same count), divided by wall time of a logging window of
``--log-every`` optimizer steps. Both trainers measure their window the same way (a clock started
right after the previous report, stopped at the next one: batching, forward, backward, clipping,
SGD step all included).

* nmtprune: the ``tokens_per_s`` of the ``{"type": "train"}`` lines of ``metrics.jsonl``.
* OpenNMT-py: its ``Step N/M; ...; bsz: S/T/B; X/Y tok/s; ...`` log lines; X is source tokens/s,
  **Y is target tokens/s** (``n_words / elapsed``, printed rounded to integers): Y is what is parsed.

The first window of each run is warm-up (OpenNMT-py fills its bucket there, both allocate memory)
and is dropped. A run's value is the mean of its remaining windows; the reported figure for each
system is the median over ``--repeats`` runs. Runs are interleaved (ABBA order: A B, B A, A B, ...)
and each run is a fresh process with the same thread settings (``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS`` = ``--threads``, nmtprune also ``train.threads``). Steps stay inside the first
epoch (453 batches), so neither system evaluates or refills data inside a timed window.

Same model: 2-layer unidirectional LSTM encoder and decoder, 512 units, 512-dim embeddings, Luong
"general" attention, input feeding, dropout 0.2, SGD lr 1.0, gradient clip 5, 64 sentences per batch,
pairs longer than 50 tokens dropped, word vocabularies with min count 2 (the data section of
configs/multi30k_ref.yaml) -- identical files for both via benchmarks/prepare_onmt_data.py.

Against the hardware: before each round of runs and after the last, a fresh process times the
fp32 matmul speed (64x1024 @ 1024x2048, median of 30, at ``--threads``; benchmarks/matmul_peak.py);
the model's matrix-multiply FLOPs per target token are counted from its shapes and the epoch's
batches (same module). Each system's GFLOP/s is its median tokens/s times that count, and "% of
peak" divides it by the median matmul speed. A yardstick, not a bound: a step's large GEMMs (softmax
layer, weight gradients) run faster than this 64-row product, its elementwise work far slower.

Usage (idle machine; see benchmarks/README.md):
    bash benchmarks/setup_opennmt.sh
    .venv/bin/python benchmarks/train_throughput.py --repeats 3 --steps 300 --log-every 50 --bf16
Writes --out (JSON) and the same name with .md (a snippet for BENCHMARKS.md); ``--markdown JSON``
rewrites only the snippet of an earlier result.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from matmul_peak import peak_in_fresh_process  # noqa: E402
from train_throughput_report import git_info, machine_info, markdown, run_value  # noqa: E402
from train_throughput_runs import (  # noqa: E402
    EPOCH_BATCHES,
    ONMT_VENV,
    REPO,
    flops_per_target_token,
    nmtprune_config_dict,
    nmtprune_worker,
    run_nmtprune,
    run_onmt,
)

DEFAULT_WORK = Path("/tmp/nmtprune-bench")
DEFAULT_OUT = REPO / "benchmarks" / "results" / "train_throughput.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Training target tokens/s: nmtprune vs OpenNMT-py 3.5.1.")
    ap.add_argument("--repeats", type=int, default=3, help="runs per system (interleaved); median reported")
    ap.add_argument("--steps", type=int, default=300, help=f"optimizer steps per run (<= {EPOCH_BATCHES})")
    ap.add_argument("--log-every", type=int, default=50, help="steps per timing window; the first is warm-up")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads for both systems")
    ap.add_argument("--bf16", action="store_true", help="also measure nmtprune with bf16 autocast")
    ap.add_argument("--no-fp32", action="store_true", help="skip nmtprune fp32 (with --bf16)")
    ap.add_argument(
        "--onmt-num-workers",
        type=int,
        nargs="+",
        default=[0, 2],
        help="OpenNMT-py DataLoader workers, one variant per value (default: 0 = batches built in "
        "the training process, as nmtprune does, and 2 = OpenNMT-py's default); the "
        "headline ratio is against the fastest variant",
    )
    ap.add_argument(
        "--onmt-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra OpenNMT-py option written into its config (repeatable)",
    )
    ap.add_argument("--no-onmt", action="store_true", help="measure nmtprune only")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"scratch folder (default {DEFAULT_WORK})")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="result JSON (the .md snippet goes beside it)")
    ap.add_argument("--skip-prepare", action="store_true", help="reuse WORK/onmt data from an earlier run")
    ap.add_argument(
        "--markdown",
        type=Path,
        metavar="JSON",
        help="only rewrite the .md snippet beside an earlier result JSON (measures nothing)",
    )
    ap.add_argument("--_nmtprune-worker", dest="worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        nmtprune_worker(json.loads(args.worker))
        return 0
    if args.markdown:
        args.markdown.with_suffix(".md").write_text(markdown(json.loads(args.markdown.read_text("utf-8"))), "utf-8")
        return 0
    if not 2 <= args.steps // args.log_every or args.steps % args.log_every:
        ap.error("--steps must be a multiple of --log-every with at least 2 windows (the first is warm-up)")
    if args.steps > EPOCH_BATCHES:
        ap.error(f"--steps must be <= {EPOCH_BATCHES} (one epoch) so no timed window holds an epoch boundary")
    if not args.no_onmt and not (ONMT_VENV / "bin" / "onmt_train").exists():
        ap.error(f"{ONMT_VENV}/bin/onmt_train not found: run benchmarks/setup_opennmt.sh first")

    if not args.skip_prepare:  # OpenNMT-py's data from the very data section nmtprune trains with
        import yaml

        args.work.mkdir(parents=True, exist_ok=True)
        bench_cfg = args.work / "nmtprune_bench_config.yaml"
        bench_cfg.write_text(
            yaml.safe_dump(nmtprune_config_dict(args.steps, args.log_every, args.threads, False), sort_keys=False),
            encoding="utf-8",
        )
        subprocess.run(
            [
                sys.executable,
                str(REPO / "benchmarks" / "prepare_onmt_data.py"),
                "--config",
                str(bench_cfg),
                "--work",
                str(args.work / "onmt"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(args.threads),
        "MKL_NUM_THREADS": str(args.threads),
        "PYTHONWARNINGS": "ignore::FutureWarning",
    }
    machine = machine_info(args.threads)
    if machine["loadavg_at_start"][0] > 0.5:
        print(f"WARNING: load average {machine['loadavg_at_start']} at start: the machine is not idle", file=sys.stderr)

    variants = []  # (name, kind, option)
    if not args.no_fp32:
        variants.append(("nmtprune fp32", "nmtprune", False))
    if args.bf16:
        variants.append(("nmtprune bf16 autocast", "nmtprune", True))
    if not args.no_onmt:
        for w in args.onmt_num_workers:
            variants.append((f"OpenNMT-py 3.5.1 fp32 (num_workers {w})", "onmt", w))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    runs_root = args.work / "runs" / stamp
    records, peaks = [], []
    for rep in range(args.repeats):
        peaks.append(peak_in_fresh_process(env))
        print(f"[{rep + 1}/{args.repeats}] fp32 matmul peak: {peaks[-1]:.1f} GFLOP/s", file=sys.stderr, flush=True)
        order = variants if rep % 2 == 0 else list(reversed(variants))  # ABBA: cancels slow drift
        for name, kind, opt in order:
            run_dir = runs_root / f"{rep}-{name.split()[0].lower()}-{len(records)}"
            run_dir.mkdir(parents=True)
            print(f"[{rep + 1}/{args.repeats}] {name} ...", file=sys.stderr, flush=True)
            load = [round(x, 2) for x in os.getloadavg()]
            if kind == "nmtprune":
                rec = run_nmtprune(run_dir, args, opt, env)
            else:
                rec = run_onmt(run_dir, args, args.work, opt, env)
            rec.update(
                system=name, repeat=rep, loadavg_before=load, dir=str(run_dir), tgt_tok_s=run_value(rec["windows"])
            )
            if rec["tgt_tok_s"] is None or len(rec["windows"]) != args.steps // args.log_every:
                raise SystemExit(
                    f"{name}: expected {args.steps // args.log_every} log windows, got "
                    f"{len(rec['windows'])}; see {run_dir}"
                )
            print(
                f"    {rec['tgt_tok_s']:.1f} target tok/s  (windows: "
                f"{[round(w['tgt_tok_s']) for w in rec['windows']]}, first = warm-up)",
                file=sys.stderr,
                flush=True,
            )
            records.append(rec)
    peaks.append(peak_in_fresh_process(env))  # before every round and after the last: the machine drifts

    flops = flops_per_target_token(args)
    peak = statistics.median(peaks)
    systems = {}
    for name, _, _ in variants:
        vals = [r["tgt_tok_s"] for r in records if r["system"] == name]
        median = statistics.median(vals)
        systems[name] = {
            "runs": vals,
            "median": round(median, 1),
            "gflops": round(median * flops["total"] / 1e9, 2),
            "pct_of_peak": round(100 * median * flops["total"] / 1e9 / peak, 1),
        }
    nm = [n for n, k, _ in variants if k == "nmtprune"]
    on = [n for n, k, _ in variants if k == "onmt"]
    ratios = [
        {"nmtprune": a, "onmt": b, "ratio": round(systems[a]["median"] / systems[b]["median"], 3)}
        for a in nm
        for b in on
    ]
    fastest = max(on, key=lambda b: systems[b]["median"]) if on else None
    headline = (
        [
            {
                "nmtprune": a,
                "fastest_onmt": fastest,
                "ratio": round(systems[a]["median"] / systems[fastest]["median"], 3),
            }
            for a in nm
        ]
        if fastest
        else []
    )
    first = {k: next((r for r in records if r["system"].startswith(k)), None) for k in ("nmtprune", "OpenNMT")}
    model = {
        "src_vocab": first["nmtprune"]["src_vocab"] if first["nmtprune"] else None,
        "tgt_vocab": first["nmtprune"]["tgt_vocab"] if first["nmtprune"] else None,
        "params_nmtprune": first["nmtprune"]["params"] if first["nmtprune"] else None,
        "params_onmt": first["OpenNMT"]["params"] if first["OpenNMT"] else None,
    }
    if first["nmtprune"] and first["OpenNMT"]:
        same = (first["nmtprune"]["src_vocab"], first["nmtprune"]["tgt_vocab"]) == (
            first["OpenNMT"]["src_vocab"],
            first["OpenNMT"]["tgt_vocab"],
        )
        model["same_vocab_sizes"] = same
        if not same:
            print(
                f"WARNING: vocabulary sizes differ: nmtprune {model['src_vocab']}/{model['tgt_vocab']}, "
                f"OpenNMT-py {first['OpenNMT']['src_vocab']}/{first['OpenNMT']['tgt_vocab']}",
                file=sys.stderr,
            )
    result = {
        "benchmark": "train_throughput",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "reproduce": "bash benchmarks/setup_opennmt.sh && .venv/bin/python benchmarks/train_throughput.py "
        + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
        "git": git_info(),
        "machine": machine,
        "settings": {
            "repeats": args.repeats,
            "steps": args.steps,
            "log_every": args.log_every,
            "threads": args.threads,
            "onmt_num_workers": args.onmt_num_workers,
            "onmt_opts": args.onmt_opt,
            "warmup_windows_dropped": 1,
            "metric": "target non-padding tokens/s incl. </s>; run = mean of windows after the first; "
            "system = median of runs",
            "onmt_parsed": "second number of 'X/Y tok/s' in OpenNMT-py's 'Step' lines (= tgt n_words / s)",
        },
        "model": model,
        "flops_per_target_token": flops,
        "matmul_peak": {
            "shape": "64x1024 @ 1024x2048 fp32",
            "unit": "GFLOP/s",
            "runs": peaks,
            "median": round(peak, 2),
        },
        "systems": systems,
        "ratios": ratios,
        "headline": headline,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "runs": records,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = markdown(result)
    args.out.with_suffix(".md").write_text(md, encoding="utf-8")
    print(md)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
