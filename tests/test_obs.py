"""Reconstruction pruning: exact OBS, SparseGPT, Wanda, N:M and the LSTM/embedding special cases.

Small seeded float64 problems. Where the mathematics is exact the comparisons are against
independent references (least-squares solves on X, explicit inverses of sub-Hessians), to 1e-6.
"""

import pytest
import torch

from nmtprune.config import ModelConfig
from nmtprune.data.vocab import BOS, PAD
from nmtprune.models import Seq2Seq, trace_batch
from nmtprune.prune.nm import nm_mask, parse_nm, per_row_mask, prune_lowest_per_row
from nmtprune.prune.obs import (
    JointGram,
    embedding_obs_prune,
    embedding_saliency,
    lstm_joint_prune,
    obs_greedy_exact,
    reconstruction_error,
    wanda_scores,
)
from nmtprune.prune.sparsegpt import damped_hessian, inverse_hessian_chain, sparsegpt_prune

F64 = torch.float64


def close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)


def problem(seed, rows=32, cols=64, n=256, mix=0.5):
    """W (rows, cols) and calibration inputs X (n, cols): correlated columns with unequal norms."""
    g = torch.Generator().manual_seed(seed)
    A = torch.eye(cols, dtype=F64) + mix * torch.randn(cols, cols, generator=g, dtype=F64)
    scale = torch.empty(cols, dtype=F64).uniform_(-1.5, 1.5, generator=g).exp()  # norms spread ~20x
    X = (torch.randn(n, cols, generator=g, dtype=F64) @ A) * scale
    W = torch.randn(rows, cols, generator=g, dtype=F64)
    return W, X


def ls_optimum(w, X, keep):
    """argmin ‖X w - X ŵ‖² over ŵ zero outside ``keep``: a least-squares solve on the kept columns."""
    out = torch.zeros_like(w)
    kept = keep.nonzero().squeeze(1)
    if kept.numel():
        out[kept] = torch.linalg.lstsq(X[:, kept], (X @ w)[:, None]).solution[:, 0]
    return out


def sequential_reference(W, H, keep):
    """SparseGPT's answer for a fixed mask, from its definition: columns decided left to right, each
    fixed to 0 (pruned) or its current value, then every later column set to the conditional optimum
    d_F = -H_FF⁻¹ H_FP d_P given the decided prefix P (d = Ŵ - W)."""
    cols = W.shape[1]
    cur = W.clone()
    for j in range(cols):
        cur[:, j] = torch.where(keep[:, j], cur[:, j], torch.zeros_like(cur[:, j]))
        if j + 1 < cols:
            dP = cur[:, : j + 1] - W[:, : j + 1]  # (rows, j + 1)
            dF = -torch.linalg.solve(H[j + 1 :, j + 1 :], H[j + 1 :, : j + 1] @ dP.T).T
            cur[:, j + 1 :] = W[:, j + 1 :] + dF
    return cur


# --- selections inside a row ---------------------------------------------------------------------


@pytest.mark.parametrize("n,m", [(2, 4), (4, 8), (1, 4), (0, 2), (3, 3)])
def test_nm_mask_keeps_exactly_n_highest_per_group(n, m):
    g = torch.Generator().manual_seed(n * 10 + m)
    scores = torch.randint(0, 4, (7, 6 * m), generator=g).to(F64)  # many ties
    keep = nm_mask(scores, n, m)
    groups, kg = scores.view(7, 6, m), keep.view(7, 6, m)
    assert (kg.sum(dim=2) == n).all()
    for r in range(7):
        for gi in range(6):
            s, k = groups[r, gi], kg[r, gi]
            if 0 < n < m:
                assert s[k].min() >= s[~k].max()
                # ties: the pruned ones among equal scores are the lower indices
                v = s[~k].max()
                tied = (s == v).nonzero().squeeze(1)
                assert not (k[tied][:-1] & ~k[tied][1:]).any()


def test_nm_errors_and_parsing():
    assert parse_nm("2:4") == (2, 4) and parse_nm(" 4:8 ") == (4, 8)
    for bad in ("2-4", "5:4", "a:b", "2:0", "2:4:8"):
        with pytest.raises(ValueError):
            parse_nm(bad)
    with pytest.raises(ValueError, match="divisible"):
        nm_mask(torch.rand(3, 10), 2, 4)


def test_per_row_mask_exact_counts_and_ties():
    scores = torch.tensor([[3.0, 1.0, 1.0, 2.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    keep = per_row_mask(scores, 0.4)  # round(0.4 * 5) = 2 per row
    assert keep.tolist() == [[True, False, False, True, True], [False, False, True, True, True]]
    for s in (0.0, 0.13, 0.5, 0.77, 1.0):
        assert (per_row_mask(torch.rand(6, 13), s).sum(1) == 13 - round(s * 13)).all()
    with pytest.raises(ValueError):
        prune_lowest_per_row(scores, 6)


def test_wanda_scores_by_hand():
    W = torch.tensor([[1.0, -2.0], [-3.0, 0.5]])
    assert wanda_scores(W, torch.tensor([4.0, 9.0])).tolist() == [[2.0, 6.0], [6.0, 1.5]]
    # an embedding (V, E) = (2, 2) stored token-major: counts scale its rows
    assert wanda_scores(W, torch.tensor([4.0, 9.0]), embedding=True).tolist() == [[2.0, 4.0], [9.0, 1.5]]


def test_reconstruction_error_is_the_output_error():
    W, X = problem(0, rows=5, cols=7, n=20)
    W_new = W * (torch.rand(5, 7, generator=torch.Generator().manual_seed(1)) > 0.5)
    close(reconstruction_error(W, W_new, X.T @ X), ((X @ W.T - X @ W_new.T) ** 2).sum())


# --- exact OBS -----------------------------------------------------------------------------------


def test_greedy_obs_matches_brute_force_greedy_on_16x16():
    W, X = problem(3, rows=16, cols=16, n=64)
    H = X.T @ X
    W0, H0 = W.clone(), H.clone()
    k = 10
    W_obs, keep, order = obs_greedy_exact(W, H, k)
    assert torch.equal(W, W0) and torch.equal(H, H0)
    assert (keep.sum(1) == 16 - k).all() and (W_obs[~keep] == 0).all()
    for r in range(16):
        w, kept = W[r], torch.ones(16, dtype=torch.bool)
        for t in range(k):
            # brute force: try every remaining weight, re-solve the reconstruction exactly, keep the best
            errors = {}
            for q in kept.nonzero().squeeze(1).tolist():
                trial = kept.clone()
                trial[q] = False
                errors[q] = float(((X @ (w - ls_optimum(w, X, trial))) ** 2).sum())
            best = min(errors, key=errors.get)
            assert best == int(order[r, t]), (r, t)  # at t = 0: the best of all single-weight masks
            kept[best] = False
        # OBS's updated row is the exact optimum for its final mask
        close(W_obs[r], ls_optimum(w, X, kept))
    for t in (1, 4):  # greedy: a shorter run is a prefix, and its weights are that mask's optimum too
        W_t, keep_t, order_t = obs_greedy_exact(W, H, t)
        assert torch.equal(order_t, order[:, :t])
        for r in range(16):
            close(W_t[r], ls_optimum(W[r], X, keep_t[r]))


# --- SparseGPT -----------------------------------------------------------------------------------


def test_inverse_hessian_chain_rows_are_the_obs_inverses():
    _, X = problem(1, cols=12, n=40)
    H = X.T @ X
    U = inverse_hessian_chain(H)
    assert torch.equal(U, U.triu())
    for j in range(12):
        inv = torch.linalg.inv(H[j:, j:])  # the free set {j, ...} once columns < j are decided
        close(U[j, j] ** 2, inv[0, 0])
        close(U[j, j] * U[j, j:], inv[0])  # so -(w / U_jj) U[j, j:] is OBS's update of the later columns


@pytest.mark.parametrize("damp", [0.0, 0.01])
def test_sparsegpt_fixed_mask_equals_its_definition(damp):
    W, X = problem(2, rows=8, cols=24, n=96)
    H = X.T @ X
    keep = torch.rand(8, 24, generator=torch.Generator().manual_seed(5)) > 0.6
    W0, H0, keep0 = W.clone(), H.clone(), keep.clone()
    W_new, keep_out = sparsegpt_prune(W, H, mask=keep, block_size=7, damp=damp)
    assert torch.equal(W, W0) and torch.equal(H, H0) and torch.equal(keep, keep0)
    assert torch.equal(keep_out, keep) and (W_new[~keep] == 0).all()
    Hd, _ = damped_hessian(H, damp)
    close(W_new, sequential_reference(W, Hd, keep))
    # frozen prefixes make it no better than the unconstrained optimum for the same mask
    best = torch.stack([ls_optimum(W[r], X, keep[r]) for r in range(8)])
    assert reconstruction_error(W, W_new, H) >= reconstruction_error(W, best, H) * (1 - 1e-9)


def test_sparsegpt_lazy_blocks_change_nothing():
    W, X = problem(4, rows=16, cols=64, n=200)
    H = X.T @ X
    keep = torch.rand(16, 64, generator=torch.Generator().manual_seed(6)) > 0.5
    ref, _ = sparsegpt_prune(W, H, mask=keep, block_size=64)
    for b in (1, 5, 16, 100):
        close(sparsegpt_prune(W, H, mask=keep, block_size=b)[0], ref)
    ref_nm, keep_nm = sparsegpt_prune(W, H, nm=(2, 4), block_size=64)
    for b in (4, 8, 32):
        W_b, keep_b = sparsegpt_prune(W, H, nm=(2, 4), block_size=b)
        assert torch.equal(keep_b, keep_nm)
        close(W_b, ref_nm)


def test_sparsegpt_adaptive_mask_rule_and_replay():
    W, X = problem(5, rows=12, cols=20, n=80)
    H = X.T @ X
    Hd, _ = damped_hessian(H, 0.01)
    d2 = torch.stack([torch.linalg.inv(Hd[j:, j:])[0, 0] for j in range(20)])  # the OBS denominators
    W_new, keep = sparsegpt_prune(W, H, 0.45, block_size=20)  # one block: scored on the original W
    assert torch.equal(keep, per_row_mask(W**2 / d2, 0.45))
    assert torch.equal(sparsegpt_prune(W, H, mask=keep, block_size=20)[0], W_new)
    # with blocks, replaying the mask it chose reproduces its update too
    W_b, keep_b = sparsegpt_prune(W, H, 0.45, block_size=6)
    assert torch.equal(sparsegpt_prune(W, H, mask=keep_b, block_size=6)[0], W_b)


@pytest.mark.parametrize("s", [0.0, 0.3, 0.5, 0.77, 1.0])
def test_sparsegpt_exact_sparsity(s):
    W, X = problem(6, rows=10, cols=50, n=120)
    H = X.T @ X
    W_new, keep = sparsegpt_prune(W, H, s, block_size=16)
    assert (keep.sum(1) == 50 - round(s * 50)).all() and (W_new[~keep] == 0).all()
    W_new, keep = sparsegpt_prune(W, H, s, block_size=16, scope="block")
    assert int((~keep).sum()) == round(s * 500) and (W_new[~keep] == 0).all()
    if s == 0.0:
        close(W_new, W)


def test_sparsegpt_nm_pattern_and_errors():
    W, X = problem(7, rows=8, cols=32, n=100)
    H = X.T @ X
    for n, m in ((2, 4), (4, 8), (1, 4)):
        W_new, keep = sparsegpt_prune(W, H, nm=(n, m), block_size=16)
        assert (keep.view(8, 32 // m, m).sum(2) == n).all() and (W_new[~keep] == 0).all()
    with pytest.raises(ValueError, match="multiple"):
        sparsegpt_prune(W, H, nm=(2, 4), block_size=6)
    with pytest.raises(ValueError, match="divisible"):
        sparsegpt_prune(W[:, :30], H[:30, :30], nm=(2, 4))
    with pytest.raises(ValueError, match="exactly one"):
        sparsegpt_prune(W, H, 0.5, nm=(2, 4))
    with pytest.raises(ValueError, match="positive definite"):
        sparsegpt_prune(W, torch.zeros(32, 32, dtype=F64) - torch.eye(32, dtype=F64), 0.5, damp=0.0)


def test_reconstruction_order_sparsegpt_wanda_magnitude():
    ratios = []
    for seed in range(20):
        W, X = problem(100 + seed)
        H = X.T @ X
        e_sgpt = reconstruction_error(W, sparsegpt_prune(W, H, 0.5)[0], H)
        e_wanda = reconstruction_error(W, W * per_row_mask(wanda_scores(W, (X**2).sum(0)), 0.5), H)
        e_mag = reconstruction_error(W, W * per_row_mask(W.abs(), 0.5), H)
        ratios.append((float(e_sgpt / e_wanda), float(e_wanda / e_mag)))
    assert all(a < 1 and b < 1 for a, b in ratios), ratios
    # the same at 2:4, every method restricted to the pattern
    W, X = problem(100)
    H = X.T @ X
    e_sgpt = reconstruction_error(W, sparsegpt_prune(W, H, nm=(2, 4))[0], H)
    e_wanda = reconstruction_error(W, W * nm_mask(wanda_scores(W, (X**2).sum(0)), 2, 4), H)
    e_mag = reconstruction_error(W, W * nm_mask(W.abs(), 2, 4), H)
    assert e_sgpt < e_wanda < e_mag


def test_huge_damping_is_per_row_magnitude_without_update():
    W, X = problem(8, rows=10, cols=40)
    W_new, keep = sparsegpt_prune(W, X.T @ X, 0.6, damp=1e10, block_size=40)
    assert torch.equal(keep, per_row_mask(W.abs(), 0.6))
    close(W_new, W * keep)


def test_dead_columns_are_zeroed_and_pruned_first():
    W, X = problem(9, rows=6, cols=16, n=60)
    X[:, [3, 11]] = 0.0
    W_new, keep = sparsegpt_prune(W, X.T @ X, 0.25, block_size=8)  # 2 per block per row
    assert torch.isfinite(W_new).all()
    assert not keep[:, [3, 11]].any() and (keep.sum(1) == 12).all()
    W_fixed, _ = sparsegpt_prune(W, X.T @ X, mask=torch.ones(6, 16, dtype=torch.bool))
    assert (W_fixed[:, [3, 11]] == 0).all()
    close(X @ W_fixed.T, X @ W.T)  # nothing else was lost


def test_float32_input_returns_float32():
    W, X = problem(10, rows=4, cols=16)
    W_new, keep = sparsegpt_prune(W.float(), (X.T @ X).float(), 0.5)
    assert W_new.dtype == torch.float32 and keep.dtype == torch.bool
    close(W_new.double(), sparsegpt_prune(W.float().double(), (X.T @ X).float().double(), 0.5)[0].float().double())


# --- embeddings and LSTM layers ------------------------------------------------------------------


def test_embedding_obs_is_count_weighted_magnitude():
    g = torch.Generator().manual_seed(11)
    V, E = 30, 8
    weight = torch.randn(V, E, generator=g, dtype=F64)
    counts = torch.randint(1, 50, (V,), generator=g).to(F64)
    w0 = weight.clone()
    lam = 0.01 * counts.mean()
    close(embedding_saliency(weight, counts), (counts + lam)[:, None] * weight**2)
    # OBS with the one-hot input's diagonal H, via the general solver: same costs, no update
    W_sg, keep_sg = sparsegpt_prune(weight.T, torch.diag(counts), 0.6, block_size=V)
    W_emb, keep_emb = embedding_obs_prune(weight, counts, 0.6, scope="row")
    assert torch.equal(keep_emb, keep_sg.T) and torch.equal(W_sg.T, weight * keep_emb)
    assert torch.equal(W_emb, weight * keep_emb) and torch.equal(weight, w0)
    # matrix scope: exact count; undamped, the order is Wanda's
    _, keep_m = embedding_obs_prune(weight, counts, 0.6)
    assert int((~keep_m).sum()) == round(0.6 * V * E)
    order_obs = embedding_saliency(weight, counts, damp=0.0).reshape(-1).argsort()
    assert torch.equal(order_obs, (wanda_scores(weight, counts, embedding=True) ** 2).reshape(-1).argsort())


def test_lstm_joint_prune_is_the_concatenated_matrix():
    g = torch.Generator().manual_seed(12)
    n_in, n = 8, 4
    w_ih = torch.randn(4 * n, n_in, generator=g, dtype=F64)
    w_hh = torch.randn(4 * n, n, generator=g, dtype=F64)
    Z = torch.randn(100, n_in + n, generator=g, dtype=F64) @ (
        torch.eye(n_in + n, dtype=F64) + 0.4 * torch.randn(n_in + n, n_in + n, generator=g, dtype=F64)
    )
    H = Z.T @ Z
    cat = torch.cat([w_ih, w_hh], 1)
    for kw in ({"sparsity": 0.5}, {"nm": (2, 4)}, {"sparsity": 0.3, "scope": "block", "block_size": 4}):
        W_ref, keep_ref = sparsegpt_prune(cat, H, **kw)
        a, b, ka, kb = lstm_joint_prune(w_ih, w_hh, H, **kw)
        assert torch.equal(torch.cat([a, b], 1), W_ref) and torch.equal(torch.cat([ka, kb], 1), keep_ref)
    mask = torch.rand(4 * n, n_in + n, generator=g) > 0.5
    a, b, _, _ = lstm_joint_prune(w_ih, w_hh, H, mask_ih=mask[:, :n_in], mask_hh=mask[:, n_in:])
    assert torch.equal(torch.cat([a, b], 1), sparsegpt_prune(cat, H, mask=mask)[0])
    with pytest.raises(ValueError, match="divisible"):
        lstm_joint_prune(w_ih[:, :6], w_hh, H[2:, 2:], nm=(2, 4))


def tiny_model_and_batch(seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(
        emb_dim=3,
        hidden=6,
        enc_layers=2,
        dec_layers=2,
        attention="general",
        input_feed=True,
        dropout=0.0,
        init_range=0.5,
        src_vocab_size=11,
        tgt_vocab_size=13,
    )
    model = Seq2Seq(cfg).double().eval()
    g = torch.Generator().manual_seed(seed)
    src, src_len = torch.randint(4, 11, (3, 6), generator=g), torch.tensor([4, 6, 2])
    for b in range(3):
        src[b, src_len[b] :] = PAD
    tgt = torch.randint(4, 13, (3, 6), generator=g)
    tgt[:, 0] = BOS
    tgt[1, 3:] = PAD
    return model, (src, src_len, tgt[:, :-1], tgt[:, 1:])


def test_joint_gram_from_the_trace():
    model, batch = tiny_model_and_batch()
    plain = trace_batch(model, *batch).inputs
    red = JointGram(model)
    params = ["src_layer1", "src_layer2", "tgt_layer1", "tgt_layer2", "attention.W_c"]
    for _ in range(2):  # two batches accumulate
        trace_batch(model, *batch, params=params, reduce=red)
    stats = red.finish()
    assert set(stats) == {"src_layer1", "src_layer2", "tgt_layer1", "tgt_layer2"}
    for cname, (ih, hh) in red.params.items():
        z = torch.cat([plain[ih], plain[hh]], 1)  # (N, in + n): [x_t; h_{t-1}]
        close(stats[cname], 2 * z.T @ z)
        assert red.tokens[cname] == 2 * z.shape[0]
        # the joint map on the joint input is W_ih x + W_hh h: the gate pre-activations
        p = dict(model.named_parameters())
        close(z @ torch.cat([p[ih], p[hh]], 1).T, plain[ih] @ p[ih].T + plain[hh] @ p[hh].T)
    assert stats["tgt_layer1"].shape == (3 + 6 + 6, 3 + 6 + 6)  # [embedding; input feed; h_{t-1}]
    close(red.other.stats["attention.W_c"], 2 * plain["attention.W_c"].T @ plain["attention.W_c"])
    half = JointGram(model)
    trace_batch(model, *batch, params=["encoder.weight_ih_l0"], reduce=half)
    with pytest.raises(ValueError, match="partner"):
        half.finish()


def test_an_unseen_token_is_ranked_by_the_median_count_not_cut_first():
    g = torch.Generator().manual_seed(13)
    V, E = 12, 4
    weight = torch.randn(V, E, generator=g, dtype=F64)
    counts = torch.randint(1, 50, (V,), generator=g).to(F64)
    counts[[2, 7]] = 0  # two tokens the calibration batches never contain
    lam = 0.01 * counts.mean()
    raw = embedding_saliency(weight, counts, absent_rows="zero")
    close(raw[[2, 7]], lam * weight[[2, 7]] ** 2)  # exact OBS: almost free to remove
    seen = counts > 0
    got = embedding_saliency(weight, counts)
    close(got[[2, 7]], (counts[seen] + lam).median() * weight[[2, 7]] ** 2)
    close(got[seen], raw[seen])
    assert bool(torch.isinf(embedding_saliency(weight, counts, absent_rows="keep")[[2, 7]]).all())
    with pytest.raises(ValueError, match="absent_rows"):
        embedding_saliency(weight, counts, absent_rows="drop")
