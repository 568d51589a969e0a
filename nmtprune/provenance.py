"""Where a result came from: command, git commit, machine, library versions."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["provenance", "git_commit", "git_state", "machine", "cpuinfo"]


def git_state(cwd: str | Path | None = None) -> tuple[str | None, bool]:
    """(HEAD, whether tracked files differ from it) of the repository holding this package."""
    cwd = cwd or Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None, False
    return head or None, bool(dirty)


def git_commit(cwd: str | Path | None = None) -> str | None:
    """HEAD with '+dirty' if tracked files changed; where there is no git repository (a copy of the working
    tree on a lent GPU machine travels without ``.git``), ``$NMTPRUNE_COMMIT`` as the copy's sender set it."""
    head, dirty = git_state(cwd)
    if head is None:
        return os.environ.get("NMTPRUNE_COMMIT") or None
    return head + ("+dirty" if dirty else "")


def cpuinfo() -> tuple[str, set[str]]:
    """(CPU model name, its feature flags) of the first CPU in /proc/cpuinfo; ("", set()) where there is none."""
    cpu, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not cpu:
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return cpu, flags


def machine() -> dict:
    cpu, flags = cpuinfo()
    cpu = cpu or platform.processor() or ""
    # the ISA decides speed and precision (bf16 is native only with avx512_bf16 / amx_bf16): results say which
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_flags": [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags],
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
        info["threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        pass
    return info


def provenance(argv: list[str] | None = None) -> dict:
    return {
        "command": " ".join(["nmtprune", *(argv if argv is not None else sys.argv[1:])]),
        "commit": git_commit(),
        "machine": machine(),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
