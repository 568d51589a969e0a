"""ONNX export (nmtprune/deploy/): onnxruntime decodes as PyTorch does, fp32 and int8, shrunk models too.

fp32: the same greedy token ids as PyTorch on 20 test sentences of the shipped model, no mismatch
allowed (the graphs compute the same function; a tie between two words within float rounding would
be the only excuse, and these 20 sentences have none). int8: onnxruntime's and PyTorch's
quantisation differ (7-bit against 8-bit weights, their own activation ranges), so their translations
are compared by an agreement rate above a floor, and each against fp32 BLEU.
"""

import json
import shutil

import pytest
import torch
from unit_helpers import Batch, make, random_mask

from nmtprune import api as nmt
from nmtprune.cli import main
from nmtprune.data.batching import collate
from nmtprune.decode.int8 import int8_model
from nmtprune.decode.search import beam_search, greedy_search
from nmtprune.deploy import OnnxError, OnnxModel, load_onnx
from nmtprune.deploy.onnx_export import ENCODER_FILE, META_FILE, STEP_FILE, export_graphs, quantise_graphs
from nmtprune.metrics.evaluate import bleu_scores
from nmtprune.prune.units import shrink

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

SHIPPED = "models/multi30k-en-de"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    assert main(["export-onnx", SHIPPED, "--out", str(root / "fp32")]) == 0
    shutil.copytree(root / "fp32", root / "int8")
    quantise_graphs(root / "fp32", root / "int8")  # what --int8 does after the fp32 export
    m = nmt.load(SHIPPED)
    data = nmt.sentences(m, "test_2016_flickr", limit=20)
    return root, m, collate(data, list(range(len(data)))), data


def test_onnxruntime_greedy_equals_pytorch_greedy(exported):
    root, m, batch, _ = exported
    ort, _, _, _ = load_onnx(root / "fp32")
    assert greedy_search(ort, batch.src, batch.src_len) == greedy_search(m.net, batch.src, batch.src_len)
    with torch.no_grad():
        ref = torch.log_softmax(m.net(batch.src[:4], batch.src_len[:4], batch.tgt_in[:4]), -1)
    real = batch.tgt_out[:4] != 0
    torch.testing.assert_close(
        ort(batch.src[:4], batch.src_len[:4], batch.tgt_in[:4])[real], ref[real], atol=1e-4, rtol=0
    )


def test_onnxruntime_int8_agrees_with_pytorch_int8(exported):
    root, m, batch, data = exported
    ort8, _, _, _ = load_onnx(root / "int8")
    assert ort8.meta["precision"] == "fp32"  # the folder was copied from the fp32 export; the graphs are not
    for name in (ENCODER_FILE, STEP_FILE):
        graph = onnx.load(str(root / "int8" / name)).graph
        weights = {t.name: t for t in graph.initializer}
        ops = {n.op_type for n in graph.node}
        assert {"DynamicQuantizeMatMul", "MatMulInteger", "DynamicQuantizeLSTM"} & ops
        # the MatMuls left multiply activations (attention scores, context); none reads a weight
        assert not [n.name for n in graph.node if n.op_type in ("MatMul", "LSTM") and set(n.input[1:2]) & set(weights)]
        assert any(t.data_type == onnx.TensorProto.INT8 for t in weights.values())
    ort_ids = greedy_search(ort8, batch.src, batch.src_len)
    pt_ids = greedy_search(int8_model(m.net), batch.src, batch.src_len)
    fp32_ids = greedy_search(m.net, batch.src, batch.src_len)
    agree = sum(a == b for a, b in zip(ort_ids, pt_ids)) / len(pt_ids)
    assert agree >= 0.6, f"onnxruntime int8 and PyTorch int8 agree on {agree:.0%} of the sentences"
    bleu = {
        k: bleu_scores([m.tgt_vocab.decode(h) for h in ids], data.raw_tgt, "de")["bleu_tok_lc"]
        for k, ids in (("fp32", fp32_ids), ("ort8", ort_ids), ("pt8", pt_ids))
    }
    assert abs(bleu["ort8"] - bleu["fp32"]) < 5 and abs(bleu["pt8"] - bleu["fp32"]) < 5, bleu


def test_int8_files_are_smaller(exported):
    root = exported[0]
    for name in (ENCODER_FILE, STEP_FILE):
        assert (root / "int8" / name).stat().st_size < 0.7 * (root / "fp32" / name).stat().st_size


@pytest.mark.parametrize("el,dl,att,feed", [(2, 2, "general", True), (2, 3, "general", False), (3, 2, "dot", True)])
def test_export_follows_a_shrunk_model(tmp_path, el, dl, att, feed):
    model = make(el, dl, att, feed, n=12, E=7)
    small = shrink(model, random_mask(model, seed=1))  # per-layer sizes: the encoder is an LSTMStack
    export_graphs(small, tmp_path)
    ort = OnnxModel(tmp_path, {"dec_layers": small.cfg.dec_layers, "attn_size": small.cfg.attn_size})
    b = Batch(B=3)
    with torch.no_grad():
        ref = torch.log_softmax(small(b.src, b.src_len, b.tgt_in), -1)
    real = b.tgt_out != 0
    torch.testing.assert_close(ort(b.src, b.src_len, b.tgt_in)[real], ref[real], atol=1e-5, rtol=0)
    # a batch size and source length the trace did not see
    b = Batch(seed=3, B=2, S=9)
    assert greedy_search(ort, b.src, b.src_len) == greedy_search(small, b.src, b.src_len)
    assert beam_search(ort, b.src, b.src_len, beam=3) == beam_search(small, b.src, b.src_len, beam=3)


def test_cli_errors_are_one_line(exported, tmp_path, capsys):
    root = exported[0]
    assert main(["export-onnx", SHIPPED, "--out", str(root / "fp32")]) == 1
    assert capsys.readouterr().err.strip().endswith("exists and is not empty; choose another --out")
    assert main(["export-onnx", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
    assert main(["translate", str(root / "fp32"), "--int8"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {root / 'fp32'}: an export-onnx directory has its precision (export-onnx --int8)"
    ]
    with pytest.raises(OnnxError, match=META_FILE):
        load_onnx(SHIPPED)  # a model directory, not an export


def test_translate_and_evaluate_read_an_export(exported, tmp_path, capsys):
    root = exported[0]
    text = tmp_path / "in.en"
    text.write_text("A man is playing a guitar.\n\nTwo dogs run through the snow.\n", encoding="utf-8")
    assert main(["translate", str(root / "fp32"), "--beam", "2", "--input", str(text)]) == 0
    onnx_out = capsys.readouterr().out
    assert main(["translate", SHIPPED, "--beam", "2", "--input", str(text)]) == 0
    assert onnx_out == capsys.readouterr().out
    args = ["evaluate", "--split", "test_2016_flickr", "--max-sentences", "4", "--beam", "1", "--json"]
    assert main([*args, str(root / "fp32")]) == 0
    via_onnx = json.loads(capsys.readouterr().out)
    assert main([*args, SHIPPED]) == 0
    via_torch = json.loads(capsys.readouterr().out)
    assert via_onnx["bleu_tok_lc"] == via_torch["bleu_tok_lc"]
    assert via_onnx["ppl"] == pytest.approx(via_torch["ppl"], rel=1e-3)
