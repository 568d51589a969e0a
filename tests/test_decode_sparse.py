"""Sparse decoding (nmtprune/decode/sparse.py): CSR products equal the dense ones, each call takes the
choice made for its row count, the whole step agrees with the model, and `evaluate`/`translate --sparse`.

Which products run as CSR under ``auto`` depends on this CPU's timings, so tests that check outcomes
force the choice (``all`` / ``none``); comparisons use tolerances, never bit equality (CSR sums in
another order than the dense kernel).
"""

import json

import pytest
import torch
from torch import nn
from unit_helpers import Batch, make

from nmtprune.cli import main
from nmtprune.decode.explicit_step import MatMulLinear
from nmtprune.decode.sparse import CsrLinear, Switch, describe_plan, sparse_model
from nmtprune.decode.search import beam_search, greedy_search

SHIPPED = "models/multi30k-en-de"


def _pruned(weight: torch.Tensor, sparsity: float, seed: int = 0) -> torch.Tensor:
    keep = torch.rand(weight.shape, generator=torch.Generator().manual_seed(seed)) >= sparsity
    return weight * keep


@pytest.mark.parametrize("bias", [True, False])
def test_csr_product_equals_the_dense_one_for_any_leading_shape(bias):
    g = torch.Generator().manual_seed(0)
    w = _pruned(torch.randn(7, 5, generator=g), 0.7)
    b = torch.randn(7, generator=g) if bias else None
    csr, dense = CsrLinear(w, b), MatMulLinear(w, b)
    assert csr.weight.layout == torch.sparse_csr and csr.weight.values().numel() == int((w != 0).sum())
    for shape in [(1, 5), (4, 5), (2, 3, 5)]:
        x = torch.randn(*shape, generator=g)
        torch.testing.assert_close(csr(x), dense(x), rtol=1e-5, atol=1e-5)
        assert csr(x).shape == (*shape[:-1], 7)


class _Tag(nn.Module):
    """A product stand-in that answers with its own tag, to see which one a call took."""

    def __init__(self, tag: float):
        super().__init__()
        self.tag = tag

    def forward(self, x):
        return torch.full((*x.shape[:-1], 1), self.tag)


def test_each_call_follows_the_choice_of_the_largest_timed_row_count_not_above_its_own():
    sw = Switch(_Tag(0.0), _Tag(1.0), [(1, False), (5, True), (64, False)])
    took = {n: float(sw(torch.zeros(n, 3))[0, 0]) for n in (1, 4, 5, 63, 64, 500)}
    assert took == {1: 0.0, 4: 0.0, 5: 1.0, 63: 1.0, 64: 0.0, 500: 0.0}
    assert float(sw(torch.zeros(2, 3, 3))[0, 0, 0]) == 1.0  # 6 rows in all
    below = Switch(None, _Tag(1.0), [(5, True)])  # fewer rows than any timed count: the smallest's choice
    assert float(below(torch.zeros(2, 3))[0, 0]) == 1.0


def _prune_model(model, sparsity):
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            if p.dim() == 2:
                p.copy_(_pruned(p, sparsity, seed=i))
    return model


@pytest.mark.parametrize("dl,att,feed", [(2, "general", True), (3, "dot", False)])
def test_the_csr_step_gives_the_models_log_probabilities_and_translations(dl, att, feed):
    model = _prune_model(make(2, dl, att, feed, n=12, E=7), 0.8).eval()
    sp = sparse_model(model, mode="all")
    assert all(all(r["csr"] for r in m["rows"]) for m in sp.plan) and len(sp.plan) == dl + 2
    assert not any(isinstance(m, MatMulLinear) for m in sp.step.modules())  # no dense copy is kept
    b = Batch()
    with torch.no_grad():
        ref = torch.log_softmax(model(b.src, b.src_len, b.tgt_in), -1)
        got = sp(b.src, b.src_len, b.tgt_in)
    real = b.tgt_out != 0
    torch.testing.assert_close(got[real], ref[real], rtol=1e-4, atol=1e-4)
    # the searches only see the interface: the same best hypotheses up to ties within rounding
    g_ref, g_sp = greedy_search(model, b.src, b.src_len), greedy_search(sp, b.src, b.src_len)
    assert sum(x == y for x, y in zip(g_ref, g_sp)) >= len(g_ref) - 1
    assert len(beam_search(sp, b.src, b.src_len, beam=3)) == b.src.shape[0]


def test_dense_where_not_sparse_enough_or_asked_and_bad_options_are_refused():
    model = _prune_model(make(n=12, E=7), 0.3).eval()
    auto = sparse_model(model, min_sparsity=0.5)  # 30 % zeros: never timed, dense everywhere
    assert all(not r["csr"] and "dense_ms" not in r for m in auto.plan for r in m["rows"])
    assert not any(isinstance(m, CsrLinear) for m in auto.step.modules())
    assert all(line.endswith(": dense") for line in describe_plan(auto.plan))
    timed = sparse_model(model, min_sparsity=0.0, rows=(1, 8), repeats=1)  # timed, whatever it chose
    assert all([r["rows"] for r in m["rows"]] == [1, 8] and "csr_ms" in m["rows"][0] for m in timed.plan)
    with pytest.raises(ValueError, match="mode"):
        sparse_model(model, mode="fast")
    with pytest.raises(ValueError, match="rows"):
        sparse_model(model, rows=(0, 5))


def test_evaluate_and_translate_sparse(tmp_path, capsys):
    pruned = tmp_path / "p80"
    assert main(["prune", SHIPPED, "--sparsity", "0.8", "--out", str(pruned)]) == 0
    capsys.readouterr()
    args = ["evaluate", str(pruned), "--split", "test_2016_flickr", "--sparse", "--max-sentences", "4", "--beam", "2"]
    assert main([*args, "--json"]) == 0
    out = capsys.readouterr()
    metrics = json.loads(out.out)
    assert metrics["sentences"] == 4 and metrics["ppl"] > 1
    plan = [line for line in out.err.splitlines() if line.startswith("sparse: ")]
    assert len(plan) == 4 and all("zeros" in line for line in plan)  # two decoder layers, W_c, softmax
    text = tmp_path / "in.en"
    text.write_text("A man is playing a guitar.\n", encoding="utf-8")
    assert main(["translate", str(pruned), "--sparse", "--beam", "1", "--input", str(text)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["evaluate", SHIPPED, "--split", "test_2016_flickr", "--sparse", "--int8"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --int8 and --sparse: choose one (int8 products are dense; CSR products are fp32)"
    ]
