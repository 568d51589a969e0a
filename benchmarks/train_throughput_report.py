"""What ``train_throughput.py`` records beside its measurements: the machine, the commit, each run's value,
and the Markdown snippet for BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess

from nmtprune.provenance import git_state

from train_throughput_runs import ONMT_VENV, REPO


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
