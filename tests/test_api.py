"""The short API (nmtprune.api): each step of load -> classes -> score -> select -> prune -> retrain ->
evaluate -> compress -> shrink, on a toy model trained here, gives what its docstring promises."""

import pytest
import torch

from conftest import TOY_CONFIG
from nmtprune import api as nmt
from nmtprune.config import load_config
from nmtprune.train.loop import train


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    out = tmp_path_factory.mktemp("toy")
    train(load_config(TOY_CONFIG, ["train.epochs=1"]), out / "run", progress=False)
    return out / "run" / "best"


def test_load_classes_score_select_prune(toy):
    m = nmt.load(toy)
    net, cfg, src_vocab, tgt_vocab = m  # unpacks like nmtprune.train.load_model
    assert net is m.net and not net.training
    classes = nmt.weight_classes(m)
    assert list(classes)[:2] == ["src_layer1", "src_layer2"] and classes["softmax"]["paper"] == "softmax"
    assert classes["src_layer1"]["params"]["encoder.weight_ih_l0"] == (4 * 32, 32)  # four gates stacked
    assert classes["src_layer1"]["size"] == 2 * 4 * 32 * 32
    scores = nmt.score(m, "magnitude")
    masks = nmt.select(m, scores, 0.5, "class-uniform")
    assert abs(masks.stats(net)["overall"]["sparsity"] - 0.5) < 0.01
    assert masks.stats(net)["overall"]["zeros"] < masks.stats(net)["overall"]["pruned"]  # select does not prune
    batches = nmt.training_batches(m, 2, batch_size=4)
    assert len(batches) == 2 and batches[0].src.shape[0] == 4
    masks = nmt.prune(m, "taylor", 0.6, batches=batches)  # a data-driven score on the batches given
    stats = masks.stats(net)["overall"]
    assert abs(stats["sparsity"] - 0.6) < 0.01 and stats["zeros"] >= stats["pruned"]


def test_evaluate_retrain_compress_and_shrink(toy, tmp_path):
    m = nmt.load(toy)
    test = nmt.sentences(m, limit=5)  # the toy corpus's first test split: "test"
    assert len(test) == 5
    dense = nmt.evaluate(m, test, beam=1)
    assert dense["sentences"] == 5 and 0 <= dense["bleu_tok_lc"] <= 100 and dense["ppl"] > 1
    masks = nmt.prune(m, "magnitude", 0.7)
    before = {k: v.clone() for k, v in m.net.state_dict().items()}
    r = nmt.retrain(m, masks, tmp_path / "r", overrides=["train.max_steps=3", "train.threads=1"])
    assert all(torch.equal(before[k], v) for k, v in m.net.state_dict().items())  # m is left as it was
    named = dict(r.net.named_parameters())
    assert all(torch.all(named[n][~k] == 0) for n, k in masks.items())  # the masks held while training
    assert not torch.equal(named["generator.weight"], m.net.generator.weight)  # and the kept weights trained
    size = nmt.compress(r, masks, tmp_path / "p.sparse.safetensors")
    assert 0 < size < sum(t.numel() * 4 for t in r.net.state_dict().values())
    small = nmt.shrink_units(m, "l1", 0.5)
    assert small.net.cfg.hidden == 16 and small.cfg.model == small.net.cfg and m.net.cfg.hidden == 32
    speed = nmt.time_decoding(small, test, beam=1, repeats=1)
    assert speed["wall"] > 0 and speed["cpu"] > 0
    assert nmt.evaluate(small, "dev", limit=3)["sentences"] == 3
