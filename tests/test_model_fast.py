"""The training fast path (fast_decoder.py, lstm_stack.run_by_length) against the readable step loop.

Both run from the same seed, so dropout draws the same masks: logits at every non-padding position and
every parameter's gradient must agree to float32 rounding, with and without dropout, for several model
shapes. (At padding the fast path skips the decoder and the softmax layer; its logits there are zero.)
"""

import pytest
import torch

from nmtprune.config import ModelConfig
from nmtprune.data.vocab import BOS, PAD
from nmtprune.models import Seq2Seq, nll_loss
from nmtprune.models.fused_nll import summed_nll
from nmtprune.models.lstm_stack import run_by_length


def _batch(B, S, T, V_src, V_tgt, seed=0):
    """Random ids with lengths that differ within the batch (several segments for the encoder)."""
    g = torch.Generator().manual_seed(seed)
    src_len = torch.randint(1, S + 1, (B,), generator=g)
    src_len[0] = S
    tgt_len = torch.randint(1, T + 1, (B,), generator=g)
    tgt_len[-1] = T
    src = torch.randint(4, V_src, (B, S), generator=g)
    tgt_in = torch.randint(4, V_tgt, (B, T), generator=g)
    tgt_in[:, 0] = BOS
    for b in range(B):
        src[b, src_len[b] :] = PAD
        tgt_in[b, tgt_len[b] :] = PAD
    tgt_out = torch.cat([tgt_in[:, 1:], torch.full((B, 1), PAD)], 1)
    tgt_out[tgt_in != PAD] = torch.where(tgt_out[tgt_in != PAD] == PAD, 3, tgt_out[tgt_in != PAD])
    return src, src_len, tgt_in, tgt_out


def _run(model, batch, fast, seed=1):
    model.fast_train = fast
    model.zero_grad(set_to_none=True)
    src, src_len, tgt_in, tgt_out = batch
    torch.manual_seed(seed)
    logits = model(src, src_len, tgt_in)
    # a weighted sum of all logits, not only the targets', at every non-padding position
    weights = torch.linspace(-1, 1, logits.numel()).view_as(logits) * (tgt_in != PAD).unsqueeze(2)
    (nll_loss(logits, tgt_out) + (logits * weights).sum() * 1e-2).backward()
    return logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def _assert_same(model, batch):
    ref_logits, ref_grads = _run(model, batch, fast=False)
    logits, grads = _run(model, batch, fast=True)
    real = batch[2] != PAD
    torch.testing.assert_close(logits[real], ref_logits[real], rtol=1e-4, atol=1e-5)
    assert torch.all(logits[~real] == 0)
    assert grads.keys() == ref_grads.keys()
    for name in grads:
        scale = ref_grads[name].abs().max().item()
        torch.testing.assert_close(grads[name], ref_grads[name], rtol=1e-4, atol=1e-5 * max(1.0, scale), msg=name)


TINY = dict(emb_dim=8, hidden=8, src_vocab_size=11, tgt_vocab_size=13)


@pytest.mark.parametrize(
    "over",
    [
        dict(dropout=0.0),
        dict(dropout=0.3),
        dict(dropout=0.3, attention="dot"),
        dict(dropout=0.3, input_feed=False),
        dict(dropout=0.3, enc_layers=1, dec_layers=1),
        dict(dropout=0.3, enc_layers=3, dec_layers=3),
        dict(dropout=0.3, enc_layers=1, dec_layers=2),
        dict(dropout=0.2, enc_hidden=(8, 6), dec_hidden=(8, 6), attn_hidden=9),  # a shrunk model
    ],
)
def test_fast_path_matches_the_step_loop_on_a_tiny_model(over):
    torch.manual_seed(0)
    model = Seq2Seq(ModelConfig(**{**TINY, **over}, init_range=0.5)).train()
    _assert_same(model, _batch(5, 7, 6, 11, 13))


def test_fast_path_matches_the_step_loop_on_a_real_shaped_model():
    """Reference widths (512, two layers), a narrower vocabulary, Multi30k-like lengths."""
    torch.manual_seed(0)
    cfg = ModelConfig(emb_dim=512, hidden=512, dropout=0.2, src_vocab_size=300, tgt_vocab_size=400)
    model = Seq2Seq(cfg).train()
    _assert_same(model, _batch(16, 13, 12, 300, 400, seed=3))


def test_fast_path_matches_with_padding_columns_past_every_sentence():
    torch.manual_seed(0)
    model = Seq2Seq(ModelConfig(**TINY, dropout=0.3, init_range=0.5)).train()
    src, src_len, tgt_in, tgt_out = _batch(4, 6, 5, 11, 13)
    extra = torch.full((4, 2), PAD)
    _assert_same(
        model, (torch.cat([src, extra], 1), src_len, torch.cat([tgt_in, extra], 1), torch.cat([tgt_out, extra], 1))
    )


def test_fast_path_is_used_only_for_training():
    model = Seq2Seq(ModelConfig(**TINY, dropout=0.0))
    assert model.train()._fast("cpu")
    assert not model.eval()._fast("cpu")
    with torch.no_grad():
        assert not model.train()._fast("cpu")


def test_encoder_segments_equal_packed_lstm_with_dropout():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(6, 5, 2, batch_first=True, dropout=0.4)
    x = torch.randn(5, 7, 6, requires_grad=True)
    lengths = torch.tensor([6, 2, 4, 6, 1])
    layers = [[getattr(lstm, f"{w}_l{k}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")] for k in range(2)]
    torch.manual_seed(1)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, (h, c) = lstm(packed)
    ref, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=7)
    torch.manual_seed(1)
    memory, hs, cs = run_by_length(x, lengths, layers, 0.4, True)
    torch.testing.assert_close(memory, ref)
    torch.testing.assert_close(torch.stack(hs), h)
    torch.testing.assert_close(torch.stack(cs), c)


def test_summed_nll_equals_cross_entropy_and_is_twice_differentiable():
    torch.manual_seed(0)
    logits = torch.randn(300, 50, requires_grad=True)  # more rows than one block
    target = torch.randint(1, 50, (300,))
    target[::7] = PAD
    ref = torch.nn.functional.cross_entropy(logits, target, ignore_index=PAD, reduction="sum")
    out = summed_nll(logits, target)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(torch.autograd.grad(out, logits)[0], torch.autograd.grad(ref, logits)[0])
    small = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    tgt = torch.tensor([1, 2, PAD, 4, 3, PAD])
    assert torch.autograd.gradgradcheck(lambda z: summed_nll(z, tgt), (small,))
