"""The model's trace: each matrix times its traced inputs reproduces what the model computes."""

import pytest
import torch
import torch.nn.functional as F

from nmtprune.config import ModelConfig
from nmtprune.data.vocab import BOS, EOS, PAD
from nmtprune.models import ColumnSquares, Gram, Seq2Seq, trace_batch, trace_batches, traced_params

E, N, V_SRC, V_TGT = 3, 6, 11, 13
CONFIGS = [  # (enc_layers, dec_layers, attention, input_feed, reverse_source, per-layer sizes)
    (2, 2, "general", True, True, {}),
    (1, 1, "dot", False, False, {}),
    (2, 3, "general", False, True, {}),
    (3, 2, "dot", True, True, {}),
    (2, 2, "general", True, False, {"enc_hidden": (5, 4), "dec_hidden": (5, 4), "attn_hidden": 7}),
]


def make(el=2, dl=2, att="general", feed=True, rev=True, sizes=None, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(
        emb_dim=E,
        hidden=N,
        enc_layers=el,
        dec_layers=dl,
        attention=att,
        input_feed=feed,
        reverse_source=rev,
        dropout=dropout,
        init_range=0.5,
        src_vocab_size=V_SRC,
        tgt_vocab_size=V_TGT,
        **(sizes or {}),
    )
    return Seq2Seq(cfg).double().eval()


class Batch:
    def __init__(self, seed=0, B=3, S=6, T=5):
        g = torch.Generator().manual_seed(seed)
        self.src = torch.randint(4, V_SRC, (B, S), generator=g)
        self.src_len = torch.tensor([4, S, 2][:B])
        for b in range(B):
            self.src[b, self.src_len[b] :] = PAD
        tgt = torch.randint(4, V_TGT, (B, T + 1), generator=g)
        tgt[:, 0] = BOS
        tgt[1, 3:] = PAD
        tgt[1, 2] = EOS
        self.tgt_in, self.tgt_out = tgt[:, :-1], tgt[:, 1:]


def lstm(gates, c_prev):
    """(h, c) of PyTorch's LSTM cell from gate pre-activations (N, 4n) in (i, f, g, o) order."""
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def previous(index, width):
    """Per row: the row holding the same sentence one step earlier (-1 at the first step)."""
    row = {int(i): r for r, i in enumerate(index)}
    return [row[int(i) - 1] if int(i) % width else -1 for i in index]


def traced(model, b, **kw):
    return model.trace(b.src, b.src_len, b.tgt_in, b.tgt_out, states=True, **kw)


@pytest.mark.parametrize("el,dl,att,feed,rev,sizes", CONFIGS)
def test_softmax_and_attention_inputs_reproduce_the_logits(el, dl, att, feed, rev, sizes):
    model, b = make(el, dl, att, feed, rev, sizes), Batch()
    tr = traced(model, b)
    B, T = b.tgt_in.shape
    with torch.no_grad():
        logits, align = model(b.src, b.src_len, b.tgt_in, return_align=True)  # (B, T, V), (B, T, S)
        enc = model.encode(b.src, b.src_len)
    real = (b.tgt_out != PAD).reshape(-1)
    assert tr.tgt_index.tolist() == sorted(real.nonzero().squeeze(1).tolist(), key=lambda i: (i % T, i // T))
    x = tr.inputs["generator.weight"]  # (N_tgt, A)
    torch.testing.assert_close(model.generator(x), logits.reshape(B * T, -1)[tr.tgt_index])
    assert torch.equal(x, tr.hidden["attention"])
    # W_c: [context; decoder top] -> h~
    x_c = tr.inputs["attention.W_c"]
    h_enc = model.cfg.enc_sizes[-1]
    torch.testing.assert_close(torch.tanh(F.linear(x_c, model.attention.W_c)), x)
    context = torch.bmm(align, enc.memory).reshape(B * T, -1)[tr.tgt_index]
    torch.testing.assert_close(x_c[:, :h_enc], context)
    assert torch.equal(x_c[:, h_enc:], tr.hidden[f"tgt_layer{dl}"])
    # W_a: memory rows at real source positions -> the attention keys
    S = b.src.shape[1]
    assert sorted(tr.src_index.tolist()) == [b_ * S + s for b_ in range(B) for s in range(int(b.src_len[b_]))]
    if att == "general":
        assert torch.equal(tr.inputs["attention.W_a"], enc.memory.reshape(B * S, -1)[tr.src_index])
        torch.testing.assert_close(
            F.linear(tr.inputs["attention.W_a"], model.attention.W_a), enc.keys.reshape(B * S, -1)[tr.src_index]
        )
    else:
        assert "attention.W_a" not in tr.inputs


@pytest.mark.parametrize("el,dl,att,feed,rev,sizes", CONFIGS)
def test_decoder_gates_reproduce_h_and_c(el, dl, att, feed, rev, sizes):
    model, b = make(el, dl, att, feed, rev, sizes), Batch()
    tr = traced(model, b)
    T = b.tgt_in.shape[1]
    with torch.no_grad():
        enc = model.encode(b.src, b.src_len)
    prev = previous(tr.tgt_index, T)
    first = [int(i) // T for i, p in zip(tr.tgt_index, prev) if p < 0]  # sentences of the rows at t = 0
    at0 = torch.tensor([p < 0 for p in prev])
    x0 = tr.inputs["decoder.weight_ih_l0"]
    assert torch.equal(tr.inputs["tgt_emb.weight"], b.tgt_in.reshape(-1)[tr.tgt_index])
    assert torch.equal(x0[:, :E], model.tgt_emb.weight[tr.inputs["tgt_emb.weight"]])
    if feed:  # the input feed: h~ of the previous step, zero at the first
        h_tilde = tr.hidden["attention"]
        assert torch.equal(
            x0[:, E:], torch.stack([h_tilde[p] if p >= 0 else torch.zeros_like(h_tilde[0]) for p in prev])
        )
    else:
        assert x0.shape[1] == E
    with torch.no_grad():
        for k in range(dl):
            name, h, c = f"tgt_layer{k + 1}", tr.hidden[f"tgt_layer{k + 1}"], tr.cell[f"tgt_layer{k + 1}"]
            w_ih, w_hh, b_ih, b_hh = model.decoder.layer(k)
            x_ih, x_hh = tr.inputs[f"decoder.weight_ih_l{k}"], tr.inputs[f"decoder.weight_hh_l{k}"]
            if k > 0:
                assert torch.equal(x_ih, tr.hidden[f"tgt_layer{k}"])
            h_init, c_init = enc.h[k][first], enc.c[k][first]  # the decoder starts from the encoder's finals
            assert torch.equal(x_hh[at0], h_init)
            assert torch.equal(x_hh[~at0], h[[p for p in prev if p >= 0]])
            c_prev = torch.zeros_like(c)
            c_prev[at0], c_prev[~at0] = c_init, c[[p for p in prev if p >= 0]]
            h_want, c_want = lstm(F.linear(x_ih, w_ih, b_ih) + F.linear(x_hh, w_hh, b_hh), c_prev)
            torch.testing.assert_close(h, h_want, msg=name)
            torch.testing.assert_close(c, c_want, msg=name)


@pytest.mark.parametrize("el,dl,att,feed,rev,sizes", CONFIGS)
def test_encoder_gates_reproduce_h(el, dl, att, feed, rev, sizes):
    model, b = make(el, dl, att, feed, rev, sizes), Batch()
    tr = traced(model, b)
    B, S = b.src.shape
    ids = tr.inputs["src_emb.weight"]
    for i, token in zip(tr.src_index.tolist(), ids.tolist()):  # the encoder reads reversed sentences
        s_b, s = divmod(i, S)
        assert token == int(b.src[s_b, int(b.src_len[s_b]) - 1 - s if rev else s])
    assert torch.equal(tr.inputs["encoder.weight_ih_l0"], model.src_emb.weight[ids])
    prev = previous(tr.src_index, S)
    with torch.no_grad():
        enc = model.encode(b.src, b.src_len)
        for k in range(el):
            name, h = f"src_layer{k + 1}", tr.hidden[f"src_layer{k + 1}"]
            w = [getattr(model.encoder, f"{p}_l{k}") for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            x_ih, x_hh = tr.inputs[f"encoder.weight_ih_l{k}"], tr.inputs[f"encoder.weight_hh_l{k}"]
            if k > 0:
                assert torch.equal(x_ih, tr.hidden[f"src_layer{k}"])
            assert torch.equal(x_hh, torch.stack([h[p] if p >= 0 else torch.zeros_like(h[0]) for p in prev]))
            gates = F.linear(x_ih, w[0], w[2]) + F.linear(x_hh, w[1], w[3])
            c = torch.zeros_like(h)
            for r, p in enumerate(prev):  # packed rows are step-major: a row's predecessor comes first
                h_r, c_r = lstm(gates[r : r + 1], c[p : p + 1] if p >= 0 else torch.zeros_like(c[:1]))
                c[r] = c_r[0]
                torch.testing.assert_close(h_r[0], h[r], msg=name)
            if el == dl:  # the last row of each sentence is the state the decoder starts from
                last = {int(i) // S: r for r, i in enumerate(tr.src_index)}
                torch.testing.assert_close(h[[last[s_b] for s_b in range(B)]], enc.h[k])
                torch.testing.assert_close(c[[last[s_b] for s_b in range(B)]], enc.c[k])
        top = tr.hidden[f"src_layer{el}"]  # re-run one layer at a time: equal to the fused call's memory
        torch.testing.assert_close(top, enc.memory.reshape(B * S, -1)[tr.src_index])


def test_every_prunable_matrix_is_traced_with_its_width():
    model, b = make(), Batch()
    tr = model.trace(b.src, b.src_len, b.tgt_in, b.tgt_out)
    named = dict(model.named_parameters())
    assert list(tr.inputs) != [] and set(tr.inputs) == set(traced_params(model))
    n_src, n_tgt = int(b.src_len.sum()), int((b.tgt_out != PAD).sum())
    for name, x in tr.inputs.items():
        side = n_src if name.startswith(("src_", "encoder.", "attention.W_a")) else n_tgt
        if name.endswith("_emb.weight"):
            assert x.dtype == torch.long and x.shape == (side,)
        else:
            assert x.shape == (side, named[name].shape[1]), name
    assert tr.hidden == {} and tr.cell == {}


def test_subsets_by_parameter_or_class_name():
    model, b = make(), Batch()
    full = traced(model, b)
    assert traced_params(model, ["softmax"]) == ["generator.weight"]
    assert traced_params(model, "tgt_layer1") == ["decoder.weight_ih_l0", "decoder.weight_hh_l0"]
    assert traced_params(model, ["attention.W_c", "src_emb"]) == ["attention.W_c", "src_emb.weight"]
    assert traced_params(model, ()) == []
    with pytest.raises(ValueError, match="no prunable matrix"):
        traced_params(model, ["decoder.bias_ih_l0"])
    for params in (["softmax"], ["src_layer2", "attention"], ["decoder.weight_ih_l1"], ["src_emb", "tgt_emb"]):
        part = model.trace(b.src, b.src_len, b.tgt_in, b.tgt_out, params=params)
        assert list(part.inputs) == [p for p in full.inputs if p in traced_params(model, params)]
        for name, x in part.inputs.items():
            assert torch.equal(x, full.inputs[name]), name
    none = model.trace(b.src, b.src_len, b.tgt_in, b.tgt_out, params=())
    assert none.inputs == {} and none.hidden == {} and len(none.tgt_index) == len(full.tgt_index)


def test_reducers_equal_the_full_tensors():
    model, batches = make(), [Batch(0), Batch(1), Batch(2, B=2, S=4, T=3)]
    full = [traced(model, b).inputs for b in batches]
    named = dict(model.named_parameters())
    squares, gram = ColumnSquares(model), Gram(model)
    assert trace_batches(model, batches, squares) == 3
    trace_batches(model, batches, gram, params=None)
    assert set(squares.stats) == set(gram.stats) == set(traced_params(model))
    for name in traced_params(model):
        want_sq, want_gram = 0, 0
        for inputs in full:
            x = inputs[name]
            if x.is_floating_point():
                want_sq = want_sq + x.double().pow(2).sum(dim=0)
                want_gram = want_gram + x.double().T @ x.double()
            else:  # one-hot: the column sums of squares and the (diagonal) Gram matrix are token counts
                counts = torch.bincount(x, minlength=named[name].shape[0]).double()
                want_sq, want_gram = want_sq + counts, want_gram + counts
        assert torch.equal(squares.stats[name], want_sq), name
        assert torch.equal(gram.stats[name], want_gram), name
        assert squares.tokens[name] == gram.tokens[name] == sum(len(inputs[name]) for inputs in full)
    seen = []
    tr = trace_batch(
        model,
        batches[0].src,
        batches[0].src_len,
        batches[0].tgt_in,
        batches[0].tgt_out,
        params=["softmax"],
        reduce=lambda name, x: seen.append((name, x)),
        states=True,
    )
    assert tr.inputs == {} and [n for n, _ in seen] == ["generator.weight"]
    assert torch.equal(seen[0][1], full[0]["generator.weight"]) and "attention" in tr.hidden


def test_trace_is_eval_mode_without_gradients_and_restores_the_mode():
    model, b = make(dropout=0.5), Batch()
    want = traced(model, b)
    model.train()
    got = traced(model, b)
    assert model.training
    for name, x in got.inputs.items():
        assert torch.equal(x, want.inputs[name]) and not x.requires_grad, name
    for name, x in got.hidden.items():
        assert torch.equal(x, want.hidden[name]), name
    # positions without a target are left out; without tgt_out the decoder inputs' padding decides
    loose = model.trace(b.src, b.src_len, b.tgt_in)
    assert len(loose.tgt_index) == int((b.tgt_in != PAD).sum()) > len(want.tgt_index)
