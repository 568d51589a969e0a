"""The roofline benchmark's accounting: bytes and FLOPs of one decoder step, counted by hand for a tiny model.

Tiny config: E = 2, hidden 3, 1 encoder and 2 decoder layers, general attention, input feeding, V_tgt = 7.
Per step matrices: layer 1 (12, 2 + 3 + 3) = 96, layer 2 (12, 3 + 3) = 72, W_c (3, 3 + 3) = 18,
W_s (7, 3) = 21: 207 weights, 34 rows. Biases: 2 x 12 per layer + 7 = 55. Rows 2, source length 4.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nmtprune.config import ModelConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_shrink import decoder_step_macs  # noqa: E402
from roofline import step_cost, step_matrices, variant_costs  # noqa: E402
from sparse_breakeven import break_even  # noqa: E402

TINY = ModelConfig(emb_dim=2, hidden=3, enc_layers=1, dec_layers=2, src_vocab_size=5, tgt_vocab_size=7)


def test_step_matrices_by_hand():
    assert step_matrices(TINY) == {
        "decoder layer 1": (12, 8),
        "decoder layer 2": (12, 6),
        "attention W_c": (3, 6),
        "softmax layer W_s": (7, 3),
    }


def test_dense_step_by_hand():
    c = step_cost(TINY, rows=2, src_len=4)
    assert c["weight_bytes"] == 207 * 4
    assert c["fp32_extra_bytes"] == 4 * (55 + 2 * 2)  # biases and one embedding row per hypothesis
    assert c["state_bytes"] == 4 * 2 * 4 * (3 + 3)  # keys and memory of each row's source
    assert c["bytes"] == 828 + 236 + 192
    assert c["flops"] == 2 * 2 * 207 + 2 * 2 * 4 * (3 + 3)


def test_variants_by_hand():
    v = variant_costs(TINY, None, rows=2, src_len=4, sparsity=0.5)
    dense = v["dense fp32"]
    assert v["pruned 50%, stored dense fp32"] == dense  # zeros stored and multiplied like any weight
    csr = v["pruned 50%, CSR fp32"]
    assert csr["weight_bytes"] == pytest.approx(0.5 * 207 * (4 + 4) + 34 * 4)
    assert csr["flops"] == pytest.approx(2 * 2 * 0.5 * 207 + 96)
    int8 = v["int8 weights"]
    assert int8["weight_bytes"] == 207 + 34 * 4  # one byte per weight, a 4-byte scale per row
    assert int8["flops"] == dense["flops"]
    assert "units 50 % removed, shrunk fp32" not in v


def test_flops_agree_with_bench_shrink_macs():
    """Two multiply-adds counts of the same step: bench_shrink's per-hypothesis MACs and the roofline's FLOPs."""
    ref = ModelConfig(emb_dim=512, hidden=512, src_vocab_size=5895, tgt_vocab_size=7880)
    for cfg in (TINY, ref):
        assert step_cost(cfg, rows=5, src_len=13)["flops"] == 2 * 5 * decoder_step_macs(cfg, 13)


def test_break_even():
    s = [0.5, 0.9, 0.99]
    assert break_even(s, [3.0, 0.5, 0.1], [1.0, 1.0, 1.0]) == 0.9
    assert break_even(s, [0.5, 2.0, 0.1], [1.0, 1.0, 1.0]) == 0.99  # a win below a loss does not count
    assert break_even(s, [3.0, 2.0, 1.0], [1.0, 1.0, 1.0]) is None
    assert break_even([0.99, 0.9], [0.1, 2.0], [1.0, 1.0]) == 0.99  # stopped early, highest first
