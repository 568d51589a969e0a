"""Precision chosen by the hardware: train.bf16 = auto | true | false, on CPUs with and without native bf16.

The hardware checks are replaced by stubs, so every assertion here holds on an AVX2 and an AVX-512 CPU.
"""

import json
import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, TOY_CONFIG
from nmtprune.config import ConfigError, load_config, with_overrides
from nmtprune.models import lstm_stack
from nmtprune.models.seq2seq import Seq2Seq, nll_loss
from nmtprune.train import loop, precision
from nmtprune.train.precision import Precision, resolve_precision

NATIVE = lambda: (True, "stub: native bf16")  # noqa: E731
EMULATED = lambda: (False, "stub: the CPU has no avx512_bf16 or amx_bf16")  # noqa: E731


def test_cpu_precision_follows_the_setting_and_the_hardware():
    assert resolve_precision("auto", "cpu", cpu_check=NATIVE).name == "bf16"
    assert resolve_precision("auto", "cpu", cpu_check=EMULATED).name == "fp32"
    assert resolve_precision(True, "cpu", cpu_check=NATIVE).name == "bf16"
    assert resolve_precision(False, "cpu", cpu_check=NATIVE).name == "fp32"
    with pytest.raises(ConfigError, match=r"train.bf16=true needs a CPU with native bf16.*set train.bf16=auto"):
        resolve_precision(True, "cpu", cpu_check=EMULATED)
    rec = resolve_precision("auto", "cpu", cpu_check=EMULATED).record()
    assert rec["precision"] == "fp32" and rec["bf16_setting"] == "auto" and "avx512_bf16" in rec["reason"]


def test_cuda_precision_is_bf16_where_supported_else_fp16_with_a_scaler():
    assert resolve_precision("auto", "cuda", cuda_bf16=True).name == "bf16"
    fp16 = resolve_precision("auto", "cuda", cuda_bf16=False)
    assert fp16.name == "fp16"
    assert resolve_precision(False, "cuda", cuda_bf16=True).name == "fp32"
    with pytest.raises(ConfigError, match="train.bf16=auto"):
        resolve_precision(True, "cuda", cuda_bf16=False)
    assert resolve_precision("auto", "cuda", cuda_bf16=True).grad_scaler() is None


def test_the_config_takes_auto_true_false_and_nothing_else(tmp_path):
    assert load_config(TOY_CONFIG).train.bf16 == "auto"
    assert load_config(TOY_CONFIG, ["train.bf16=true"]).train.bf16 is True
    assert load_config(TOY_CONFIG, ["train.bf16=false"]).train.bf16 is False
    for bad in ("1", "yes!", "fp16"):
        with pytest.raises(ConfigError, match="train.*bf16.*must be one of"):
            load_config(TOY_CONFIG, [f"train.bf16={bad}"])


def test_a_stored_bf16_true_becomes_auto_in_derived_configs():
    stored = load_config(TOY_CONFIG, ["train.bf16=true"])  # as the shipped models' config.json say
    assert with_overrides(stored, [], seed=2).train.bf16 == "auto"
    assert with_overrides(stored, ["train.bf16=false"]).train.bf16 is False


def test_cpu_check_needs_flags_and_avx512_kernels(monkeypatch):
    precision.cpu_bf16.cache_clear()
    monkeypatch.setattr(precision, "_cpu_flags", lambda: {"avx2", "fma"})
    ok, why = precision.cpu_bf16()
    assert not ok and "avx512_bf16" in why
    precision.cpu_bf16.cache_clear()
    monkeypatch.setattr(precision, "_cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    ok, why = precision.cpu_bf16()
    assert not ok and "AVX2" in why
    precision.cpu_bf16.cache_clear()


def _toy_train(tmp_path, *overrides):
    cfg = load_config(TOY_CONFIG, ["train.epochs=1", "train.max_steps=4", *overrides])
    return loop.train(cfg, tmp_path / "run", progress=False)


def test_training_records_its_precision_and_refuses_bf16_true_without_hardware(tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16", EMULATED)
    summary = _toy_train(tmp_path / "a")
    assert summary["precision"]["precision"] == "fp32" and summary["precisions_used"] == ["fp32"]
    meta = json.loads((tmp_path / "a" / "run" / "last" / "meta.json").read_text())
    assert meta["precision"]["precision"] == "fp32" and meta["precision"]["bf16_setting"] == "auto"
    with pytest.raises(ConfigError, match="train.bf16=true needs"):
        _toy_train(tmp_path / "b", "train.bf16=true")
    assert not (tmp_path / "b" / "run" / "last").exists()


def test_cli_bf16_true_without_avx512_kernels_is_one_line(tmp_path):
    # ATEN_CPU_CAPABILITY=avx2 makes any CPU fail the check, so this holds on AVX2 and AVX-512 machines alike
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "nmtprune",
            "train",
            str(TOY_CONFIG),
            "--out",
            str(tmp_path / "r"),
            "--no-progress",
            "train.max_steps=2",
            "train.bf16=true",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "set train.bf16=auto" in r.stderr


def test_lstm_kernels_leave_autocast_where_the_policy_says(monkeypatch, tiny_cfg):
    """The CUDA policy (fused LSTMs in fp32 under autocast), exercised on the CPU: a bf16-autocast forward and
    backward through both fused LSTM paths runs, and the LSTM outputs are fp32."""
    monkeypatch.setattr(lstm_stack, "_fp32_lstm_on", lambda device_type: True)
    torch.manual_seed(0)
    model = Seq2Seq(tiny_cfg)
    src = torch.randint(4, 11, (3, 5))
    tgt = torch.randint(4, 13, (3, 4))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        enc = model.encode(src, torch.tensor([5, 4, 2]))
        logits = model(src, torch.tensor([5, 4, 2]), tgt)
    assert enc.memory.dtype == torch.float32
    loss = nll_loss(logits, tgt)
    loss.backward()
    assert torch.isfinite(loss) and model.decoder.weight_hh_l1.grad is not None


def test_fp16_with_a_gradient_scaler_trains_and_resumes(tmp_path, monkeypatch):
    """The GradScaler path of the loop (CUDA fp16), run on the CPU: it trains, saves the scaler's state,
    and a resumed run continues from it."""
    monkeypatch.setattr(lstm_stack, "_fp32_lstm_on", lambda device_type: True)
    monkeypatch.setattr(
        loop, "resolve_precision", lambda setting, device: Precision("fp16", "cpu", setting, "test: CPU fp16 + scaler")
    )
    cfg = load_config(TOY_CONFIG, ["train.epochs=1", "train.max_steps=3", "train.save_every=3"])
    summary = loop.train(cfg, tmp_path / "run", progress=False)
    assert summary["precision"]["precision"] == "fp16" and summary["steps"] == 3
    state = json.loads((tmp_path / "run" / "last" / "trainer.json").read_text())
    assert state["grad_scaler"]["scale"] > 0
    cfg = load_config(TOY_CONFIG, ["train.epochs=1", "train.max_steps=5", "train.save_every=3"])
    assert loop.train(cfg, tmp_path / "run", resume=True, progress=False)["steps"] == 5
