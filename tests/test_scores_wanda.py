"""Wanda as a registered score: |W| times the norm of what each column of W multiplied."""

import pytest
import torch

from nmtprune.prune import get_score, run_score, select
from nmtprune.sparse.targets import class_groups, prunable
from test_model_trace import Batch, make


def test_wanda_is_magnitude_times_the_traced_input_norm_over_every_batch():
    model = make()
    batches = [Batch(seed=0), Batch(seed=1)]
    scores = run_score("wanda", model, batches)
    full = [model.trace(b.src, b.src_len, b.tgt_in, b.tgt_out).inputs for b in batches]
    for _, name, p in prunable(model):
        xs = [t[name] for t in full]
        if name.endswith("emb.weight"):  # one-hot inputs: the norm of a token's column is sqrt(count)
            norm = torch.bincount(torch.cat(xs), minlength=p.shape[0]).double().sqrt()[:, None]
        else:
            norm = torch.cat(xs).pow(2).sum(0).sqrt()[None, :]
        torch.testing.assert_close(scores[name], p.detach().abs() * norm, rtol=1e-12, atol=0)


def test_wanda_prunes_an_unseen_token_first_and_selects_exact_sparsities():
    model = make()
    scores = run_score("wanda", model, [Batch(seed=0)])
    seen = set(Batch(seed=0).src.flatten().tolist())
    unseen = [v for v in range(model.src_emb.weight.shape[0]) if v not in seen]
    assert unseen and all(float(scores["src_emb.weight"][v].abs().sum()) == 0.0 for v in unseen)
    masks = select(scores, model, 0.5, "class-uniform")
    for _, group in class_groups(model):
        total = sum(p.numel() for _, p in group)
        assert sum(int((~masks[name]).sum()) for name, _ in group) == round(0.5 * total)


def test_wanda_declares_that_it_needs_calibration_data():
    spec = get_score("wanda")
    assert spec.needs_data and spec.kind == "weight" and not spec.at_init
    with pytest.raises(ValueError, match="calibration"):
        spec(make(), batches=[])
