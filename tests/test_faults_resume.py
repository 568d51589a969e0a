"""Interrupted training resumes without losing or changing anything: masks, checkpoints, the metrics log, the summary."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, TOY_CONFIG
from nmtprune.config import load_config
from nmtprune.sparse.masks import MaskSet
from nmtprune.train.checkpoint import CheckpointError, load_masks, load_model
from nmtprune.train.loop import train


def _cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "nmtprune", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
        **kw,
    )


def _weights(path):
    return load_file(str(Path(path) / "model.safetensors"))


def _random_masks(tmp_path, seed=0, name="masks.safetensors") -> Path:
    """Half of every weight matrix of the toy model pruned at random, saved as a mask file."""
    if not (tmp_path / "shape" / "last").exists():
        train(load_config(TOY_CONFIG, ["train.max_steps=1"]), tmp_path / "shape", progress=False)
    model, *_ = load_model(tmp_path / "shape" / "last")
    g = torch.Generator().manual_seed(seed)
    masks = MaskSet({n: torch.rand(p.shape, generator=g) < 0.5 for n, p in model.named_parameters() if p.dim() == 2})
    path = tmp_path / name
    masks.save(path)
    return path


def _train_steps(run):
    recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["step"] for r in recs if r["type"] == "train"]


def _assert_pruned_zero(ckpt, mask_file):
    masks, w = MaskSet.load(mask_file), _weights(ckpt)
    assert all(not w[n][~m].any() for n, m in masks.items()), "a pruned weight is non-zero"
    assert all(w[n][m].any() for n, m in masks.items())  # and the kept ones did train


# ---------------------------------------------------------------- a --mask run resumed without --mask
def test_mask_run_resumed_without_mask_keeps_pruned_weights_zero(tmp_path):
    mask, out = _random_masks(tmp_path), tmp_path / "run"
    r = _cli("train", str(TOY_CONFIG), "--out", str(out), "--mask", str(mask), "--no-progress", "train.max_steps=5")
    assert r.returncode == 0, r.stderr
    r = _cli("train", str(TOY_CONFIG), "--out", str(out), "--resume", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["steps"] == 14
    _assert_pruned_zero(out / "last", mask)
    assert load_masks(out / "last").equal(MaskSet.load(mask))


def _killed_when(proc, done, seconds=120) -> bool:
    """SIGKILL ``proc`` as soon as ``done()`` holds; False when it had exited by itself."""
    deadline = time.time() + seconds
    while not done() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.kill()
    return proc.wait() == -signal.SIGKILL


def test_killed_mask_run_resumed_without_mask_keeps_pruned_weights_zero(tmp_path):
    mask, out = _random_masks(tmp_path), tmp_path / "killed"
    over = ["--no-progress", "train.epochs=40", "train.save_every=5"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nmtprune", "train", str(TOY_CONFIG), "--out", str(out), "--mask", str(mask), *over],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    trainer = out / "last" / "trainer.json"
    assert _killed_when(proc, trainer.exists), "the run finished before it could be killed"
    killed_at = json.loads(trainer.read_text())["step"]
    r = _cli("train", str(TOY_CONFIG), "--out", str(out), "--resume", *over, f"train.max_steps={killed_at + 20}")
    assert r.returncode == 0, r.stderr
    _assert_pruned_zero(out / "last", mask)


def test_resume_with_another_mask_is_a_one_line_error_and_an_equal_one_is_fine(tmp_path):
    mask, other, out = (
        _random_masks(tmp_path),
        _random_masks(tmp_path, seed=1, name="other.safetensors"),
        tmp_path / "run",
    )
    r = _cli("train", str(TOY_CONFIG), "--out", str(out), "--mask", str(mask), "--no-progress", "train.max_steps=3")
    assert r.returncode == 0, r.stderr
    before = (out / "last" / "model.safetensors").read_bytes()
    r = _cli("train", str(TOY_CONFIG), "--out", str(out), "--resume", "--mask", str(other), "--no-progress")
    assert r.returncode == 1 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "--mask" in r.stderr and "masks.safetensors" in r.stderr
    assert (out / "last" / "model.safetensors").read_bytes() == before
    r = _cli(
        "train",
        str(TOY_CONFIG),
        "--out",
        str(out),
        "--resume",
        "--mask",
        str(mask),
        "--no-progress",
        "train.max_steps=6",
    )
    assert r.returncode == 0, r.stderr
    _assert_pruned_zero(out / "last", mask)


def test_a_dense_run_stays_dense_on_resume(tmp_path):
    mask, out = _random_masks(tmp_path), tmp_path / "dense"
    train(load_config(TOY_CONFIG, ["train.max_steps=2"]), out, progress=False)
    with pytest.raises(CheckpointError, match="without masks"):
        train(
            load_config(TOY_CONFIG, ["train.max_steps=4"]), out, resume=True, progress=False, masks=MaskSet.load(mask)
        )
    train(load_config(TOY_CONFIG, ["train.max_steps=4"]), out, resume=True, progress=False)
    assert load_masks(out / "last") is None


# ---------------------------------------------------------------- a kill between the two renames of a checkpoint swap
def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _interrupted_swap(tmp_path, complete_new: bool):
    """A run whose last checkpoint swap (step 4 -> step 6) was killed between its two renames."""
    over = ["model.dropout=0.3", "train.save_every=2"]
    out, pid = tmp_path / "run", _dead_pid()
    train(load_config(TOY_CONFIG, over + ["train.max_steps=4"]), out, progress=False)
    shutil.copytree(out / "last", tmp_path / "step4")
    train(load_config(TOY_CONFIG, over + ["train.max_steps=6"]), out, resume=True, progress=False)
    os.rename(out / "last", out / f".last.tmp{pid}")
    os.rename(tmp_path / "step4", out / f".last.old{pid}")
    if not complete_new:  # meta.json is written last: the new copy was still being written
        (out / f".last.tmp{pid}" / "meta.json").unlink()
    return out, over


@pytest.mark.parametrize("complete_new", [True, False])
def test_resume_recovers_a_checkpoint_cut_between_renames(tmp_path, complete_new):
    out, over = _interrupted_swap(tmp_path, complete_new)
    summary = train(load_config(TOY_CONFIG, over + ["train.max_steps=8"]), out, resume=True, progress=False)
    assert summary["steps"] == 8
    steps = _train_steps(out)
    assert steps == [2, 4, 6, 8]  # resumed from step 6 (the new checkpoint) or 4 (the old), nothing lost or doubled
    full = train(load_config(TOY_CONFIG, over + ["train.max_steps=8"]), tmp_path / "full", progress=False)
    a, b = _weights(tmp_path / "full" / "last"), _weights(out / "last")
    assert full["steps"] == 8 and all(torch.equal(a[k], b[k]) for k in a)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # stale copies are gone


def test_a_plain_rerun_sees_the_interrupted_run(tmp_path):
    out, over = _interrupted_swap(tmp_path, True)
    with pytest.raises(CheckpointError, match="already holds"):
        train(load_config(TOY_CONFIG, over + ["train.max_steps=8"]), out, progress=False)
    assert json.loads((out / "last" / "trainer.json").read_text())["step"] == 6


def test_stale_copies_next_to_a_whole_checkpoint_are_removed(tmp_path):
    out = tmp_path / "run"
    train(load_config(TOY_CONFIG, ["train.epochs=1"]), out, progress=False)
    pid = _dead_pid()
    for name in ("best", "last"):
        (out / f".{name}.tmp{pid}").mkdir()  # a swap killed while writing its new copy
        (out / f".{name}.tmp{pid}" / "model.safetensors").write_bytes(b"partial")
    os.rename(out / "best", out / f".best.old{pid}")  # and one killed between its renames
    train(load_config(TOY_CONFIG, ["train.epochs=2"]), out, resume=True, progress=False)
    assert (out / "best" / "meta.json").is_file()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


# ---------------------------------------------------------------- metrics.jsonl on resume
def test_metrics_log_survives_a_kill_while_it_is_cut_back(tmp_path, monkeypatch):
    out = tmp_path / "run"
    train(load_config(TOY_CONFIG, ["train.max_steps=4"]), out, progress=False)
    shutil.copytree(out / "last", tmp_path / "step4")
    train(load_config(TOY_CONFIG, ["train.max_steps=6"]), out, resume=True, progress=False)
    shutil.rmtree(out / "last")
    os.rename(tmp_path / "step4", out / "last")  # killed after logging step 6, before checkpointing it
    before = (out / "metrics.jsonl").read_text().splitlines()
    assert len(before) == 3  # steps 2, 4, 6; the checkpoint holds step 4

    real = Path.write_text

    def killed_while_writing(self, data, *a, **kw):
        if "metrics" in self.name:
            real(self, data[: len(data) // 3], *a, **kw)
            raise KeyboardInterrupt("killed")
        return real(self, data, *a, **kw)

    monkeypatch.setattr(Path, "write_text", killed_while_writing)
    with pytest.raises(KeyboardInterrupt):
        train(load_config(TOY_CONFIG, ["train.max_steps=8"]), out, resume=True, progress=False)
    monkeypatch.undo()
    assert (out / "metrics.jsonl").read_text().splitlines() == before
    train(load_config(TOY_CONFIG, ["train.max_steps=8"]), out, resume=True, progress=False)
    steps = _train_steps(out)
    assert steps == [2, 4, 6, 8]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_loss_of_the_window_spanning_a_resume_equals_the_uninterrupted_one(tmp_path):
    over = ["model.dropout=0.3", "train.log_every=4", "train.save_every=1"]
    train(load_config(TOY_CONFIG, over), tmp_path / "full", progress=False)
    train(load_config(TOY_CONFIG, over + ["train.max_steps=10"]), tmp_path / "part", progress=False)  # mid-window
    train(load_config(TOY_CONFIG, over), tmp_path / "part", resume=True, progress=False)

    def losses(run):
        recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return [(r["step"], r["loss"]) for r in recs if r["type"] == "train"]

    full = losses(tmp_path / "full")
    assert len(full) == 3 and losses(tmp_path / "part") == full


# ---------------------------------------------------------------- summary.json without a dev evaluation
def _strict_json(text):
    def refuse(token):
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_summary_is_valid_json_before_any_dev_evaluation(tmp_path):
    r = _cli("train", str(TOY_CONFIG), "--out", str(tmp_path / "run"), "--no-progress", "train.max_steps=3")
    assert r.returncode == 0, r.stderr
    printed, written = _strict_json(r.stdout), _strict_json((tmp_path / "run" / "summary.json").read_text())
    assert printed == written
    assert written["best_dev_ppl"] is None and written["best_dev_bleu_tok_lc"] is None and written["steps"] == 3
    done = train(load_config(TOY_CONFIG, ["train.epochs=1"]), tmp_path / "epoch", progress=False)
    _strict_json(json.dumps(done))
    assert done["best_dev_ppl"] > 1 and done["best_dev_bleu_tok_lc"] >= 0
