"""Wanda as a registered score: |W| times the norm of what each column of W multiplied."""

import pytest
import torch

from nmtprune.prune import get_score, run_score, select
from nmtprune.sparse.targets import class_groups, prunable
from nmtprune.data.vocab import PAD
from test_model_trace import Batch, make


def test_wanda_is_magnitude_times_the_traced_input_norm_over_every_batch():
    model = make()
    batches = [Batch(seed=0), Batch(seed=1)]
    scores = get_score("wanda")(model, batches=batches, absent_rows="zero")  # the raw scores
    full = [model.trace(b.src, b.src_len, b.tgt_in, b.tgt_out).inputs for b in batches]
    for _, name, p in prunable(model):
        xs = [t[name] for t in full]
        if name.endswith("emb.weight"):  # one-hot inputs: the norm of a token's column is sqrt(count)
            norm = torch.bincount(torch.cat(xs), minlength=p.shape[0]).double().sqrt()[:, None]
        else:
            norm = torch.cat(xs).pow(2).sum(0).sqrt()[None, :]
        torch.testing.assert_close(scores[name], p.detach().abs() * norm, rtol=1e-12, atol=0)


def test_an_unseen_token_is_ranked_by_magnitude_not_cut_first_and_sparsities_are_exact():
    """Raw Wanda scores an unseen token's row 0, so it would go first; the default absent-row policy
    ranks it as |w| times the median input norm of the rows that were seen."""
    model = make()
    batches = [Batch(seed=0)]
    seen = set(batches[0].src.flatten().tolist()) | {PAD}
    unseen = [v for v in range(model.src_emb.weight.shape[0]) if v not in seen]
    raw = get_score("wanda")(model, batches=batches, absent_rows="zero")["src_emb.weight"]
    assert unseen and all(float(raw[v].abs().sum()) == 0.0 for v in unseen)
    scores = run_score("wanda", model, batches)
    w = model.src_emb.weight.detach().abs()
    present = [v for v in range(w.shape[0]) if v not in unseen]
    ratio = (raw[present] / w[present])[w[present] > 0].median()
    torch.testing.assert_close(scores["src_emb.weight"][unseen], w[unseen] * ratio)
    torch.testing.assert_close(scores["src_emb.weight"][present], raw[present])
    assert bool((scores["src_emb.weight"][unseen] > 0).all())
    masks = select(scores, model, 0.5, "class-uniform")
    for _, group in class_groups(model):
        total = sum(p.numel() for _, p in group)
        assert sum(int((~masks[name]).sum()) for name, _ in group) == round(0.5 * total)


def test_wanda_declares_that_it_needs_calibration_data():
    spec = get_score("wanda")
    assert spec.needs_data and spec.kind == "weight" and not spec.at_init
    with pytest.raises(ValueError, match="calibration"):
        spec(make(), batches=[])
    with pytest.raises(ValueError, match="absent_rows"):
        spec(make(), batches=[Batch(seed=0)], absent_rows="drop")
