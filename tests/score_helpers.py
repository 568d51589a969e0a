"""Shared by the data-driven score tests: a tiny Seq2Seq (vocab 8, emb 4, hidden 3, encoder 1 layer, decoder 2
layers so the decoder's ``torch._VF.lstm_cell`` is used, 391 weights), its batches, and rank correlation."""

import numpy as np
import torch

from nmtprune.config import ModelConfig
from nmtprune.data.batching import Batch
from nmtprune.models import Seq2Seq


def flat(d):
    return torch.cat([v.reshape(-1).double() for v in d.values()])


def rank_corr(a, b):
    ra, rb = a.argsort().argsort().double(), b.argsort().argsort().double()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / (ra.norm() * rb.norm()))


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return Seq2Seq(
        ModelConfig(
            emb_dim=4,
            hidden=3,
            enc_layers=1,
            dec_layers=2,
            src_vocab_size=8,
            tgt_vocab_size=8,
            attention="general",
            dropout=0.0,
            init_range=0.5,
        )
    ).eval()


def tiny_batches(n=2, seed=1):
    """Tokens 4-6 only, so rows 1 (unk), 2 (<s>, source side), 3 (</s>, target inputs) and 7 are absent."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        src = torch.randint(4, 7, (3, 4), generator=gen)
        src_len = torch.tensor([4, 3, 2])
        for i, k in enumerate(src_len):
            src[i, k:] = 0
        y = torch.randint(4, 7, (3, 3), generator=gen)
        tgt_in, tgt_out = torch.cat([torch.full((3, 1), 2), y[:, :-1]], 1), y.clone()
        tgt_in[2, 2] = tgt_out[2, 2] = 0  # a shorter target
        out.append(Batch(src, src_len, tgt_in, tgt_out, np.arange(3)))
    return out
