"""Hidden-unit scores by hand: L1 over a unit's weights in every consumer, Taylor (first and second order, dot
attention as general with the identity) and the recorded activations."""

import copy

import pytest
import torch

from nmtprune.data.vocab import PAD
from nmtprune.prune.units import UnitError, get_unit_score, unit_activations, unit_groups

from unit_helpers import Batch, make


def test_l1_scores_by_hand():
    n, E = 3, 2
    model = make(2, 2, "general", True, n=n, E=E)
    p = {k: v.detach() for k, v in model.named_parameters()}
    l1, out = get_unit_score("l1")(model), get_unit_score("l1-out")(model)
    for k, group in ((0, "src_layer1+tgt_layer1"), (1, "src_layer2+tgt_layer2")):
        for j in range(n):
            rows = [g * n + j for g in range(4)]
            want = sum(
                float(p[f"{s}.weight_{w}_l{k}"][rows].detach().abs().sum())
                for s in ("encoder", "decoder")
                for w in ("ih", "hh")
            )
            assert l1[group][j].item() == pytest.approx(want, rel=1e-6)
            cols = [p[f"{s}.weight_hh_l{k}"][:, j] for s in ("encoder", "decoder")]
            if k == 0:  # the next layer's input columns
                cols += [p[f"{s}.weight_ih_l1"][:, j] for s in ("encoder", "decoder")]
            else:  # the tops: W_a column (encoder) and row (decoder), W_c context and h columns
                cols += [
                    p["attention.W_a"][:, j],
                    p["attention.W_a"][j],
                    p["attention.W_c"][:, j],
                    p["attention.W_c"][:, n + j],
                ]
            assert out[group][j].item() == pytest.approx(sum(float(c.abs().sum()) for c in cols), rel=1e-6)
    for j in range(n):
        assert l1["attention"][j].item() == pytest.approx(float(p["attention.W_c"][j].abs().sum()), rel=1e-6)
        want = float(p["generator.weight"][:, j].abs().sum() + p["decoder.weight_ih_l0"][:, E + j].abs().sum())
        assert out["attention"][j].item() == pytest.approx(want, rel=1e-6)
    with torch.no_grad():  # literal values: only three weights left
        for t in model.parameters():
            t.zero_()
        model.encoder.weight_ih_l0[n + 1, 0] = -3.0  # forget-gate row of unit 1
        model.attention.W_c[0, 2] = 0.5
        model.generator.weight[4, 1] = 2.0
    assert get_unit_score("l1")(model)["src_layer1+tgt_layer1"].tolist() == [0.0, 3.0, 0.0]
    assert get_unit_score("l1")(model)["attention"].tolist() == [0.5, 0.0, 0.0]
    assert get_unit_score("l1-out")(model)["attention"].tolist() == [0.0, 2.0, 0.0]


def _consumer_columns(n, E):
    """By hand, for a 2+2 general model with input feeding: (param, axis, offset) per group."""
    return {
        "src_layer1+tgt_layer1": [
            ("encoder.weight_hh_l0", 1, 0),
            ("encoder.weight_ih_l1", 1, 0),
            ("decoder.weight_hh_l0", 1, 0),
            ("decoder.weight_ih_l1", 1, 0),
        ],
        "src_layer2+tgt_layer2": [
            ("encoder.weight_hh_l1", 1, 0),
            ("attention.W_a", 1, 0),
            ("attention.W_c", 1, 0),
            ("decoder.weight_hh_l1", 1, 0),
            ("attention.W_a", 0, 0),
            ("attention.W_c", 1, n),
        ],
        "attention": [("generator.weight", 1, 0), ("decoder.weight_ih_l0", 1, E)],
    }


def _gate_grads(model, batch, scale=1.0, n=4, E=3):
    """dE/dz at z = scale * 1, from ordinary weight gradients: Σ_k W[k, j] · dE/dW'[k, j], W' = W z."""
    m = copy.deepcopy(model)
    cols = _consumer_columns(n, E)
    with torch.no_grad():
        for entries in cols.values():
            for name, axis, off in entries:
                t = dict(m.named_parameters())[name]
                (t[:, off : off + n] if axis == 1 else t[off : off + n]).mul_(scale)
    logits = m(batch.src, batch.src_len, batch.tgt_in)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 13), batch.tgt_out.reshape(-1), ignore_index=PAD)
    loss.backward()
    W, G = dict(model.named_parameters()), {k: p.grad for k, p in m.named_parameters()}
    # W_a' = diag(z_dec) W_a diag(z_enc): the derivative along one axis keeps the other axis' scale
    W["attention.W_a"] = W["attention.W_a"] * scale
    out = {}
    for group, entries in cols.items():
        out[group] = sum(
            ((W[k] * G[k])[:, o : o + n].sum(0) if a == 1 else (W[k] * G[k])[o : o + n].sum(1)) for k, a, o in entries
        )
    return out


def test_taylor_first_and_second_order_by_hand():
    model = make(2, 2, "general", True, n=4, E=3, dtype=torch.float64)
    batches = [Batch(0), Batch(1)]
    fo = get_unit_score("taylor-unit")(model, batches=batches)
    so = get_unit_score("taylor-unit-2")(model, batches=batches)
    eps = 1e-4
    want_fo, want_so = {}, {}
    for b in batches:
        g = _gate_grads(model, b)
        hp, hm = _gate_grads(model, b, 1 + eps), _gate_grads(model, b, 1 - eps)
        for k in g:  # H·1 = d/dt g(1 + t·1), by central differences
            want_fo[k] = want_fo.get(k, 0) + g[k].detach() ** 2 / 2
            h1 = (hp[k] - hm[k]).detach() / (2 * eps)
            want_so[k] = want_so.get(k, 0) + (g[k].detach() - 0.5 * h1) ** 2 / 2
    for k in fo:
        torch.testing.assert_close(fo[k].double(), want_fo[k], rtol=1e-5, atol=1e-12)
        torch.testing.assert_close(so[k].double(), want_so[k], rtol=1e-4, atol=1e-12)
    assert not torch.allclose(fo["attention"], so["attention"])
    with pytest.raises(UnitError, match="needs minibatches"):
        get_unit_score("taylor-unit")(model)


def test_taylor_dot_attention_is_general_with_identity():
    dot = make(2, 2, "dot", True, n=4, E=3, dtype=torch.float64)
    general = make(2, 2, "general", True, n=4, E=3, dtype=torch.float64)
    general.load_state_dict({**dot.state_dict(), "attention.W_a": torch.eye(4, dtype=torch.float64)})
    a = get_unit_score("taylor-unit")(dot, batches=[Batch(0)])
    b = get_unit_score("taylor-unit")(general, batches=[Batch(0)])
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    assert {k: v.shape for k, v in a.items()} == {g.name: (g.size,) for g in unit_groups(dot.cfg)}


def test_activations_match_the_model():
    model = make(2, 3, "general", True)
    b = Batch()
    acts = unit_activations(model, b)
    with torch.no_grad():
        enc = model.encode(b.src, b.src_len)
        logits = model(b.src, b.src_len, b.tgt_in)
    # packing the padded memory with the same lengths gives the packed (time-major, sorted) order
    packed = torch.nn.utils.rnn.pack_padded_sequence(enc.memory, b.src_len, batch_first=True, enforce_sorted=False)
    torch.testing.assert_close(acts["src_layer2"], packed.data)
    torch.testing.assert_close(model.generator(acts["attention"]), logits.transpose(0, 1)[(b.tgt_out != PAD).t()])
    assert acts["tgt_layer2"].shape == (int((b.tgt_out != PAD).sum()), 6)


# ---------------------------------------------------------------------- command line
