"""OBD's curvature estimators against the exact curvature of a tiny Seq2Seq, whose exact Hessian comes from
``torch.autograd.functional.hessian`` over a flat parameter vector (torch.func.functional_call)."""

import pytest
import torch
from torch.func import functional_call

from nmtprune.models.seq2seq import nll_loss
from nmtprune.prune import get_score
from nmtprune.prune.scores._autograd import fisher_diagonal, prunable_params, seq2seq_objective
from nmtprune.prune.scores._hessian import exact_gn_diagonal, exact_hessian_diagonal, hutchinson_diagonal

from score_helpers import flat, rank_corr, tiny_batches, tiny_model


@pytest.fixture(scope="module")
def tiny_hessian():
    """(model, batches, full exact Hessian of E over the prunable weights) from functional_call."""
    m, bs = tiny_model(), tiny_batches(1)
    params = prunable_params(m)
    names, shapes = list(params), [p.shape for p in params.values()]
    sizes = [p.numel() for p in params.values()]

    def E(w):
        parts = {k: v.reshape(s) for k, v, s in zip(names, w.split(sizes), shapes)}
        return sum(nll_loss(functional_call(m, parts, (b.src, b.src_len, b.tgt_in)), b.tgt_out) for b in bs) / sum(
            b.n_tokens for b in bs
        )

    w0 = torch.cat([p.detach().reshape(-1) for p in params.values()])
    return m, bs, torch.autograd.functional.hessian(E, w0)


def test_decoder_lstm_cell_and_packed_lstm_are_twice_differentiable():
    gen = torch.Generator().manual_seed(0)
    args = [
        torch.randn(s, generator=gen, dtype=torch.float64, requires_grad=True)
        for s in [(2, 3), (2, 4), (2, 4), (16, 3), (16, 4), (16,), (16,)]
    ]

    def cell(x, h, c, wi, wh, bi, bh):
        return torch._VF.lstm_cell(x, (h, c), wi, wh, bi, bh)

    assert torch.autograd.gradgradcheck(cell, args)


def test_exact_hessian_diagonal_matches_autograd_hessian(tiny_hessian):
    m, bs, H = tiny_hessian
    got = flat(exact_hessian_diagonal(seq2seq_objective(m), prunable_params(m), bs))
    assert got.numel() == 391
    torch.testing.assert_close(got, H.diagonal().double(), rtol=1e-4, atol=1e-7)
    assert bool((H.diagonal() < 0).any())  # an untrained model: negative curvature exists (hence clamp)


def test_hutchinson_agrees_with_the_exact_diagonal_within_its_own_standard_error(tiny_hessian):
    m, bs, H = tiny_hessian
    h = H.diagonal().double()
    probes = 4000
    est = flat(
        hutchinson_diagonal(seq2seq_objective(m), prunable_params(m), bs, probes=probes, seed=0, probe_batch=500)
    )
    # one probe's error on weight k has variance Σ_{j≠k} h_kj²; P probes divide it by P. Off-diagonal
    # curvature dominates an LSTM's Hessian, so the tolerance is this standard error, per weight.
    se = ((H.double().square().sum(1) - h.square()).clamp(min=0) / probes).sqrt()
    z = ((est - h) / se)[se > 0]
    assert 0.6 < float(z.square().mean()) < 1.5  # unbiased and the right scale (2x h would give > 1.7)
    assert float(z.abs().max()) < 5
    strong = h.abs() > 4 * se  # the weights the probes pin down
    assert int(strong.sum()) >= 10
    assert float((est - h)[strong].norm()) < 0.3 * float(h[strong].norm())
    assert bool((est[se == 0] == h[se == 0]).all())  # no off-diagonal curvature: exact


def test_true_fisher_agrees_with_the_exact_gauss_newton_diagonal():
    m, bs = tiny_model(), tiny_batches(1)
    obj, params = seq2seq_objective(m), prunable_params(m)
    gn = flat(exact_gn_diagonal(obj, params, bs))
    est = flat(fisher_diagonal(obj, params, bs, "true", seed=0, samples=800))
    assert float((est - gn).norm()) < 0.1 * float(gn.norm())
    assert rank_corr(est, gn) > 0.98
    assert bool((est >= 0).all())


def test_empirical_fisher_uses_per_sentence_gradients():
    m, bs = tiny_model(), tiny_batches(2)
    params = prunable_params(m)
    want = {k: torch.zeros_like(p) for k, p in params.items()}
    for b in bs:
        for i in range(3):  # one sentence at a time, padding trimmed by hand
            s, t = int(b.src_len[i]), int((b.tgt_out[i] != 0).sum())
            loss = nll_loss(
                m(b.src[i : i + 1, :s], b.src_len[i : i + 1], b.tgt_in[i : i + 1, :t]), b.tgt_out[i : i + 1, :t]
            )
            for (k, p), g in zip(params.items(), torch.autograd.grad(loss, list(params.values()), allow_unused=True)):
                want[k] += 0 if g is None else g.square()
    n = sum(b.n_tokens for b in bs)
    got = fisher_diagonal(seq2seq_objective(m), params, bs, "empirical", micro_batch=1)
    for k in params:
        torch.testing.assert_close(got[k], want[k] / n, rtol=1e-4, atol=1e-9)


def test_obd_score_is_half_h_w_squared_and_never_the_squared_gradient(tiny_hessian):
    m, bs, H = tiny_hessian
    w = torch.cat([p.detach().reshape(-1) for p in prunable_params(m).values()])
    got = flat(get_score("obd-exact")(m, batches=bs, absent_rows="zero"))
    torch.testing.assert_close(got, (0.5 * H.diagonal().clamp(min=0) * w.square()).double(), rtol=1e-4, atol=1e-9)
    assert bool((got >= 0).all()) and bool(((H.diagonal() < 0) & (w != 0)).any())  # the clamp did something
