"""The target-vocabulary shortlist: the table from training pairs, decoding that writes only shortlisted words
(and exactly the model's output when every word is shortlisted), the file, and the CLI."""

import subprocess
import sys

import pytest
import torch

from nmtprune import api as nmt
from nmtprune.decode.int8 import int8_model
from nmtprune.decode.search import beam_search, greedy_search
from nmtprune.decode.shortlist import Shortlist, ShortlistError, build_shortlist, shortlisted
from nmtprune.metrics.evaluate import perplexity

from conftest import ROOT
from experiment_helpers import make_model


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("sl") / "model")


@pytest.fixture(scope="module")
def toy(toy_dir):
    return nmt.load(toy_dir)


def _batch(m, n=6):
    from nmtprune.data.batching import collate

    data = nmt.sentences(m, "test", n)
    return data, collate(data, list(range(len(data))))


def test_the_table_pairs_each_source_word_with_the_words_it_occurs_with():
    # source 4 always comes with target 9, source 5 with target 8; target 6 is in every pair
    src = [[4, 7], [4], [5, 7], [5], [4, 5]]
    tgt = [[9, 6], [9, 6], [8, 6], [8, 6], [9, 8, 6]]
    sl = build_shortlist(src, tgt, 10, 12, per_source=1, frequent=1)
    assert sl.candidates.shape == (10, 1)
    assert int(sl.candidates[4, 0]) == 9 and int(sl.candidates[5, 0]) == 8
    assert sl.frequent.tolist() == [6]
    ids = sl.ids(torch.tensor([[4, 4, 0]]))
    assert ids.tolist() == sorted(set(range(4)) | {6, 9, int(sl.candidates[0, 0])})


def test_with_every_word_shortlisted_decoding_is_the_models_own(toy):
    V = toy.cfg.model.tgt_vocab_size
    every = Shortlist(torch.arange(V).repeat(toy.cfg.model.src_vocab_size, 1), torch.arange(V), V)
    _, b = _batch(toy)
    for model in (toy.net, int8_model(toy.net)):
        wrapped = shortlisted(model, every)
        assert beam_search(wrapped, b.src, b.src_len, beam=3) == beam_search(model, b.src, b.src_len, beam=3)
        assert greedy_search(wrapped, b.src, b.src_len) == greedy_search(model, b.src, b.src_len)


def test_a_short_list_writes_only_its_words_and_keeps_the_models_perplexity(toy):
    V, Vs = toy.cfg.model.tgt_vocab_size, toy.cfg.model.src_vocab_size
    g = torch.Generator().manual_seed(0)
    # the listed words all lie in the upper half of the ids, so a search that wrote the step's column
    # positions instead of the words they stand for (0 .. V'-1, V' small) would write unlisted ids
    small = Shortlist(torch.randint(V // 2, V, (Vs, 1), generator=g), torch.tensor([V - 1]), V)
    data, b = _batch(toy)
    allowed = set(small.ids(b.src).tolist())
    assert len(allowed) - 4 < V // 2
    for model in (toy.net, int8_model(toy.net)):
        wrapped = shortlisted(model, small)
        for hyps in (beam_search(wrapped, b.src, b.src_len, beam=3), greedy_search(wrapped, b.src, b.src_len)):
            words = {w for h in hyps for w in h}
            assert words and words <= allowed
        # the shortlist restricts the search, not the model: teacher-forced perplexity is the model's
        assert perplexity(wrapped, data) == perplexity(model, data)
    assert len(allowed) < V  # the test restricts something


def test_the_file_round_trips_and_bad_files_are_one_line_errors(toy, tmp_path):
    V, Vs = toy.cfg.model.tgt_vocab_size, toy.cfg.model.src_vocab_size
    sl = Shortlist(torch.randint(0, V, (Vs, 3)), torch.tensor([4, 7]), V)
    sl.save(tmp_path / "sl.safetensors")
    back = Shortlist.load(tmp_path / "sl.safetensors")
    assert torch.equal(back.candidates, sl.candidates) and torch.equal(back.frequent, sl.frequent)
    (tmp_path / "junk").write_text("not a table")
    for bad in (tmp_path / "junk", tmp_path / "missing"):
        with pytest.raises(ShortlistError, match=f"{bad}: cannot read a shortlist") as e:
            Shortlist.load(bad)
        assert "\n" not in str(e.value)
    other = Shortlist(sl.candidates[:-1], sl.frequent, V)
    with pytest.raises(ShortlistError, match=r"my\.sl: built for vocabularies of .* the model has"):
        shortlisted(toy.net, other, "my.sl")


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "nmtprune", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_the_cli_writes_a_shortlist_and_decodes_with_it(tmp_path):
    model = make_model(tmp_path / "model")
    r = _run("shortlist", str(model), "--out", str(tmp_path / "sl.safetensors"), "--per-source", "3", "--frequent", "5")
    assert r.returncode == 0, r.stderr
    sl = Shortlist.load(tmp_path / "sl.safetensors")
    assert sl.candidates.shape[1] == 3 and sl.frequent.numel() == 5
    r = _run(
        "evaluate",
        str(model),
        "--split",
        "test",
        "--beam",
        "2",
        "--json",
        "--shortlist",
        str(tmp_path / "sl.safetensors"),
    )
    assert r.returncode == 0, r.stderr
    r = _run("translate", str(model), "--shortlist", str(tmp_path / "nope"))
    assert r.returncode != 0 and "nope: cannot read a shortlist" in r.stderr and "Traceback" not in r.stderr
    r = _run("translate", str(model), "--shortlist", str(tmp_path / "sl.safetensors"), "--sparse")
    assert r.returncode != 0 and "--shortlist and --sparse" in r.stderr and "Traceback" not in r.stderr


def test_an_onnx_export_decodes_with_a_shortlist(toy, toy_dir, tmp_path):
    pytest.importorskip("onnxruntime")
    from nmtprune.deploy import export_onnx, load_onnx

    V, Vs = toy.cfg.model.tgt_vocab_size, toy.cfg.model.src_vocab_size
    every = Shortlist(torch.arange(V).repeat(Vs, 1), torch.arange(V), V)
    small = Shortlist(
        torch.randint(V // 2, V, (Vs, 1), generator=torch.Generator().manual_seed(0)), torch.tensor([V - 1]), V
    )
    data, b = _batch(toy)
    allowed = set(small.ids(b.src).tolist())
    for int8 in (False, True):
        out = tmp_path / f"onnx{int(int8)}"
        export_onnx(toy.net, toy_dir, out, int8=int8)
        model = load_onnx(out)[0]
        # every word listed: the same log-probabilities as the whole step graph's, step for step
        full, listed = model, shortlisted(model, every)
        enc_f, enc_l = full.encode(b.src, b.src_len), listed.encode(b.src, b.src_len)
        y = torch.full((len(b.src),), 2, dtype=torch.long)
        lp_f, _, _ = full.decode_step(y, full.initial_state(enc_f), enc_f)
        lp_l, _, _ = listed.decode_step(y, listed.initial_state(enc_l), enc_l)
        assert torch.equal(listed.vocab_ids, torch.arange(V))
        if not int8:  # int8: onnxruntime's and PyTorch's int8 kernels round differently (7- vs 8-bit weights)
            assert torch.allclose(lp_l, lp_f, atol=1e-4)
        wrapped = shortlisted(model, small)
        for hyps in (beam_search(wrapped, b.src, b.src_len, beam=3), greedy_search(wrapped, b.src, b.src_len)):
            words = {w for h in hyps for w in h}
            assert words and words <= allowed
        assert perplexity(wrapped, data) == perplexity(model, data)
