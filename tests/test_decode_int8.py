"""int8 decoding on the CPU (nmtprune/decode/int8.py): close to fp32 on the shipped model, really int8,
for shrunk and compressed models too, and through `translate`/`evaluate --int8`.

Outcomes are compared with tolerances and agreement rates, never bit for bit: both the int8 and the
fp32 kernels differ between CPUs.
"""

import json

import pytest
import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile
from unit_helpers import Batch, make, random_mask

from nmtprune import api as nmt
from nmtprune.data.batching import collate
from nmtprune.decode.int8 import int8_model, quantised_linears
from nmtprune.decode.search import greedy_search
from nmtprune.cli import main
from nmtprune.prune.units import shrink
from nmtprune.train.checkpoint import load_model

SHIPPED = "models/multi30k-en-de"


@pytest.fixture(scope="module")
def shipped():
    m = nmt.load(SHIPPED)
    return m, int8_model(m.net), nmt.sentences(m, "test_2016_flickr", limit=32)


def _nll_and_top1(model, batch):
    with torch.no_grad():
        logits = model(batch.src, batch.src_len, batch.tgt_in)
    real = batch.tgt_out != 0
    return logits[real], F.cross_entropy(logits[real], batch.tgt_out[real])


def test_int8_logits_are_close_to_fp32(shipped):
    m, q, data = shipped
    batch = collate(data, list(range(len(data))))
    lf, nll_f = _nll_and_top1(m.net, batch)
    lq, nll_q = _nll_and_top1(q, batch)  # log-probabilities: compared after the same log-softmax
    lf, lq = torch.log_softmax(lf, 1), torch.log_softmax(lq, 1)
    # quantisation noise, not a different model: the same next word almost everywhere, logits a
    # small fraction of their own spread apart, and the teacher-forced loss within 2 %
    assert (lf.argmax(1) == lq.argmax(1)).float().mean() >= 0.97
    assert (lf - lq).abs().mean() < 0.05 * lf.std()
    assert abs(float(nll_q) - float(nll_f)) < 0.02 * float(nll_f)
    assert not torch.equal(lf, lq)  # it is not the fp32 model under another name


def test_int8_translations_mostly_agree_with_fp32(shipped):
    m, q, data = shipped
    batch = collate(data, list(range(20)))
    fp32 = greedy_search(m.net, batch.src, batch.src_len)
    int8 = greedy_search(q, batch.src, batch.src_len)
    assert sum(a == b for a, b in zip(fp32, int8)) >= 15


def test_int8_model_holds_int8_weights_and_calls_the_quantised_kernel(shipped):
    m, q, data = shipped
    cfg = m.cfg.model
    linears = quantised_linears(q)
    # a gate product per encoder and decoder layer, W_a, W_c and the softmax layer
    assert len(linears) == cfg.enc_layers + cfg.dec_layers + 3
    for lin in linears:
        w = lin.weight()
        assert w.dtype == torch.qint8 and w.qscheme() == torch.per_channel_affine
        assert int(w.q_per_channel_zero_points().abs().max()) == 0  # symmetric
        assert w.q_per_channel_scales().numel() == w.shape[0]  # one scale per output row
    # no fp32 weight matrix is left in the int8 model: its only float tensors are the two embeddings
    assert {n for n, _ in q.named_parameters()} | {n for n, _ in q.named_buffers()} <= {
        "src_emb.weight",
        "step.tgt_emb.weight",
    }
    batch = collate(data, [0, 1])
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
        q(batch.src, batch.src_len, batch.tgt_in)
    ops = {e.key: e.count for e in prof.key_averages()}
    assert ops.get("quantized::linear_dynamic", 0) > 0
    assert not {"aten::linear", "aten::addmm", "aten::mm", "aten::matmul"} & set(ops)


@pytest.mark.parametrize("el,dl,att,feed", [(2, 2, "general", True), (2, 3, "general", False), (3, 2, "dot", True)])
def test_int8_follows_a_shrunk_model(el, dl, att, feed):
    model = make(el, dl, att, feed, n=12, E=7)
    small = shrink(model, random_mask(model, seed=1))  # different sizes per layer
    assert len(set(small.cfg.enc_sizes)) > 1 or len(set(small.cfg.dec_sizes)) > 1
    b = Batch()
    with torch.no_grad():
        lf = torch.log_softmax(small(b.src, b.src_len, b.tgt_in), -1)
        lq = int8_model(small)(b.src, b.src_len, b.tgt_in)  # log-probabilities
    real = b.tgt_out != 0
    assert (lf - lq)[real].abs().max() < 0.05


def test_int8_reads_a_compressed_directory(tmp_path, shipped, capsys):
    _, _, data = shipped
    comp = tmp_path / "c8"
    assert main(["compress", SHIPPED, "--out", str(comp), "--method", "int8", "--level", "1", "--json"]) == 0
    model, _, _, _ = load_model(comp)
    batch = collate(data, list(range(8)))
    fp32 = greedy_search(model, batch.src, batch.src_len)
    int8 = greedy_search(int8_model(model), batch.src, batch.src_len)
    assert sum(a == b for a, b in zip(fp32, int8)) >= 5


def test_evaluate_and_translate_int8(tmp_path, capsys):
    args = ["evaluate", SHIPPED, "--split", "test_2016_flickr", "--int8", "--max-sentences", "6", "--beam", "2"]
    assert main([*args, "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["sentences"] == 6 and metrics["bleu_tok_lc"] > 0 and metrics["ppl"] < 100
    text = tmp_path / "in.en"
    text.write_text("A man is playing a guitar.\n\nTwo dogs run through the snow.\n", encoding="utf-8")
    assert main(["translate", SHIPPED, "--int8", "--beam", "1", "--input", str(text)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[0] and out[1] == "" and out[2]


def test_evaluate_rejects_a_negative_max_sentences(capsys):
    assert main(["evaluate", SHIPPED, "--split", "test_2016_flickr", "--max-sentences", "-2"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == ["error: --max-sentences must be >= 0 (0 = all), got -2"]
