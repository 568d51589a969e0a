from pathlib import Path

import pytest
import torch

from nmtprune.config import ModelConfig

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "tests" / "data" / "toy"
TOY_CONFIG = ROOT / "tests" / "data" / "toy.yaml"

torch.set_num_threads(1)


@pytest.fixture
def tiny_cfg():
    return ModelConfig(
        emb_dim=8,
        hidden=8,
        enc_layers=2,
        dec_layers=2,
        attention="general",
        dropout=0.0,
        src_vocab_size=11,
        tgt_vocab_size=13,
    )


@pytest.fixture(autouse=True)
def _chdir_root(monkeypatch):
    # the toy config names its corpus by a path relative to the repository root
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
