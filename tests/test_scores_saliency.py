"""Data-driven scores (OBD, SNIP, GraSP, Taylor) against hand-computed values, GraSP's sign, and the clear error
of a kernel without double backward.

The test problem: softmax regression z = W x with W 3x3 (4 examples in 2 batches), where the gradient, the
Hessian and the Fisher have closed forms computed here in numpy (float64), independently of autograd.
"""

import numpy as np
import pytest
import torch
from torch import nn

from nmtprune.prune.scores import DoubleBackwardError
from nmtprune.prune.scores._autograd import Objective, fisher_diagonal
from nmtprune.prune.scores._hessian import hutchinson_diagonal
from nmtprune.prune.scores.grasp import grasp_from_objective
from nmtprune.prune.scores.obd import obd_from_objective
from nmtprune.prune.scores.snip import snip_from_objective
from nmtprune.prune.scores.taylor import taylor_from_objective

from score_helpers import rank_corr


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
