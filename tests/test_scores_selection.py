"""Every data-driven score on a tiny Seq2Seq: every selection prunes the exact count, the embedding-row policies,
determinism, the registry's variants, errors, and cuDNN switched off while scoring."""

import json

import pytest
import torch

from nmtprune.prune import SCHEMES, get_score, n_to_prune, prunable, select
from nmtprune.prune.scores import DoubleBackwardError, absent_row_counts, absent_rows, score_names
from nmtprune.prune.scores import _autograd

from score_helpers import tiny_batches, tiny_model


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
