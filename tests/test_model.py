import torch

from nmtprune.config import ModelConfig
from nmtprune.data.vocab import BOS, PAD
from nmtprune.models import Seq2Seq, gate_blocks, nll_loss, weight_classes


def _batch(B=3, S=6, T=5, V=11, seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, V, (B, S), generator=g)
    src_len = torch.tensor([S, 4, 2][:B])
    for b in range(B):
        src[b, src_len[b] :] = PAD
    tgt = torch.randint(4, 13, (B, T), generator=g)
    tgt[:, 0] = BOS
    return src, src_len, tgt


def test_shapes(tiny_cfg):
    model = Seq2Seq(tiny_cfg).eval()
    src, src_len, tgt = _batch()
    logits, align = model(src, src_len, tgt, return_align=True)
    assert logits.shape == (3, 5, 13)
    assert align.shape == (3, 5, 6)


def test_attention_sums_to_one_and_ignores_padding(tiny_cfg):
    model = Seq2Seq(tiny_cfg).eval()
    src, src_len, tgt = _batch()
    _, align = model(src, src_len, tgt, return_align=True)
    torch.testing.assert_close(align.sum(-1), torch.ones(3, 5))
    for b, n in enumerate(src_len.tolist()):
        assert torch.all(align[b, :, n:] == 0)


def test_padding_does_not_change_outputs(tiny_cfg):
    """Extra padding on the source must not change any logit (packing + attention mask)."""
    model = Seq2Seq(tiny_cfg).eval()
    src, src_len, tgt = _batch()
    padded = torch.cat([src, torch.full((3, 4), PAD)], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(model(src, src_len, tgt), model(padded, src_len, tgt))


def test_source_reversal_changes_the_encoding():
    base = dict(emb_dim=8, hidden=8, enc_layers=1, dec_layers=1, dropout=0.0, src_vocab_size=11, tgt_vocab_size=13)
    torch.manual_seed(0)
    fwd = Seq2Seq(ModelConfig(reverse_source=False, **base)).eval()
    rev = Seq2Seq(ModelConfig(reverse_source=True, **base)).eval()
    rev.load_state_dict(fwd.state_dict())
    src, src_len, tgt = _batch()
    # reversing the (unpadded part of the) source by hand with reversal off equals reversal on
    manual = src.clone()
    for b, n in enumerate(src_len.tolist()):
        manual[b, :n] = src[b, :n].flip(0)
    with torch.no_grad():
        torch.testing.assert_close(fwd(manual, src_len, tgt), rev(src, src_len, tgt))
        assert not torch.allclose(fwd(src, src_len, tgt), rev(src, src_len, tgt))


def test_dot_attention_has_no_score_parameters():
    cfg = ModelConfig(
        emb_dim=8, hidden=8, enc_layers=1, dec_layers=1, attention="dot", src_vocab_size=11, tgt_vocab_size=13
    )
    model = Seq2Seq(cfg)
    attn = [c for c in weight_classes(model) if c.name == "attention"][0]
    assert attn.params == ("attention.W_c",)


def test_weight_classes_cover_all_weights_but_no_biases(tiny_cfg):
    model = Seq2Seq(tiny_cfg)
    classes = weight_classes(model)
    names = [c.name for c in classes]
    assert names == [
        "src_layer1",
        "src_layer2",
        "tgt_layer1",
        "tgt_layer2",
        "attention",
        "softmax",
        "src_emb",
        "tgt_emb",
    ]
    in_classes = {p for c in classes for p in c.params}
    for name, _ in model.named_parameters():
        assert (name in in_classes) == ("bias" not in name), name
    # decoder layer 1 has the input-feeding columns: 4H x (E + H)
    named = dict(model.named_parameters())
    assert named["decoder.weight_ih_l0"].shape == (32, 16)


def test_gate_blocks_partition_the_matrix():
    blocks = gate_blocks("decoder.weight_ih_l0", (32, 16), emb_dim=8, input_feed=True)
    covered = torch.zeros(32, 16, dtype=torch.int32)
    for _, rows, cols in blocks:
        covered[rows, cols] += 1
    assert torch.all(covered == 1)
    assert [b[0] for b in blocks][:2] == ["i.input", "i.feed"]


def test_uniform_init_range(tiny_cfg):
    model = Seq2Seq(tiny_cfg)
    for name, p in model.named_parameters():
        assert p.abs().max() <= tiny_cfg.init_range, name
    assert torch.all(model.src_emb.weight[PAD] == 0)


def test_loss_ignores_padding(tiny_cfg):
    model = Seq2Seq(tiny_cfg).eval()
    src, src_len, tgt = _batch()
    logits = model(src, src_len, tgt)
    target = tgt.clone()
    full = nll_loss(logits, target)
    target[0, 3:] = PAD
    assert nll_loss(logits, target) < full
