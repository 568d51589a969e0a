"""Shared by the hidden-unit tests: small models in every layout, a batch, unit masks and the check that a
shrunk model computes what the masked one does."""

import copy

import torch

from nmtprune.config import ModelConfig
from nmtprune.data.vocab import BOS, EOS, PAD
from nmtprune.decode.search import beam_search, greedy_search
from nmtprune.models import Seq2Seq
from nmtprune.prune.units import UnitMask, unit_groups


CONFIGS = [  # (enc_layers, dec_layers, attention, input_feed)
    (1, 1, "general", True),
    (1, 1, "dot", False),
    (2, 2, "general", True),
    (2, 2, "dot", True),
    (2, 3, "general", False),
    (3, 2, "dot", True),
]


def make(el=2, dl=2, att="general", feed=True, n=6, E=5, seed=0, dtype=torch.float32, **kw):
    torch.manual_seed(seed)
    cfg = ModelConfig(
        emb_dim=E,
        hidden=n,
        enc_layers=el,
        dec_layers=dl,
        attention=att,
        input_feed=feed,
        dropout=0.0,
        init_range=0.5,
        src_vocab_size=11,
        tgt_vocab_size=13,
        **kw,
    )
    return Seq2Seq(cfg).to(dtype).eval()


class Batch:
    def __init__(self, seed=0, B=3, S=6, T=5):
        g = torch.Generator().manual_seed(seed)
        self.src = torch.randint(4, 11, (B, S), generator=g)
        self.src_len = torch.tensor([S, 4, 2][:B])
        for b in range(B):
            self.src[b, self.src_len[b] :] = PAD
        tgt = torch.randint(4, 13, (B, T + 1), generator=g)
        tgt[:, 0] = BOS
        tgt[1, 3:] = PAD
        tgt[1, 2] = EOS
        self.tgt_in, self.tgt_out = tgt[:, :-1], tgt[:, 1:]


def random_mask(model, seed=0):
    """Remove a different random number of units (>= 1, not all) from every group."""
    g = torch.Generator().manual_seed(seed)
    keep = {}
    for grp in unit_groups(model.cfg):
        k = torch.ones(grp.size, dtype=torch.bool)
        if grp.size > 1:
            k[torch.randperm(grp.size, generator=g)[: int(torch.randint(1, grp.size, (1,), generator=g))]] = False
        keep[grp.name] = k
    return UnitMask(keep)


def removing(model, **removed):
    """The UnitMask removing these unit indices per group (groups not named keep all units)."""
    keep = {g.name: torch.ones(g.size, dtype=torch.bool) for g in unit_groups(model.cfg)}
    for name, units in removed.items():
        keep[name][units] = False
    return UnitMask(keep)


def masked_copy(model, mask):
    m = copy.deepcopy(model)
    mask.apply(m)
    return m


def assert_same_outputs(a, b, batch=None):
    batch = batch or Batch()
    with torch.no_grad():
        la, aa = a(batch.src, batch.src_len, batch.tgt_in, return_align=True)
        lb, ab = b(batch.src, batch.src_len, batch.tgt_in, return_align=True)
        torch.testing.assert_close(la, lb, rtol=0, atol=1e-6)
        torch.testing.assert_close(aa, ab, rtol=0, atol=1e-6)
        assert greedy_search(a, batch.src, batch.src_len) == greedy_search(b, batch.src, batch.src_len)
        assert beam_search(a, batch.src, batch.src_len, beam=3) == beam_search(b, batch.src, batch.src_len, beam=3)


# ---------------------------------------------------------------------- model: per-layer sizes
