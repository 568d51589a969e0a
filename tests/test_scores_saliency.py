"""Data-driven scores (OBD, SNIP, GraSP, Taylor): hand-computed values, estimators vs exact curvature,
GraSP's sign, determinism, every score x every selection, the embedding-row policies, errors, plumbing.

Two test problems:
* softmax regression z = W x with W 3x3 (4 examples in 2 batches), where the gradient, the Hessian
  and the Fisher have closed forms computed here in numpy (float64), independently of autograd;
* a tiny Seq2Seq (vocab 8, emb 4, hidden 3, encoder 1 layer, decoder 2 layers so the decoder's
  ``torch._VF.lstm_cell`` is used, 391 weights) whose exact Hessian comes from
  ``torch.autograd.functional.hessian`` over a flat parameter vector (torch.func.functional_call).
"""

import json

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from conftest import TOY_CONFIG
from nmtprune.config import ModelConfig, load_config
from nmtprune.data.batching import Batch, load_split
from nmtprune.models import Seq2Seq
from nmtprune.models.seq2seq import nll_loss
from nmtprune.prune import SCHEMES, get_score, n_to_prune, prunable, select
from nmtprune.prune.scores import DoubleBackwardError, absent_row_counts, absent_rows, score_names, scoring_batches
from nmtprune.prune.scores import _autograd
from nmtprune.prune.scores._autograd import (
    Objective,
    exact_gn_diagonal,
    exact_hessian_diagonal,
    fisher_diagonal,
    hutchinson_diagonal,
    prunable_params,
    seq2seq_objective,
)
from nmtprune.prune.scores.grasp import grasp_from_objective
from nmtprune.prune.scores.obd import obd_from_objective
from nmtprune.prune.scores.snip import snip_from_objective
from nmtprune.prune.scores.taylor import taylor_from_objective
from nmtprune.train.checkpoint import load_model, save_checkpoint
from nmtprune.train.loop import build_vocabs


def flat(d):
    return torch.cat([v.reshape(-1).double() for v in d.values()])


def rank_corr(a, b):
    ra, rb = a.argsort().argsort().double(), b.argsort().argsort().double()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / (ra.norm() * rb.norm()))


# ---------------------------------------------------------------- softmax regression, by hand
def toy(scale=1.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    W = nn.Parameter(torch.randn(3, 3, generator=gen, dtype=torch.float64) * scale)
    X = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 2])
    batches = [(X[:2], y[:2]), (X[2:], y[2:])]
    obj = Objective(
        logits=lambda b: (b[0] @ W.T, b[1]),
        split=lambda b, k: [(b[0][i : i + k], b[1][i : i + k]) for i in range(0, len(b[1]), k)],
        count=lambda b: len(b[1]),
    )
    return W, {"W": W}, batches, obj


def by_hand(W, rows):
    """Closed forms on examples ``rows`` (X, y): per-example grads (n,3,3), mean grad, Hessian (9,9) of the mean."""
    W = W.detach().numpy()
    X = np.concatenate([b[0].numpy() for b in rows])
    y = np.concatenate([b[1].numpy() for b in rows])
    z = X @ W.T
    P = np.exp(z - z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    E = np.eye(3)[y]
    G = (P - E)[:, :, None] * X[:, None, :]  # dℓ_n/dW = (p_n - e_y) x_nᵀ
    H = sum(np.kron(np.diag(p) - np.outer(p, p), np.outer(x, x)) for p, x in zip(P, X)) / len(y)
    return G, G.mean(0), H


def close(a, b, rtol=1e-4, atol=1e-9):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol)


def test_snip_hand_computed():
    W, params, batches, obj = toy()
    _, g, _ = by_hand(W, batches)
    close(snip_from_objective(obj, params, batches)["W"], np.abs(g * W.detach().numpy()))


def test_obd_exact_and_gauss_newton_hand_computed():
    W, params, batches, obj = toy()
    _, _, H = by_hand(W, batches)
    want = 0.5 * np.diag(H).reshape(3, 3) * W.detach().numpy() ** 2  # linear model: GN = Hessian
    for est in ("exact", "gn-exact"):
        close(obd_from_objective(obj, params, batches, est)["W"], want)


def test_obd_empirical_fisher_hand_computed_per_example_and_per_batch():
    W, params, batches, obj = toy()
    G, _, _ = by_hand(W, batches)
    w2 = W.detach().numpy() ** 2
    close(obd_from_objective(obj, params, batches, "empirical", micro_batch=1)["W"], 0.5 * (G**2).mean(0) * w2)
    per_batch = ((G[:2].sum(0)) ** 2 + (G[2:].sum(0)) ** 2) / 4  # (Σ_batch g)², not Σ g²
    close(obd_from_objective(obj, params, batches, "empirical", micro_batch=None)["W"], 0.5 * per_batch * w2)


def test_true_fisher_converges_to_the_hand_computed_gauss_newton_diagonal():
    W, params, batches, obj = toy()
    _, _, H = by_hand(W, batches)
    est = fisher_diagonal(obj, params, batches, "true", seed=1, samples=4000)["W"].double().numpy()
    want = np.diag(H).reshape(3, 3)
    assert np.abs(est - want).max() < 0.06 * want.max()
    # and one sample is not already the answer (the test can fail on a bias)
    one = fisher_diagonal(obj, params, batches, "true", seed=1, samples=1)["W"].double().numpy()
    assert np.abs(one - want).max() > 0.06 * want.max()


def test_hutchinson_one_probe_is_z_times_hz_by_hand():
    W, params, batches, obj = toy()
    gen = torch.Generator().manual_seed(5)
    est = np.zeros(9)
    for b in batches:  # the estimator's probe order: per batch, probe-major
        z = (torch.randint(0, 2, (3, 3), generator=gen) * 2 - 1).double().numpy().reshape(-1)
        _, _, Hb = by_hand(W, [b])
        est += z * (Hb * len(b[1]) @ z)
    close(hutchinson_diagonal(obj, params, batches, probes=1, seed=5)["W"], (est / 4).reshape(3, 3))


def test_grasp_hand_computed():
    W, params, batches, obj = toy()
    _, g, H = by_hand(W, batches)
    hg = (H @ g.reshape(-1)).reshape(3, 3)
    Wn = W.detach().numpy()
    close(grasp_from_objective(obj, params, batches)["W"], Wn * hg)  # = −S: lowest first
    close(grasp_from_objective(obj, params, batches, absolute=True)["W"], np.abs(Wn * hg))


def test_grasp_sign_prunes_first_the_weight_whose_removal_raises_gradient_flow_most():
    """Constructed case with a known answer: Δ‖g‖² of deleting each weight, by brute force."""
    W, params, batches, obj = toy(scale=0.05, seed=3)
    score = grasp_from_objective(obj, params, batches)["W"].double().numpy().reshape(-1)
    base = np.sum(by_hand(W, batches)[1] ** 2)
    delta = []
    for q in range(9):
        Wq = W.detach().clone().reshape(-1)
        Wq[q] = 0
        delta.append(np.sum(by_hand(Wq.reshape(3, 3), batches)[1] ** 2) - base)
    delta = np.array(delta)
    # GraSP removes the largest S = −score first; S predicts Δ‖g‖² / 2 to first order
    assert int(np.argmin(score)) == int(np.argmax(delta))
    close(delta, -2 * score, rtol=0.1, atol=0.05 * np.abs(delta).max())
    assert rank_corr(torch.from_numpy(-score), torch.from_numpy(delta)) > 0.9


def test_taylor_first_and_second_order_hand_computed():
    W, params, batches, obj = toy()
    Wn = W.detach().numpy()
    fo, so = 0, 0
    for b in batches:
        _, gb, Hb = by_hand(W, [b])  # this batch's mean loss
        fo = fo + (gb * Wn) ** 2
        so = so + (gb * Wn - 0.5 * Wn * (Hb @ Wn.reshape(-1)).reshape(3, 3)) ** 2
    close(taylor_from_objective(obj, params, batches, 1)["W"], fo / 2)
    close(taylor_from_objective(obj, params, batches, 2)["W"], so / 2)


def test_hessian_products_through_a_kernel_without_double_backward_give_a_clear_error():
    class FusedLike(torch.autograd.Function):
        """Raises what cuDNN's RNN raises when its backward is differentiated (pytorch #5261)."""

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            if torch.is_grad_enabled():  # create_graph=True: someone wants the backward's graph
                raise RuntimeError(
                    "the derivative for '_cudnn_rnn_backward' is not implemented. "
                    "Double backwards is not supported for CuDNN RNNs"
                )
            return g * 2

    W, params, batches, obj = toy()
    twice = Objective(lambda b: (FusedLike.apply(b[0] @ W.T), b[1]), obj.split, obj.count)
    with pytest.raises(DoubleBackwardError, match="double backward"):
        hutchinson_diagonal(twice, params, batches)
    with pytest.raises(DoubleBackwardError):
        grasp_from_objective(twice, params, batches)
    snip_from_objective(twice, params, batches)  # first order is fine


# ---------------------------------------------------------------- tiny Seq2Seq
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


@pytest.fixture(scope="module")
def all_scores():
    m, bs = tiny_model(), tiny_batches(2)
    return m, {name: get_score(name)(m, batches=bs, seed=0) for name in score_names("weight")}


def test_every_score_with_every_selection_prunes_the_exact_count(all_scores):
    m, scores = all_scores
    sizes = {}
    for c, _, p in prunable(m):
        sizes[c] = sizes.get(c, 0) + p.numel()
    n = sum(sizes.values())
    for name, s in scores.items():
        for _, pname, p in prunable(m):
            assert s[pname].shape == p.shape and s[pname].dtype == torch.float32, (name, pname)
            assert bool(torch.isfinite(s[pname]).all()), (name, pname)
        for scheme in SCHEMES:
            for sp in (0.3, 0.7):
                ms = select(s, m, sp, scheme)
                if scheme == "class-uniform":
                    assert ms.info["class_pruned"] == {c: n_to_prune(sp, k) for c, k in sizes.items()}, name
                else:
                    assert ms.info["n_pruned"] == n_to_prune(sp, n), (name, scheme)


def test_keep_policy_pins_absent_rows_and_still_works_with_every_selection():
    m, bs = tiny_model(), tiny_batches(2)
    s = get_score("obd")(m, batches=bs, absent_rows="keep")
    rows = absent_rows(m, bs)
    assert bool(torch.isinf(s["tgt_emb.weight"][rows["tgt_emb.weight"]]).all())
    for scheme in SCHEMES:
        ms = select(s, m, 0.5, scheme)
        assert bool(ms["src_emb.weight"][rows["src_emb.weight"]].all())  # never pruned at 50 %
        assert bool(ms["tgt_emb.weight"][rows["tgt_emb.weight"]].all())


def test_absent_rows_counted_and_each_policy_applied():
    m, bs = tiny_model(), tiny_batches(2)
    assert absent_row_counts(m, bs) == {"src_emb.weight": 4, "tgt_emb.weight": 3}  # {1,2,3,7}, {1,3,7}
    rows = absent_rows(m, bs)["tgt_emb.weight"]
    zero = get_score("snip")(m, batches=bs, absent_rows="zero")["tgt_emb.weight"]
    assert bool((zero[rows] == 0).all()) and bool((zero[~rows][1:] > 0).any())
    mag = get_score("snip")(m, batches=bs)["tgt_emb.weight"]
    w = m.tgt_emb.weight.detach().abs()
    present = (~rows).unsqueeze(1).expand_as(w) & (w > 0)
    ratio = (zero[present] / w[present]).median()
    torch.testing.assert_close(mag[rows], w[rows] * ratio)
    torch.testing.assert_close(mag[~rows], zero[~rows])


def test_snip_at_init_is_deterministic_and_leaves_the_model_untouched():
    m, bs = tiny_model(), tiny_batches(1)
    m.train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    a, b = (get_score("snip-init")(m, batches=bs, seed=3) for _ in range(2))
    c = get_score("snip-init")(m, batches=bs, seed=4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert not all(torch.equal(a[k], v) for k, v in get_score("snip")(m, batches=bs).items())  # init matters
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items()) and m.training
    get_score("grasp-init")(m, batches=bs, seed=3)
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())


def test_registry_variants_are_visible_and_addressable_by_name():
    assert {
        "obd",
        "obd-empirical",
        "obd-hutchinson",
        "obd-exact",
        "snip",
        "snip-init",
        "grasp",
        "grasp-init",
        "taylor",
        "taylor2",
    } <= set(score_names("weight"))
    assert get_score("obd").options["estimator"] == "fisher" and get_score("obd").needs_data
    assert get_score("snip-init-b1").n_batches == 1 and not get_score("magnitude").needs_data
    assert get_score("snip-init").at_init and not get_score("snip").at_init and get_score("random").mask_per_seed
    json.dumps({k: dict(get_score(k).options) for k in score_names()})  # options are JSON-able (stored in results)
    m = tiny_model()
    assert torch.equal(get_score("magnitude")(m)["attention.W_c"], m.attention.W_c.detach().abs())


def test_bad_arguments_give_clear_errors(monkeypatch):
    m, bs = tiny_model(), tiny_batches(1)
    with pytest.raises(ValueError, match="unknown score 'obd-typo'"):
        get_score("obd-typo")
    with pytest.raises(ValueError, match="needs scoring batches"):
        get_score("obd")(m)
    with pytest.raises(ValueError, match="unknown OBD estimator 'kfac'"):
        get_score("obd")(m, batches=bs, estimator="kfac")
    with pytest.raises(ValueError, match="absent_rows"):
        get_score("snip")(m, batches=bs, absent_rows="drop")
    with pytest.raises(ValueError, match="tiny models"):
        get_score("obd-exact")(m, batches=bs, max_weights=100)
    with pytest.raises(ValueError, match="Taylor order"):
        get_score("taylor")(m, batches=bs, order=3)
    # a CUDA model with cuDNN on: double backward is refused up front unless the non-fused path is allowed
    monkeypatch.setattr(_autograd, "_on_cudnn", lambda params: True)
    for name in ("obd-hutchinson", "grasp-init", "taylor2"):
        with pytest.raises(DoubleBackwardError, match="cuDNN"):
            get_score(name)(m, batches=bs, nonfused=False)
    get_score("obd-hutchinson")(m, batches=bs)  # default nonfused=True: cuDNN switched off, runs
    get_score("obd")(m, batches=bs, nonfused=False)  # first order never needs it


def test_scoring_a_cuda_model_runs_cudnn_off_for_first_order_scores_too(monkeypatch):
    # scores run in eval mode, and cuDNN's RNN refuses a backward outside training mode (pytorch #5878):
    # on CUDA every score, not only the double-backward ones, must take the non-fused path
    from nmtprune.prune.scores._autograd import prunable_params, scoring_mode

    m = tiny_model().train()
    seen = {}
    for on_cuda in (True, False):
        monkeypatch.setattr(_autograd, "_on_cudnn", lambda params, on_cuda=on_cuda: on_cuda)
        with scoring_mode(m, prunable_params(m)):
            seen[on_cuda] = (torch.backends.cudnn.enabled, m.training)
    assert seen == {True: (False, False), False: (True, False)}
    assert torch.backends.cudnn.enabled and m.training  # both restored


# ---------------------------------------------------------------- plumbing: batches, sweep context, CLI, rounds
def toy_checkpoint(path):
    cfg = load_config(TOY_CONFIG, ["model.hidden=8", "model.emb_dim=8"])
    sv, tv = build_vocabs(cfg)
    mc = cfg.model.__class__(**{**cfg.model.__dict__, "src_vocab_size": len(sv), "tgt_vocab_size": len(tv)})
    cfg = cfg.__class__(data=cfg.data, model=mc, train=cfg.train)
    torch.manual_seed(0)
    save_checkpoint(path, Seq2Seq(cfg.model), cfg, sv, tv)
    return path


def test_scoring_batches_are_deterministic_prefixes(tmp_path):
    _, cfg, sv, tv = load_model(toy_checkpoint(tmp_path / "m"))
    d = cfg.data
    data = load_split(d.corpus, d.train_split, d.src_lang, d.tgt_lang, d.lowercase, sv, tv, d.max_len)
    a, b, c = scoring_batches(data, 4, 8, seed=1), scoring_batches(data, 2, 8, seed=1), scoring_batches(data, 4, 8, 2)
    assert len(a) == 4 and all(len(x.index) <= 8 for x in a)
    assert [list(x.index) for x in a[:2]] == [list(x.index) for x in b]
    assert [list(x.index) for x in a] != [list(x.index) for x in c]


def test_sweep_context_builds_batches_only_for_data_driven_scores(tmp_path):
    from nmtprune.experiments.context import Context
    from nmtprune.experiments.study import load_study

    model = toy_checkpoint(tmp_path / "model")
    path = tmp_path / "s.yaml"
    path.write_text(
        f"model: {model}\nsplit: test\ndev_split: dev\nbeam: 1\nmax_sentences: 4\n"
        "prune_eval: {sparsities: [0.5], methods: [{score: obd, schemes: [class-blind]}]}\n"
    )
    ctx = Context(load_study(path), tmp_path / "work")
    ctx.masks("magnitude", "class-blind", 0.5)
    assert ctx._train is None  # magnitude needs no data
    ms = ctx.masks("obd", "class-blind", 0.5)
    assert ms.info["scoring"]["n_batches"] == 1 and ms.info["scoring"]["batch_size"] == 64  # 50 toy pairs
    assert ms.info["scoring"]["options"]["estimator"] == "fisher"
    assert set(ms.info["scoring"]["absent_rows"]) == {"src_emb.weight", "tgt_emb.weight"}
    again = ctx.masks("obd", "class-uniform", 0.5)  # the cached score serves another scheme
    assert ctx._scores[0] == ("obd", 0) and again.info["n_pruned"] == ms.info["n_pruned"]


def test_prune_cli_passes_scoring_batches_and_records_them(tmp_path):
    from nmtprune.cli import main

    model = toy_checkpoint(tmp_path / "model")
    assert (
        main(
            [
                "prune",
                str(model),
                "--score",
                "taylor",
                "--sparsity",
                "0.5",
                "--score-batches",
                "2",
                "--score-batch-size",
                "8",
                "--out",
                str(tmp_path / "p"),
            ]
        )
        == 0
    )
    rec = json.loads((tmp_path / "p" / "prune.json").read_text())
    assert rec["scoring"]["n_batches"] == 2 and rec["scoring"]["sentences"] == 16
    assert rec["scoring"]["options"] == {"order": 1} and rec["stats"]["overall"]["sparsity"] == pytest.approx(0.5, 1e-3)


def test_scheduled_pruning_rescores_the_current_model_at_every_event(tmp_path):
    """Iterative OBD: each event scores the weights as retraining left them (the sweep's rescorer)."""
    from nmtprune.experiments.context import Context
    from nmtprune.experiments.study import load_study
    from nmtprune.prune.gradual import ScheduledPruner, full_masks
    from nmtprune.prune.schedule import iterative

    model = toy_checkpoint(tmp_path / "model")
    path = tmp_path / "s.yaml"
    path.write_text(f"model: {model}\nsplit: test\ndev_split: dev\nbeam: 1\n")
    ctx = Context(load_study(path), tmp_path / "work")
    rescore, seen = ctx.rescorer("obd", 0), []

    def spy(m, step):
        seen.append(step)
        return rescore(m, step)

    m = ctx.dense()
    pruner = ScheduledPruner(full_masks(m), iterative(0.6, 3, 10), spy, "class-blind")
    zeros = []
    for step in range(30):
        pruner.update(m, None, step)
        zeros.append(torch.cat([p.detach().reshape(-1) == 0 for _, _, p in prunable(m)]))
        with torch.no_grad():  # stand-in for training between events
            for p in m.parameters():
                p.add_(0.01 * torch.randn_like(p))
        pruner.masks.apply(m)
    assert seen == [0, 10, 20] and pruner.current == pytest.approx(0.6)
    assert bool((zeros[5] <= zeros[15]).all()) and bool((zeros[15] <= zeros[25]).all())  # pruned stays pruned
    n = sum(p.numel() for _, _, p in prunable(m))
    assert int(zeros[-1].sum()) == n_to_prune(0.6, n)
