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
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from nmtprune.provenance import git_state

sys.path.insert(0, str(Path(__file__).resolve().parent))
from matmul_peak import peak_in_fresh_process  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORK = Path("/tmp/nmtprune-bench")
DEFAULT_OUT = REPO / "benchmarks" / "results" / "train_throughput.json"
ONMT_VENV = Path(os.environ.get("ONMT_VENV", REPO / ".venv-onmt"))
ONMT_TEMPLATE = REPO / "benchmarks" / "onmt_multi30k.yaml"
REF_CONFIG = REPO / "configs" / "multi30k_ref.yaml"
EPOCH_BATCHES = 453  # 29,000 Multi30k training pairs / 64 (the last, partial batch not counted)

# Step 300/  300; acc: ...; bsz:  717/ 755/64; 267/282 tok/s;     61 sec;
ONMT_STEP_RE = re.compile(
    r"Step\s+(\d+)(?:/\s*\d+)?;.*?bsz:\s*([\d.]+)/\s*([\d.]+)/\s*([\d.]+);\s*"
    r"([\d.]+)/\s*([\d.]+) tok/s;"
)
ONMT_PARAMS_RE = re.compile(r"\* number of parameters: (\d+)")
ONMT_VOCAB_RE = re.compile(r"\* (src|tgt) vocab size = (\d+)")


# --------------------------------------------------------------------------- nmtprune side


def nmtprune_config_dict(steps: int, log_every: int, threads: int, bf16: bool) -> dict:
    """The reference config's data section with the benchmark's model and training settings."""
    import yaml

    raw = yaml.safe_load(REF_CONFIG.read_text(encoding="utf-8"))
    # the setting, whatever the reference config says now: word vocab (min count 2), max length 50
    raw["data"].update(vocab="word", min_freq=2, max_vocab=50000, max_len=50, lowercase=True)
    raw["model"].update(
        emb_dim=512,
        hidden=512,
        enc_layers=2,
        dec_layers=2,
        attention="general",
        input_feed=True,
        dropout=0.2,
        init_range=0.1,
    )
    raw["train"] = {
        "seed": 1,
        "epochs": 1,
        "batch_size": 64,
        "optimizer": "sgd",
        "lr": 1.0,
        "momentum": 0.0,
        "clip_norm": 5.0,
        "decay_start": 0,
        "decay_on_plateau": False,
        "early_stop_patience": 0,
        "bf16": bf16,
        "threads": threads,
        "log_every": log_every,
        "save_every": 0,
        "max_steps": steps,
    }
    return raw


def nmtprune_worker(spec: dict) -> None:
    """One nmtprune training run in this (fresh) process; writes spec['out']/worker.json."""
    sys.path.insert(0, str(REPO))
    import torch
    from nmtprune.config import config_from_dict
    from nmtprune.train.checkpoint import load_model
    from nmtprune.train.loop import train

    cfg = config_from_dict(spec["config"], "train_throughput")
    out = Path(spec["out"])
    t0 = time.perf_counter()
    summary = train(cfg, out, progress=False)
    wall = time.perf_counter() - t0
    model, saved, _, _ = load_model(out / "last")
    info = {
        "summary": summary,
        "wall_s": wall,
        "torch_threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()),
        "src_vocab": saved.model.src_vocab_size,
        "tgt_vocab": saved.model.tgt_vocab_size,
    }
    (out / "worker.json").write_text(json.dumps(info), encoding="utf-8")


def run_nmtprune(run_dir: Path, args, bf16: bool, env: dict) -> dict:
    spec = {"config": nmtprune_config_dict(args.steps, args.log_every, args.threads, bf16), "out": str(run_dir)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--_nmtprune-worker", json.dumps(spec)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    (run_dir / "stderr.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise SystemExit(
            f"nmtprune run failed (rc {proc.returncode}); log: {run_dir / 'stderr.txt'}\n" + proc.stderr[-3000:]
        )
    windows = []
    for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec.get("type") == "train":
            windows.append({"step": rec["step"], "tgt_tok_s": rec["tokens_per_s"]})
    info = json.loads((run_dir / "worker.json").read_text(encoding="utf-8"))
    shutil.rmtree(run_dir / "last", ignore_errors=True)  # ~250 MB; the run is only for timing
    return {
        "windows": windows,
        "process_wall_s": round(wall, 1),
        "torch_threads": info["torch_threads"],
        "params": info["params"],
        "src_vocab": info["src_vocab"],
        "tgt_vocab": info["tgt_vocab"],
    }


def flops_per_target_token(args) -> dict:
    """The reference model's matmul FLOPs per target token over epoch 0's batches (matmul_peak.py)."""
    import dataclasses
    from matmul_peak import flops_report
    from real_batches import real_batches

    from nmtprune.config import config_from_dict

    batches, src_vocab, tgt_vocab = real_batches(EPOCH_BATCHES, args.work / "real_batches.pt")
    model = config_from_dict(nmtprune_config_dict(args.steps, args.log_every, args.threads, False), "flops").model
    return flops_report(dataclasses.replace(model, src_vocab_size=src_vocab, tgt_vocab_size=tgt_vocab), batches)


# --------------------------------------------------------------------------- OpenNMT-py side


def onmt_config(run_dir: Path, args, work: Path, num_workers: int) -> Path:
    import yaml

    cfg = yaml.safe_load(ONMT_TEMPLATE.read_text(encoding="utf-8"))
    data_dir = work / "onmt"
    cfg["data"]["multi30k"]["path_src"] = str(data_dir / "train.src")
    cfg["data"]["multi30k"]["path_tgt"] = str(data_dir / "train.tgt")
    cfg["src_vocab"], cfg["tgt_vocab"] = str(data_dir / "vocab.src"), str(data_dir / "vocab.tgt")
    cfg.update(
        train_steps=args.steps,
        report_every=args.log_every,
        num_workers=num_workers,
        save_model=str(run_dir / "model"),
        log_file=str(run_dir / "onmt.log"),
    )
    for item in args.onmt_opt:
        key, _, value = item.partition("=")
        cfg[key.strip()] = yaml.safe_load(value)
    path = run_dir / "onmt.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def run_onmt(run_dir: Path, args, work: Path, num_workers: int, env: dict) -> dict:
    config = onmt_config(run_dir, args, work, num_workers)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(ONMT_VENV / "bin" / "onmt_train"), "-config", str(config)],
        env=env,
        cwd=run_dir,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    (run_dir / "stdout_stderr.txt").write_text(log, encoding="utf-8")
    if proc.returncode != 0:
        raise SystemExit(
            f"onmt_train failed (rc {proc.returncode}); log: {run_dir / 'stdout_stderr.txt'}\n" + log[-3000:]
        )
    windows = [
        {"step": int(m[1]), "src_tok_s": float(m[5]), "tgt_tok_s": float(m[6]), "tgt_tok_per_batch": float(m[3])}
        for m in ONMT_STEP_RE.finditer(log)
    ]
    params = ONMT_PARAMS_RE.search(log)
    vocab = dict((k, int(v)) for k, v in ONMT_VOCAB_RE.findall(log))
    for ckpt in run_dir.glob("model_step_*.pt"):  # 250 MB each; the run is only for timing
        ckpt.unlink()
    return {
        "windows": windows,
        "process_wall_s": round(wall, 1),
        "params": int(params[1]) if params else None,
        "src_vocab": vocab.get("src"),
        "tgt_vocab": vocab.get("tgt"),
    }


# --------------------------------------------------------------------------- harness


def _cmd(argv: list[str], **kw) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True, **kw).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine_info(threads: int) -> dict:
    lscpu = _cmd(["lscpu"])
    fields = {}
    for line in lscpu.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    flags = fields.get("Flags", "").split()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    probe = "import torch, json; print(json.dumps([torch.__version__, torch.get_num_threads()]))"
    onmt_torch = _cmd([str(ONMT_VENV / "bin" / "python"), "-c", probe], env=env)
    onmt_version = _cmd(
        [
            str(ONMT_VENV / "bin" / "python"),
            "-c",
            "import warnings; warnings.simplefilter('ignore'); import onmt; print(onmt.__version__)",
        ]
    )
    import torch

    return {
        "cpu_model": fields.get("Model name", platform.processor()),
        "cpus": os.cpu_count(),
        "cores_per_socket": fields.get("Core(s) per socket"),
        "threads_per_core": fields.get("Thread(s) per core"),
        "sockets": fields.get("Socket(s)"),
        "isa": [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags],
        "hypervisor": fields.get("Hypervisor vendor"),
        "python": platform.python_version(),
        "os": platform.platform(),
        "torch_nmtprune": torch.__version__,
        "torch_onmt": json.loads(onmt_torch)[0] if onmt_torch else None,
        "onmt_torch_threads_with_env": json.loads(onmt_torch)[1] if onmt_torch else None,
        "opennmt_py": onmt_version or None,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def git_info() -> dict:
    commit, dirty = git_state(REPO)
    return {"commit": commit, "dirty": dirty}


def run_value(windows: list[dict]) -> float | None:
    """Mean target tokens/s over the windows after the first (warm-up)."""
    timed = [w["tgt_tok_s"] for w in windows[1:]]
    return round(statistics.fmean(timed), 1) if timed else None


def markdown(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    peaks = result["matmul_peak"]["runs"]
    lines = [
        "### Training throughput vs OpenNMT-py 3.5.1 (Multi30k En→De, reference model)",
        "",
        f"Machine: {m['cpu_model']}, {m['cpus']} CPUs ({', '.join(m['isa'])}); torch {m['torch_nmtprune']} for both "
        f"(OpenNMT-py {m['opennmt_py']} unpatched); {s['threads']} threads each; commit "
        f"`{(result['git']['commit'] or '?')[:10]}`{' (dirty)' if result['git']['dirty'] else ''}; "
        f"{result['date']}; load average at start {m['loadavg_at_start'][0]}.",
        "",
        "Model: 2-layer LSTM encoder/decoder, 512 units, embeddings 512, general attention, input feeding, "
        "dropout 0.2, SGD lr 1.0, batch 64 sentences, max length 50, vocabularies "
        f"{result['model']['src_vocab']}/{result['model']['tgt_vocab']} (min count 2), "
        f"{result['model']['params_nmtprune']:,} parameters (OpenNMT-py: {result['model']['params_onmt'] or 0:,}).",
        "",
        f"Metric: target tokens/s (non-padding, `</s>` counted), training steps {s['log_every'] + 1}–{s['steps']} "
        f"(the first {s['log_every']} are warm-up), mean over {s['log_every']}-step windows; median of "
        f"{s['repeats']} interleaved runs.",
        "",
        f"Hardware: {result['flops_per_target_token']['total'] / 1e6:.1f} MFLOP of matrix multiplies per target "
        f"token (forward + backward, counted from the shapes; benchmarks/matmul_peak.py); fp32 matmul "
        f"64x1024 @ 1024x2048 at {s['threads']} threads: {result['matmul_peak']['median']:.1f} GFLOP/s (median of "
        f"{len(peaks)} fresh processes, before each round and after the last: "
        f"{', '.join(f'{p:.1f}' for p in peaks)}; the last column divides by the highest of them).",
        "",
        "| system | runs (target tok/s) | median | GFLOP/s | % of matmul peak (median) | % of highest peak |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, v in result["systems"].items():
        runs = ", ".join(f"{x:,.0f}" for x in v["runs"])
        lines.append(
            f"| {name} | {runs} | **{v['median']:,.0f}** | {v['gflops']:.1f} | {v['pct_of_peak']:.0f} % "
            f"| {100 * v['gflops'] / max(peaks):.0f} % |"
        )
    lines.append("")
    for r in result["headline"]:
        target = "2×" if "bf16" in r["nmtprune"] else "1.2×"  # bf16 doubles matmul speed; fp32 runs the same FLOPs
        lines.append(
            f"- **{r['nmtprune']} / fastest OpenNMT-py ({r['fastest_onmt']}): {r['ratio']:.2f}×** (target ≥ {target})"
        )
    for r in result["ratios"]:
        lines.append(f"- {r['nmtprune']} / {r['onmt']}: {r['ratio']:.2f}×")
    lines += ["", f"Reproduce: `{result['reproduce']}`", ""]
    return "\n".join(lines)


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
