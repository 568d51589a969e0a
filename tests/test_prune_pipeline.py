"""End to end: prune -> retrain (masks hold through steps, save/load/resume, torchrun) -> export."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, TOY_CONFIG
from nmtprune.config import load_config
from nmtprune.prune import MaskSet, get_score, select
from nmtprune.sparse.compressed import load_compressed, save_compressed
from nmtprune.prune.retrain import retrain, retrain_config, sparse_from_scratch
from nmtprune.train.checkpoint import load_model
from nmtprune.train.loop import train


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    out = tmp_path_factory.mktemp("dense")
    train(load_config(TOY_CONFIG, ["train.epochs=6", "model.dropout=0.2"]), out / "run", progress=False)
    return out / "run" / "best"


def _zeros_hold(model, masks):
    named = dict(model.named_parameters())
    return all(torch.all(named[n][~m] == 0) for n, m in masks.items())


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "nmtprune", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=900,
    )


def test_retrain_keeps_pruned_weights_zero_and_resumes_exactly(dense, tmp_path):
    model, *_ = load_model(dense)
    masks = select(get_score("magnitude")(model), model, 0.7, "class-blind")
    over = ["train.epochs=2", "train.save_every=2"]
    retrain(dense, masks, tmp_path / "full", seed=3, overrides=over)
    retrain(dense, masks, tmp_path / "part", seed=3, overrides=over + ["train.max_steps=5"])
    retrain(dense, masks, tmp_path / "part", seed=3, overrides=over, resume=True)
    full, *_ = load_model(tmp_path / "full" / "last")
    part, *_ = load_model(tmp_path / "part" / "last")
    assert _zeros_hold(full, masks) and _zeros_hold(part, masks)
    assert masks.stats(full)["overall"]["zeros"] >= masks.stats(full)["overall"]["pruned"]
    for (n, a), (_, b) in zip(full.state_dict().items(), part.state_dict().items()):
        assert torch.equal(a, b), n
    # and the surviving weights did train
    assert not torch.equal(full.generator.weight, model.generator.weight)


def test_retrain_recipe_is_see_et_al_scaled(dense):
    _, cfg, *_ = load_model(dense)
    r = retrain_config(cfg, seed=5)
    assert r.train.lr == cfg.train.lr * 0.5 and r.train.epochs == 2 and r.train.decays_per_epoch == 2
    assert r.train.seed == 5 and not r.train.decay_on_plateau
    assert retrain_config(cfg, 5, ["train.epochs=4"]).train.epochs == 4


def test_sparse_from_scratch_respects_mask(dense, tmp_path):
    model, *_ = load_model(dense)
    masks = select(get_score("magnitude")(model), model, 0.5, "class-uniform")
    sparse_from_scratch(dense, masks, tmp_path / "s", seed=2, overrides=["train.epochs=1"])
    fresh, *_ = load_model(tmp_path / "s" / "last")
    assert _zeros_hold(fresh, masks)
    assert not torch.allclose(fresh.generator.weight, model.generator.weight)


def test_sparse_from_scratch_at_the_training_seed_starts_from_the_references_initial_weights(
    dense, tmp_path, monkeypatch
):
    """The report says so (a lottery-ticket setting): a change that shifts the RNG before the model is built fails."""
    import nmtprune.prune.retrain as retrain_mod
    import nmtprune.train.loop as loop

    built = []

    class Recording(loop.Seq2Seq):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            built.append({n: t.detach().clone() for n, t in self.state_dict().items()})

    monkeypatch.setattr(loop, "Seq2Seq", Recording)
    cfg = load_config(TOY_CONFIG, ["train.epochs=6", "model.dropout=0.2", "train.max_steps=1"])  # as `dense` ran
    train(cfg, tmp_path / "ref", progress=False)
    reference_init = built[0]
    model, *_ = load_model(dense)
    masks = select(get_score("magnitude")(model), model, 0.5, "class-blind")
    starts = {}
    monkeypatch.setattr(
        retrain_mod,
        "train",
        lambda c, out, init_model, **k: starts.setdefault(
            c.train.seed, {n: t.detach().clone() for n, t in init_model.state_dict().items()}
        ),
    )
    for seed in (cfg.train.seed, cfg.train.seed + 1):
        sparse_from_scratch(dense, masks, tmp_path / f"s{seed}", seed=seed)
    same, other = starts[cfg.train.seed], starts[cfg.train.seed + 1]
    assert same.keys() == reference_init.keys()
    assert all(torch.equal(same[n], reference_init[n]) for n in same)
    assert not torch.equal(other["generator.weight"], reference_init["generator.weight"])


@pytest.mark.parametrize("fp16", [False, True])
def test_compressed_export_round_trip_and_size(dense, tmp_path, fp16):
    model, *_ = load_model(dense)
    masks = select(get_score("magnitude")(model), model, 0.8, "class-blind")
    masks.apply(model)
    size = save_compressed(model, masks, tmp_path / "m.sparse.safetensors", fp16=fp16)
    state = load_compressed(tmp_path / "m.sparse.safetensors")
    for name, value in model.state_dict().items():
        expect = value.half().float() if fp16 else value
        assert torch.equal(state[name], expect), name
    masked = sum(m.numel() for m in masks.masks.values())
    dense_bytes = masked * 4
    # the masked part costs (1 - s) * bytes_per_value + 1/8 per weight; the toy's biases add a little
    assert size < dense_bytes * (0.2 * (2 if fp16 else 4) / 4 + 1 / 32) + 20000


def test_cli_prune_retrain_export_and_scratch(dense, tmp_path):
    r = cli("prune", str(dense), "--select", "class-uniform", "--sparsity", "0.6", "--out", str(tmp_path / "p"))
    assert r.returncode == 0, r.stderr
    info = json.loads((tmp_path / "p" / "prune.json").read_text())
    assert abs(info["stats"]["overall"]["sparsity"] - 0.6) < 1e-3
    assert all(abs(v["sparsity"] - 0.6) < 0.01 for k, v in info["stats"].items() if k != "overall")
    r = cli("prune", str(dense), "--sparsity", "1.0", "--out", str(tmp_path / "bad"))
    assert r.returncode != 0 and "sparsity" in r.stderr
    r = cli("retrain", str(tmp_path / "p"), "--out", str(tmp_path / "r"), "--no-progress", "train.epochs=1")
    assert r.returncode == 0, r.stderr
    r = cli("export", str(tmp_path / "p"), "--out", str(tmp_path / "e"))
    assert r.returncode == 0, r.stderr
    a, *_ = load_model(tmp_path / "p")
    b, *_ = load_model(tmp_path / "e")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    r = cli(
        "train",
        str(TOY_CONFIG),
        "--out",
        str(tmp_path / "scratch"),
        "--mask",
        str(tmp_path / "p" / "masks.safetensors"),
        "--no-progress",
        "train.epochs=1",
    )
    assert r.returncode == 0, r.stderr
    masks = MaskSet.load(tmp_path / "p" / "masks.safetensors")
    scratch, *_ = load_model(tmp_path / "scratch" / "last")
    assert _zeros_hold(scratch, masks)


def test_masks_hold_under_torchrun(dense, tmp_path):
    r = cli("prune", str(dense), "--sparsity", "0.5", "--out", str(tmp_path / "p"))
    assert r.returncode == 0, r.stderr
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
            str(tmp_path / "ddp"),
            "--mask",
            str(tmp_path / "p" / "masks.safetensors"),
            "--no-progress",
            "train.epochs=1",
            "train.optimizer=adam",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert r.returncode == 0, r.stderr[-2000:]
    model, *_ = load_model(tmp_path / "ddp" / "last")
    assert _zeros_hold(model, MaskSet.load(tmp_path / "p" / "masks.safetensors"))
