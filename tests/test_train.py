import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, TOY_CONFIG
from nmtprune.config import load_config
from nmtprune.data.batching import load_split
from nmtprune.metrics.evaluate import evaluate_data
from nmtprune.train.checkpoint import CheckpointError, load_model, save_checkpoint
from nmtprune.train.loop import bad_epochs, learning_rate, train


def _weights(path):
    return load_file(str(Path(path) / "model.safetensors"))


def _run_cli(*args, env=None, **kw):
    return subprocess.run(
        [sys.executable, "-m", "nmtprune", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
        **kw,
    )


def test_tiny_model_overfits_50_pairs(tmp_path):
    start = time.time()
    cfg = load_config(TOY_CONFIG, ["train.epochs=60", "data.dev_split=train", "model.hidden=64", "model.emb_dim=64"])
    train(cfg, tmp_path / "run", progress=False)
    model, cfg, sv, tv = load_model(tmp_path / "run" / "best")
    data = load_split(cfg.data.corpus, "train", "en", "de", True, sv, tv)
    assert len(data) == 50
    metrics, _ = evaluate_data(model, data, tv, "de", beam=5)
    assert metrics["bleu_tok_lc"] > 90
    assert time.time() - start < 60


def test_checkpoint_round_trip_is_exact(tmp_path):
    cfg = load_config(TOY_CONFIG, ["train.max_steps=3"])
    train(cfg, tmp_path / "run", progress=False)
    model, cfg2, sv, tv = load_model(tmp_path / "run" / "last")
    save_checkpoint(tmp_path / "copy", model, cfg2, sv, tv)
    model2, cfg3, sv2, tv2 = load_model(tmp_path / "copy")
    assert cfg3 == cfg2 and sv2.itos == sv.itos and tv2.counts == tv.counts
    for (n1, p1), (n2, p2) in zip(model.state_dict().items(), model2.state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2)


def test_truncated_foreign_and_pickle_checkpoints_are_rejected(tmp_path):
    cfg = load_config(TOY_CONFIG, ["train.max_steps=2"])
    train(cfg, tmp_path / "run", progress=False)
    ckpt = tmp_path / "run" / "last"
    data = (ckpt / "model.safetensors").read_bytes()
    (ckpt / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(ckpt)
    # a pickle where the weights should be is never unpickled
    torch.save({"x": torch.zeros(2)}, ckpt / "model.safetensors")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_model(ckpt)
    (ckpt / "meta.json").write_text(json.dumps({"format": "something-else", "version": 1}))
    with pytest.raises(CheckpointError, match="format"):
        load_model(ckpt)
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_model(tmp_path / "nowhere")


def test_stop_and_resume_equals_uninterrupted(tmp_path):
    over = ["model.dropout=0.3", "train.epochs=3"]  # dropout: the RNG state must be restored too
    full = train(load_config(TOY_CONFIG, over), tmp_path / "full", progress=False)
    train(load_config(TOY_CONFIG, over + ["train.max_steps=10"]), tmp_path / "part", progress=False)
    resumed = train(load_config(TOY_CONFIG, over), tmp_path / "part", resume=True, progress=False)
    assert resumed["steps"] == full["steps"] == 21
    a, b = _weights(tmp_path / "full" / "last"), _weights(tmp_path / "part" / "last")
    assert all(torch.equal(a[k], b[k]) for k in a)
    steps = [
        json.loads(line)["step"]
        for line in (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()
        if json.loads(line)["type"] == "train"
    ]
    assert steps == sorted(set(steps))  # nothing logged twice


def test_sigkill_and_resume_equals_uninterrupted(tmp_path):
    over = ["model.dropout=0.3", "train.epochs=40", "train.save_every=5", "--no-progress"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nmtprune", "train", str(TOY_CONFIG), "--out", str(tmp_path / "killed"), *over],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.time() + 60
    trainer = tmp_path / "killed" / "last" / "trainer.json"
    while not trainer.exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    killed_at = json.loads(trainer.read_text())["step"]
    assert 0 < killed_at < 280
    r = _run_cli("train", str(TOY_CONFIG), "--out", str(tmp_path / "killed"), "--resume", *over)
    assert r.returncode == 0, r.stderr
    r = _run_cli("train", str(TOY_CONFIG), "--out", str(tmp_path / "full"), *over)
    assert r.returncode == 0, r.stderr
    a, b = _weights(tmp_path / "full" / "last"), _weights(tmp_path / "killed" / "last")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_existing_run_is_not_overwritten(tmp_path):
    cfg = load_config(TOY_CONFIG, ["train.max_steps=2"])
    train(cfg, tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "last" / "model.safetensors").read_bytes()
    with pytest.raises(CheckpointError, match="already holds"):
        train(cfg, tmp_path / "run", progress=False)
    with pytest.raises(CheckpointError, match="config differs"):
        train(load_config(TOY_CONFIG, ["train.lr=0.5"]), tmp_path / "run", resume=True, progress=False)
    assert (tmp_path / "run" / "last" / "model.safetensors").read_bytes() == before


def test_learning_rate_schedules():
    luong = load_config(TOY_CONFIG, ["train.lr=1.0", "train.decay_start=8", "train.epochs=12"])
    assert [learning_rate(luong, e, 0, 10, 0) for e in (0, 7, 8, 9, 11)] == [1.0, 1.0, 0.5, 0.25, 0.0625]
    # See et al.'s retraining: 0.5 for 2 epochs, then halve every half epoch
    see = load_config(TOY_CONFIG, ["train.lr=0.5", "train.decay_start=2", "train.decays_per_epoch=2"])
    got = [learning_rate(see, e, p, 10, 0) for e, p in ((0, 0), (1, 9), (2, 0), (2, 5), (3, 0), (3, 5))]
    assert got == [0.5, 0.5, 0.25, 0.125, 0.0625, 0.03125]
    assert learning_rate(see, 0, 0, 10, plateau_decays=2) == 0.125


def test_early_stop_counts_epochs_without_gain_only_once_dev_bleu_is_above_zero():
    def stop_epoch(bleus, patience=4):
        bad, best = 0, -1.0
        for epoch, b in enumerate(bleus, 1):
            bad, best = bad_epochs(bad, best, b), max(best, b)
            if bad >= patience:
                return epoch
        return None

    assert stop_epoch([1.0, 2.0, 2.0, 1.5, 1.9, 3.0]) is None  # the 6th gains: 3 bad epochs at most
    assert stop_epoch([1.0, 2.0, 2.0, 1.5, 1.9, 2.0, 1.0]) == 6  # four epochs without beating 2.0
    # a hard start: BLEU 0.00 for six epochs, then it learns -- patience counts from the first non-zero BLEU
    assert stop_epoch([0.0] * 6 + [1.2, 1.1, 1.0, 1.2, 0.9]) == 11
    assert stop_epoch([0.0] * 15) is None  # never scores: trains to its last epoch rather than stop at BLEU 0


def test_ddp_two_processes_match_one(tmp_path):
    over = ["train.epochs=2", "train.optimizer=sgd", "train.lr=0.5", "model.dropout=0.0"]
    single = load_config(TOY_CONFIG, over)
    train(single, tmp_path / "one", progress=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_addr=127.0.0.1",
            f"--master_port={port}",
            "-m",
            "nmtprune",
            "train",
            str(TOY_CONFIG),
            "--out",
            str(tmp_path / "two"),
            "--no-progress",
            *over,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = _weights(tmp_path / "one" / "last"), _weights(tmp_path / "two" / "last")
    assert set(a) == set(b)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)


def test_label_smoothing_matches_torch_and_keeps_plain_nll():
    from nmtprune.models.seq2seq import nll_loss, smoothed_nll_loss

    torch.manual_seed(0)
    logits = torch.randn(2, 3, 7)
    tgt = torch.tensor([[4, 5, 0], [6, 0, 0]])  # 0 = PAD, ignored
    smooth, nll = smoothed_nll_loss(logits, tgt, 0.1)
    ref = torch.nn.functional.cross_entropy(
        logits.reshape(-1, 7), tgt.reshape(-1), ignore_index=0, reduction="sum", label_smoothing=0.1
    )
    assert torch.allclose(smooth, ref)
    assert torch.allclose(nll, nll_loss(logits, tgt))
    assert smooth > nll  # smoothing adds mass on the wrong classes' -log p


def test_label_smoothing_out_of_range_is_rejected():
    from nmtprune.config import ConfigError, with_overrides

    cfg = load_config(TOY_CONFIG)
    with pytest.raises(ConfigError, match="train.label_smoothing"):
        with_overrides(cfg, ["train.label_smoothing=1.5"], "test")


def test_extending_a_finished_run_equals_the_longer_run(tmp_path):
    # train.epochs may grow on resume: 2 epochs then extended to 4 == 4 epochs straight
    over = ["model.dropout=0.3", "train.decay_on_plateau=true"]
    full = train(load_config(TOY_CONFIG, over + ["train.epochs=4"]), tmp_path / "full", progress=False)
    train(load_config(TOY_CONFIG, over + ["train.epochs=2"]), tmp_path / "ext", progress=False)
    ext = train(
        load_config(TOY_CONFIG, over + ["train.epochs=4", "train.keep_epochs=2"]),
        tmp_path / "ext",
        resume=True,
        progress=False,
    )
    assert ext["steps"] == full["steps"] and ext["epochs"] == 4
    a, b = _weights(tmp_path / "full" / "last"), _weights(tmp_path / "ext" / "last")
    assert all(torch.equal(a[k], b[k]) for k in a)
    # keep_epochs=2 kept the weights after epochs 3 and 4 only; epoch 4's are the final weights
    assert sorted(p.name for p in (tmp_path / "ext").glob("epoch-*")) == ["epoch-003", "epoch-004"]
    c = _weights(tmp_path / "ext" / "epoch-004")
    assert all(torch.equal(a[k], c[k]) for k in a)


def test_average_checkpoints_is_the_elementwise_mean(tmp_path):
    cfg = load_config(TOY_CONFIG, ["train.epochs=3", "train.keep_epochs=3"])
    train(cfg, tmp_path / "run", progress=False)
    r = _run_cli("average", "--run", str(tmp_path / "run"), "--last", "3", "--out", str(tmp_path / "avg"))
    assert r.returncode == 0, r.stderr
    ws = [_weights(tmp_path / "run" / f"epoch-00{e}") for e in (1, 2, 3)]
    avg = _weights(tmp_path / "avg")
    for k in avg:
        assert torch.allclose(avg[k], (ws[0][k] + ws[1][k] + ws[2][k]) / 3, atol=1e-6)
    assert not torch.equal(avg["generator.weight"], ws[2]["generator.weight"])  # not just the last epoch
    model, *_ = load_model(tmp_path / "avg")  # a loadable checkpoint
    # refuses to overwrite, and to average more epochs than were kept
    r = _run_cli("average", "--run", str(tmp_path / "run"), "--last", "3", "--out", str(tmp_path / "avg"))
    assert r.returncode != 0 and "already exists" in r.stderr
    r = _run_cli("average", "--run", str(tmp_path / "run"), "--last", "5", "--out", str(tmp_path / "avg5"))
    assert r.returncode != 0 and "found 3" in r.stderr


def test_average_rejects_checkpoints_of_different_models(tmp_path):
    train(load_config(TOY_CONFIG, ["train.max_steps=2"]), tmp_path / "a", progress=False)
    train(load_config(TOY_CONFIG, ["train.max_steps=2", "model.hidden=16"]), tmp_path / "b", progress=False)
    r = _run_cli("average", str(tmp_path / "a" / "last"), str(tmp_path / "b" / "last"), "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "model config differs" in r.stderr
    assert not (tmp_path / "x").exists()
