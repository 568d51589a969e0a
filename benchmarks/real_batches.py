"""Real Multi30k training batches of the throughput benchmark, cached for quick timing scripts.

Building the vocabularies takes about a minute, so the first call collates ``n`` batches of epoch 0
(the benchmark's data section, seed 1, 64 sentences) and saves them with the vocabulary sizes; later
calls load that file. The batches are the first ``n`` that training sees, in training order.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path("/tmp/nmtprune-bench/real_batches.pt")


def real_batches(n: int = 40, cache: Path = DEFAULT_CACHE) -> tuple[list, int, int]:
    """([Batch, ...] of length n, source vocabulary size, target vocabulary size)."""
    if cache.is_file():
        saved = torch.load(cache, weights_only=False)
        if len(saved["batches"]) >= n:
            return saved["batches"][:n], saved["src_vocab"], saved["tgt_vocab"]
    sys.path.insert(0, str(REPO / "benchmarks"))
    from train_throughput import nmtprune_config_dict

    from nmtprune.config import config_from_dict
    from nmtprune.data.batching import collate, load_split, make_batches
    from nmtprune.train.loop import build_vocabs

    cfg = config_from_dict(nmtprune_config_dict(100, 50, 1, False), "real_batches")
    sv, tv = build_vocabs(cfg)
    d = cfg.data
    data = load_split(d.corpus, d.train_split, d.src_lang, d.tgt_lang, d.lowercase, sv, tv, d.max_len)
    batches = [collate(data, idx) for idx in make_batches(data, cfg.train.batch_size, cfg.train.seed, 0)[:n]]
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"batches": batches, "src_vocab": len(sv), "tgt_vocab": len(tv)}, cache)
    return batches, len(sv), len(tv)
