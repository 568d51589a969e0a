"""Shared by the experiment tests: a toy study over a tiny untrained model, the sweep over it, and a lock held
by another process (as a live sweep would hold it). The ``study`` fixture is imported by name where it is used."""

import contextlib
import subprocess
import sys

import pytest
import torch

from nmtprune.config import load_config
from nmtprune.experiments import run_sweep
from nmtprune.models import Seq2Seq
from nmtprune.train.checkpoint import save_checkpoint
from nmtprune.train.loop import build_vocabs

from conftest import TOY_CONFIG


STUDY = """\
model: {model}
split: test
dev_split: dev
beam: 1
max_sentences: 6
prune_eval:
  sparsities: [0.0, 0.5, 0.9]
  methods:
    - {{score: magnitude, schemes: [class-blind, class-uniform]}}
    - {{score: random, schemes: [class-blind], seeds: [1, 2]}}
class_breakdown: {{sparsity: 0.9, schemes: [class-uniform]}}
where: {{sparsity: 0.8, rank_bins: 4}}
storage: {{sparsities: [0.8]}}
"""


def make_model(path, seed=0):
    """A tiny random Seq2Seq over the toy vocabularies, saved as a checkpoint at ``path``."""
    cfg = load_config(TOY_CONFIG, ["model.hidden=8", "model.emb_dim=8"])
    sv, tv = build_vocabs(cfg)
    mc = cfg.model.__class__(**{**cfg.model.__dict__, "src_vocab_size": len(sv), "tgt_vocab_size": len(tv)})
    cfg = cfg.__class__(data=cfg.data, model=mc, train=cfg.train)
    torch.manual_seed(seed)
    save_checkpoint(path, Seq2Seq(cfg.model), cfg, sv, tv)
    return path


def write_study(tmp_path, template: str, name: str):
    """A study file ``name.yaml`` from ``template`` (``{model}``: a fresh tiny model) in ``tmp_path``."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(template.format(model=make_model(tmp_path / "model")), encoding="utf-8")
    return path


@pytest.fixture
def study(tmp_path):
    return write_study(tmp_path, STUDY, "toy_study")


def sweep(study, tmp_path, **kw):
    return run_sweep(study, results_dir=tmp_path / "results", work_dir=tmp_path / "work", progress=False, **kw)


@contextlib.contextmanager
def held(lock):
    """Another process (as a live sweep would) holds ``lock`` until the block ends; then it exits."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import fcntl, sys
fh = open({str(lock)!r}, "a+"); fcntl.flock(fh.fileno(), fcntl.LOCK_EX); print("held", flush=True)
sys.stdin.readline()
""",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate("\n")
