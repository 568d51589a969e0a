"""The two training runs timed by ``train_throughput.py``: nmtprune (a fresh worker process training the
reference model) and OpenNMT-py 3.5.1 (``onmt_train`` on the same data), each read back as its logging
windows' target tokens/s; and the model's matrix-multiply FLOPs per target token."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().parent / "train_throughput.py"  # its --_nmtprune-worker runs one nmtprune run
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


def nmtprune_config_dict(steps: int, log_every: int, threads: int, bf16: bool) -> dict:
    """The reference config's data section with the benchmark's model and training settings."""
    import yaml

    raw = yaml.safe_load(REF_CONFIG.read_text(encoding="utf-8"))
    # the benchmark's setting, whatever the reference config says now: word vocab (min count 2), max length 50
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
        [sys.executable, str(WORKER), "--_nmtprune-worker", json.dumps(spec)],
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
