"""Training precision, chosen from the hardware: ``train.bf16`` is ``auto`` (default), ``true`` or ``false``.

On a CPU, bf16 autocast pays only where the CPU computes bf16 natively (AVX512_BF16 or AMX). Without
it PyTorch emulates bf16 matmuls (about 170x slower than fp32 on an AVX2 Zen 3 core) and oneDNN's fused
LSTM refuses bf16 altogether. So ``auto`` trains in bf16 only when three things agree: the CPU
advertises bf16, PyTorch dispatches to AVX-512 kernels (``ATEN_CPU_CAPABILITY=avx2`` turns that off),
and a probe shows oneDNN really runs a bf16 LSTM and a bf16 matmul at fp32 speed or better
(``ONEDNN_MAX_CPU_ISA=AVX2`` turns that off). ``true`` where they do not agree is a one-line error.

On CUDA, ``auto`` and ``true`` mean bf16 autocast where the GPU supports it, else fp16 autocast with a
gradient scaler. The fused LSTM kernels stay in fp32 there (``models.lstm_stack.fp32_lstm``): autocast's rule for
cuDNN's RNN casts to fp16 whatever dtype autocast asks for, which under bf16 would mix dtypes.

The resolved precision and the facts behind it go into every run's metadata (:meth:`Precision.record`).
"""

from __future__ import annotations

import functools
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Optional

import torch

from ..config import ConfigError
from ..provenance import cpuinfo

__all__ = ["Precision", "resolve_precision", "cpu_bf16", "cpu_facts"]

_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def _cpu_flags() -> set[str]:
    return cpuinfo()[1]


def _probe() -> Optional[str]:
    """None if oneDNN runs a bf16 LSTM and a bf16 matmul at least as fast as half fp32's speed, else why not."""
    lstm = torch.nn.LSTM(16, 16, batch_first=True)
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.randn(2, 3, 16))
    except RuntimeError:
        return "oneDNN refuses a bf16 LSTM (no bf16 ISA, or ONEDNN_MAX_CPU_ISA limits it)"
    a, b = torch.randn(128, 512), torch.randn(512, 512)

    def best(x, y, reps=5) -> float:
        x @ y  # warm-up: kernel selection
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            x @ y
            times.append(time.perf_counter() - t0)
        return min(times)

    fp32, bf16 = best(a, b), best(a.bfloat16(), b.bfloat16())
    if bf16 > 2 * fp32:  # emulated bf16 is two orders of magnitude slower; native is faster than fp32
        return f"a bf16 matmul ran {bf16 / fp32:.0f}x slower than fp32 (emulated)"
    return None


@functools.lru_cache(maxsize=1)
def cpu_bf16() -> tuple[bool, str]:
    """(whether this CPU trains fast in bf16, the reason), measured once per process."""
    flags = _cpu_flags() & set(_BF16_FLAGS)
    capability = torch.backends.cpu.get_cpu_capability()
    if not flags:
        return False, "the CPU has no avx512_bf16 or amx_bf16"
    if not capability.startswith("AVX512"):
        return False, f"PyTorch dispatches {capability} kernels (ATEN_CPU_CAPABILITY?)"
    why = _probe()
    if why:
        return False, why
    return True, f"{'+'.join(sorted(flags))}, {capability} kernels, bf16 LSTM and matmul probe passed"


def cpu_facts() -> dict:
    """The CPU capability PyTorch dispatches and its bf16 verdict, for run metadata and benchmarks."""
    ok, why = cpu_bf16()
    flags = _cpu_flags()
    isa = "AVX-512 bf16" if ok else ("AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else "other"))
    return {
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "isa": isa,
        "cpu_bf16": ok,
        "cpu_bf16_reason": why,
    }


@dataclass(frozen=True)
class Precision:
    """How a training step runs: ``name`` is fp32, bf16 or fp16; ``setting`` is what the config said."""

    name: str
    device_type: str
    setting: object
    reason: str
    facts: dict = field(default_factory=dict)

    def autocast(self):
        """A fresh context manager for the forward pass (a no-op in fp32)."""
        if self.name == "fp32":
            return nullcontext()
        dtype = torch.bfloat16 if self.name == "bf16" else torch.float16
        return torch.autocast(self.device_type, dtype=dtype)

    def grad_scaler(self):
        """A GradScaler where fp16 gradients can underflow (CUDA fp16), else None."""
        if self.name == "fp16":
            return torch.amp.GradScaler(self.device_type)
        return None

    def record(self) -> dict:
        """JSON-able: what was asked, what runs, why, and the hardware facts."""
        return {
            "precision": self.name,
            "bf16_setting": self.setting,
            "device": self.device_type,
            "reason": self.reason,
            **self.facts,
        }


def resolve_precision(
    setting, device: torch.device | str = "cpu", *, cpu_check=None, cuda_bf16: Optional[bool] = None
) -> Precision:
    """The precision a run with ``train.bf16 = setting`` uses on ``device``.

    ``cpu_check`` (a () -> (bool, reason) callable) and ``cuda_bf16`` replace the hardware checks in tests.
    Raises ConfigError (one line, naming the key and what to set) for ``true`` on a CPU without native bf16.
    """
    if not (setting is True or setting is False or setting == "auto"):
        raise ConfigError(f"key 'train.bf16' must be one of ['auto', true, false], got {setting!r}")
    dtype = torch.device(device).type
    if dtype == "cuda":
        facts = {"gpu": torch.cuda.get_device_name(0)} if torch.cuda.is_available() else {}
        if setting is False:
            return Precision("fp32", dtype, setting, "train.bf16 is false", facts)
        bf16 = torch.cuda.is_bf16_supported() if cuda_bf16 is None else cuda_bf16
        if bf16:
            return Precision("bf16", dtype, setting, "the GPU supports bf16 (LSTM kernels kept in fp32)", facts)
        if setting is True:
            raise ConfigError(
                "train.bf16=true: this GPU has no bf16; set train.bf16=auto (fp16 with loss "
                "scaling) or train.bf16=false (fp32)"
            )
        return Precision("fp16", dtype, setting, "the GPU lacks bf16: fp16 autocast with a gradient scaler", facts)
    ok, why = (cpu_check or cpu_bf16)()
    facts = cpu_facts() if cpu_check is None else {"cpu_bf16": ok, "cpu_bf16_reason": why}
    if setting is False:
        return Precision("fp32", dtype, setting, "train.bf16 is false", facts)
    if ok:
        return Precision("bf16", dtype, setting, why, facts)
    if setting is True:
        raise ConfigError(
            f"train.bf16=true needs a CPU with native bf16, and {why}: "
            "set train.bf16=auto (fp32 here) or train.bf16=false"
        )
    return Precision("fp32", dtype, setting, f"auto: fp32, since {why}", facts)
