"""Selection: exact counts, hand-computed masks for the three schemes, ties, monotonicity, errors.

The tiny model (dot attention) has these classes, in canonical order, with their parameter sizes:
src_layer1 = ih 16x4 + hh 16x4 = 128, tgt_layer1 = ih 16x8 + hh 16x4 = 192, attention = W_c 4x8 = 32,
softmax = 6x4 = 24, src_emb = 6x4 = 24, tgt_emb = 6x4 = 24; N = 424.
"""

import math

import pytest
import torch

from nmtprune.config import ModelConfig
from nmtprune.models import Seq2Seq
from nmtprune.prune import SCHEMES, get_score, prunable, prune_lowest, select

SIZES = {"src_layer1": 128, "tgt_layer1": 192, "attention": 32, "softmax": 24, "src_emb": 24, "tgt_emb": 24}


def tiny(seed=0, attention="dot"):
    torch.manual_seed(seed)
    return Seq2Seq(
        ModelConfig(
            emb_dim=4,
            hidden=4,
            enc_layers=1,
            dec_layers=1,
            src_vocab_size=6,
            tgt_vocab_size=6,
            attention=attention,
            dropout=0.0,
        )
    )


def set_classes(model, fill):
    """fill: {class: fn(numel) -> 1-D tensor} written into the class's parameters in order."""
    with torch.no_grad():
        for c in SIZES:
            params = [p for cc, _, p in prunable(model) if cc == c]
            values = fill[c](sum(p.numel() for p in params))
            for p, v in zip(params, values.split([p.numel() for p in params])):
                p.copy_(v.reshape(p.shape))


def flat_keep(ms, model):
    return torch.cat([ms[n].reshape(-1) for _, n, _ in prunable(model)])


def class_keep(ms, model, cls):
    return torch.cat([ms[n].reshape(-1) for c, n, _ in prunable(model) if c == cls])


def const(v):
    return lambda n: torch.full((n,), v)


def test_class_sizes_match_the_hand_counts():
    m = tiny()
    got = {}
    for c, _, p in prunable(m):
        got[c] = got.get(c, 0) + p.numel()
    assert got == SIZES


def test_class_blind_hand_computed_with_ties_across_classes():
    m = tiny()
    set_classes(
        m,
        {
            "src_layer1": const(0.1),
            "tgt_layer1": const(-0.2),
            "attention": const(0.3),
            "softmax": const(0.4),
            "src_emb": const(0.5),
            "tgt_emb": const(0.6),
        },
    )
    ms = select(get_score("magnitude")(m), m, 0.5, "class-blind")
    # k = round(0.5 * 424) = 212: all 128 of src_layer1, then the first 84 of tgt_layer1 (|w| = 0.2),
    # which are rows 0-9 and row 10 cols 0-3 of decoder.weight_ih_l0 (16x8).
    assert ms.info["n_pruned"] == 212
    assert not ms["encoder.weight_ih_l0"].any() and not ms["encoder.weight_hh_l0"].any()
    expected = torch.ones(16, 8, dtype=torch.bool)
    expected[:10] = False
    expected[10, :4] = False
    assert torch.equal(ms["decoder.weight_ih_l0"], expected)
    assert ms["decoder.weight_hh_l0"].all()
    for n in ("attention.W_c", "generator.weight", "src_emb.weight", "tgt_emb.weight"):
        assert ms[n].all()
    assert ms.info["threshold"] == pytest.approx(0.2)
    assert ms.info["class_pruned"] == {
        "src_layer1": 128,
        "tgt_layer1": 84,
        "attention": 0,
        "softmax": 0,
        "src_emb": 0,
        "tgt_emb": 0,
    }
    largest = ms.info["max_pruned_abs_weight"]
    assert largest["src_layer1"] == pytest.approx(0.1) and largest["tgt_layer1"] == pytest.approx(0.2)
    assert largest["attention"] is None and largest["tgt_emb"] is None


def test_class_uniform_hand_computed():
    m = tiny()
    set_classes(
        m,
        {
            "src_layer1": const(0.1),
            "tgt_layer1": const(0.2),
            "attention": const(0.3),
            "softmax": const(0.4),
            "src_emb": const(0.5),
            "tgt_emb": const(0.6),
        },
    )
    ms = select(get_score("magnitude")(m), m, 0.25, "class-uniform")
    # every class loses round(0.25 N_c) = 32, 48, 8, 6, 6, 6 weights, all ties: the first ones
    expected_rows = {"encoder.weight_ih_l0": 8, "decoder.weight_ih_l0": 6, "attention.W_c": 1}
    for n, rows in expected_rows.items():
        assert not ms[n][:rows].any() and ms[n][rows:].all()
    assert ms["encoder.weight_hh_l0"].all() and ms["decoder.weight_hh_l0"].all()
    for n in ("generator.weight", "src_emb.weight", "tgt_emb.weight"):  # 6x4: row 0 and row 1 cols 0-1
        expected = torch.ones(6, 4, dtype=torch.bool)
        expected[0] = False
        expected[1, :2] = False
        assert torch.equal(ms[n], expected)
    assert ms.info["n_pruned"] == 106
    assert ms.info["threshold"] is None
    assert ms.info["class_threshold"]["softmax"] == pytest.approx(0.4)


@pytest.mark.parametrize(
    "sparsity,expected",
    [
        (0.3, {"src_layer1": 38, "tgt_layer1": 58, "attention": 10, "softmax": 7, "src_emb": 7, "tgt_emb": 7}),
        (0.9, {"src_layer1": 115, "tgt_layer1": 173, "attention": 29, "softmax": 22, "src_emb": 22, "tgt_emb": 22}),
    ],
)
def test_class_uniform_exact_count_per_class(sparsity, expected):
    m = tiny(seed=3)
    ms = select(get_score("magnitude")(m), m, sparsity, "class-uniform")
    assert ms.info["class_pruned"] == expected
    assert {c: int((~class_keep(ms, m, c)).sum()) for c in SIZES} == expected


def pattern(scale):
    # each class: scale * [1, -1, 3, -3] repeated; scale is a power of two so |w|/σ_c is exact
    return lambda n: scale * torch.tensor([1.0, -1.0, 3.0, -3.0]).repeat(n // 4)


def test_class_distribution_hand_computed_and_differs_from_class_blind():
    m = tiny()
    set_classes(
        m,
        {
            "src_layer1": pattern(2**-4),
            "tgt_layer1": pattern(2**-2),
            "attention": pattern(1.0),
            "softmax": pattern(4.0),
            "src_emb": pattern(2**-3),
            "tgt_emb": pattern(2.0),
        },
    )
    scores = get_score("magnitude")(m)
    ms = select(scores, m, 0.25, "class-distribution")
    # |w|/σ_c is 1/√5 or 3/√5 in every class; k = 106: the 64 "±1" weights of src_layer1, then the
    # first 42 "±1" weights of tgt_layer1 (flat positions 4j, 4j+1 for j < 21 of weight_ih_l0).
    idx, enc = torch.arange(128), torch.arange(64)  # decoder.weight_ih_l0 has 128, encoder's 64 each
    assert torch.equal(ms["encoder.weight_ih_l0"].reshape(-1), (enc % 4) >= 2)
    assert torch.equal(ms["encoder.weight_hh_l0"].reshape(-1), (enc % 4) >= 2)
    assert torch.equal(ms["decoder.weight_ih_l0"].reshape(-1), ((idx % 4) >= 2) | (idx >= 84))
    assert ms.info["n_pruned"] == 106
    assert ms.info["threshold"] == pytest.approx(1 / math.sqrt(5), rel=1e-6)  # λ
    assert ms.info["class_scale"]["softmax"] == pytest.approx(4 * math.sqrt(5), rel=1e-6)  # σ of the weights
    # class-blind on the same weights: src ±1 (64, |w|=1/16), src_emb ±1 (12, 1/8), then the first 30
    # src "±3" (3/16) ones, at flat positions 4j+2, 4j+3 for j < 15 of encoder.weight_ih_l0.
    blind = select(scores, m, 0.25, "class-blind")
    assert torch.equal(blind["encoder.weight_ih_l0"].reshape(-1), ((enc % 4) >= 2) & (enc >= 60))
    assert torch.equal(blind["encoder.weight_hh_l0"].reshape(-1), (enc % 4) >= 2)
    assert blind.info["class_pruned"]["src_emb"] == 12 and blind.info["class_pruned"]["tgt_layer1"] == 0


def test_class_distribution_with_unit_scale_is_class_blind():
    m = tiny(seed=1)
    scores = get_score("magnitude")(m)
    cd = select(scores, m, 0.6, "class-distribution", class_scale={c: 1.0 for c in SIZES})
    assert cd.equal(select(scores, m, 0.6, "class-blind"))


def test_class_distribution_default_scale_weights_for_magnitude_scores_for_others():
    m = tiny(seed=2)
    mag = select(get_score("magnitude")(m), m, 0.5, "class-distribution")
    w = torch.cat([p.detach().reshape(-1) for c, _, p in prunable(m) if c == "tgt_layer1"])
    assert mag.info["class_scale"]["tgt_layer1"] == pytest.approx(float(w.std(correction=0)), rel=1e-5)
    rnd = get_score("random")(m, seed=5)
    default = select(rnd, m, 0.5, "class-distribution")
    s = torch.cat([rnd[n].reshape(-1) for c, n, _ in prunable(m) if c == "tgt_layer1"])
    assert default.info["class_scale"]["tgt_layer1"] == pytest.approx(float(s.std(correction=0)), rel=1e-5)
    assert default.equal(select(rnd, m, 0.5, "class-distribution", class_scale="scores"))
    assert not default.equal(select(rnd, m, 0.5, "class-distribution", class_scale="weights"))


@pytest.mark.parametrize("sparsity", [0.1, 0.3, 0.6, 0.95])
def test_class_blind_equals_global_magnitude_threshold(sparsity):
    m = tiny(seed=4)
    ms = select(get_score("magnitude")(m), m, sparsity, "class-blind")
    w = torch.cat([p.detach().abs().reshape(-1) for _, _, p in prunable(m)])
    k = round(sparsity * w.numel())
    t = w.sort().values[k - 1]
    assert int((w == t).sum()) == 1 or t == 0  # distinct values at the threshold (padding rows are 0)
    if t > 0:
        assert torch.equal(flat_keep(ms, m), w > t)
    assert int((~flat_keep(ms, m)).sum()) == k


@pytest.mark.parametrize("scheme", SCHEMES)
def test_all_ties_prune_lowest_flat_index_first(scheme):
    m = tiny()
    scores = {n: torch.ones(p.shape) for _, n, p in prunable(m)}
    kw = {"class_scale": {c: 1.0 for c in SIZES}} if scheme == "class-distribution" else {}
    for sparsity in (0.1, 0.37, 0.5, 0.9):
        keep = flat_keep(select(scores, m, sparsity, scheme, **kw), m)
        if scheme == "class-uniform":
            start = 0
            for c, size in SIZES.items():
                k = round(sparsity * size)
                assert not keep[start : start + k].any() and keep[start + k : start + size].all()
                start += size
        else:
            k = round(sparsity * 424)
            assert not keep[:k].any() and keep[k:].all()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_masks_are_monotone_as_sparsity_grows(scheme):
    m = tiny(seed=5)
    gen = torch.Generator().manual_seed(0)
    scores = {n: torch.randint(0, 4, p.shape, generator=gen).float() + 1 for _, n, p in prunable(m)}
    prev = None
    for i in range(20):
        sparsity = i * 0.05
        keep = flat_keep(select(scores, m, sparsity, scheme), m)
        if scheme != "class-uniform":
            assert int((~keep).sum()) == round(sparsity * 424)
        if prev is not None:
            assert not (keep & ~prev).any()  # nothing revived
        prev = keep


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), True, "0.5"])
def test_sparsity_outside_unit_interval_is_an_error(bad):
    m = tiny()
    with pytest.raises(ValueError, match="sparsity"):
        select(get_score("magnitude")(m), m, bad, "class-blind")


def test_zero_sparsity_prunes_nothing():
    m = tiny()
    for scheme in SCHEMES:
        ms = select(get_score("magnitude")(m), m, 0.0, scheme)
        assert flat_keep(ms, m).all() and ms.info["n_pruned"] == 0


def test_bad_arguments_are_errors():
    m = tiny()
    scores = get_score("magnitude")(m)
    with pytest.raises(ValueError, match="scheme"):
        select(scores, m, 0.5, "layerwise")
    with pytest.raises(ValueError, match="class_scale"):
        select(scores, m, 0.5, "class-blind", class_scale={"softmax": 1.0})
    with pytest.raises(ValueError, match="class_scale"):
        select(scores, m, 0.5, "class-distribution", class_scale={"softmax": 1.0})
    with pytest.raises(ValueError, match="lack"):
        select({k: v for k, v in scores.items() if k != "attention.W_c"}, m, 0.5, "class-blind")
    with pytest.raises(ValueError, match="shape"):
        select({**scores, "attention.W_c": torch.ones(3)}, m, 0.5, "class-blind")
    with pytest.raises(ValueError, match="NaN"):
        select({**scores, "attention.W_c": torch.full((4, 8), float("nan"))}, m, 0.5, "class-blind")
    with pytest.raises(ValueError, match="unknown weight classes"):
        select(scores, m, 0.5, "class-blind", classes=["decoder"])


def test_classes_subset_counts_against_that_subset():
    m = tiny()
    ms = select(get_score("magnitude")(m), m, 0.5, "class-blind", classes=["softmax", "attention"])
    assert set(ms.masks) == {"attention.W_c", "generator.weight"}
    assert ms.info["n_total"] == 56 and ms.info["n_pruned"] == 28


def test_prev_pruned_weights_stay_pruned():
    m = tiny(seed=6)
    first = select(get_score("random")(m, seed=1), m, 0.3, "class-blind")
    second = select(get_score("random")(m, seed=2), m, 0.5, "class-blind", prev=first)
    assert not (flat_keep(second, m) & ~flat_keep(first, m)).any()
    assert second.info["n_pruned"] == 212
    with pytest.raises(ValueError, match="prev"):
        select(get_score("random")(m, seed=2), m, 0.2, "class-blind", prev=first)


@pytest.mark.parametrize("kind", ["distinct", "half_zeros", "few_values"])
@pytest.mark.parametrize("q", [0.000004, 0.3, 0.7, 0.999997])
def test_prune_lowest_large_input_matches_stable_sort(kind, q):
    # > 16 * 65536 entries: the sampled-bracket path and its fallbacks (lo or hi missing, tie mass)
    gen = torch.Generator().manual_seed(1)
    n = 1_100_000
    flat = {
        "distinct": torch.rand(n, generator=gen),
        "half_zeros": torch.rand(n, generator=gen) * (torch.rand(n, generator=gen) > 0.5),
        "few_values": torch.randint(0, 3, (n,), generator=gen).float(),
    }[kind]
    k = round(q * n)
    keep, t = prune_lowest(flat, k)
    expected = torch.ones(n, dtype=torch.bool)
    expected[torch.sort(flat, stable=True).indices[:k]] = False
    assert torch.equal(keep, expected)
    assert t == float(flat.kthvalue(k).values)
