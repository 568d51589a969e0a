import gzip

import pytest

from nmtprune.config import ConfigError, load_config
from nmtprune.data import DataError, Tokenizer, Vocab, get_corpus, read_lines, read_parallel
from nmtprune.data.batching import load_split, make_batches
from nmtprune.data.tatoeba import split_tatoeba

from conftest import TOY_CONFIG


def test_shipped_multi30k_counts():
    c = get_corpus("multi30k-en-de")
    counts = {s: len(read_lines(c.path(s, "de"))) for s in c.splits}
    assert counts == {
        "train": 29000,
        "val": 1014,
        "test_2016_flickr": 1000,
        "test_2017_flickr": 1000,
        "test_2017_mscoco": 461,
    }


def test_shipped_tatoeba_split_is_disjoint_by_english():
    c = get_corpus("tatoeba-en-fr")
    en = {s: read_lines(c.path(s, "en")) for s in ("train", "dev", "test")}
    assert sum(len(v) for v in en.values()) == 167130
    assert 2000 <= len(en["dev"]) < 2100 and 2000 <= len(en["test"]) < 2100
    assert not set(en["test"]) & set(en["train"]) and not set(en["dev"]) & set(en["train"])
    assert not set(en["test"]) & set(en["dev"])


def test_tatoeba_split_is_seeded_and_groups_english():
    lines = [f"s{i % 30}\tf{i}" for i in range(100)]
    a, b = split_tatoeba(lines, seed=3, dev_test_pairs=10), split_tatoeba(lines, seed=3, dev_test_pairs=10)
    assert a == b
    assert not set(a["test"][0]) & set(a["train"][0])
    with pytest.raises(DataError, match="fra.txt:2"):
        split_tatoeba(["a\tb", "no tab here"])


def test_tokenization_round_trip():
    tok = Tokenizer("de", lowercase=False)
    for s in read_lines(get_corpus("multi30k-en-de").path("val", "de"))[:300]:
        tokens = tok.tokenize(s)
        assert tok.tokenize(tok.detokenize(tokens)) == tokens
    assert Tokenizer("en").tokenize("A T-shirt, isn't it?") == ["a", "t", "@-@", "shirt", ",", "isn", "'t", "it", "?"]


def test_vocab_order_and_round_trip(tmp_path):
    v = Vocab.build([["b", "a", "b"], ["c", "b", "a"]], max_size=6)
    assert v.itos == ["<pad>", "<unk>", "<s>", "</s>", "b", "a"]  # by frequency, capped
    assert v.encode(["a", "zzz"]) == [5, 1]
    v.save(tmp_path / "v")
    assert Vocab.load(tmp_path / "v").itos == v.itos
    (tmp_path / "bad").write_text("<pad>\t0\nnot-a-count\n")
    with pytest.raises(DataError, match="bad:2"):
        Vocab.load(tmp_path / "bad")


def test_mismatched_line_counts_name_both_files(tmp_path):
    (tmp_path / "a.en").write_text("x\ny\nz\n")
    (tmp_path / "a.de").write_text("x\ny\n")
    with pytest.raises(DataError) as err:
        read_parallel(tmp_path / "a.en", tmp_path / "a.de")
    assert "3 lines" in str(err.value) and "has 2" in str(err.value) and "a.de" in str(err.value)


def test_bad_files(tmp_path):
    (tmp_path / "empty.en").write_text("")
    with pytest.raises(DataError, match="empty"):
        read_lines(tmp_path / "empty.en")
    (tmp_path / "latin1.en").write_bytes("ok\nok\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.en:3: not valid UTF-8"):
        read_lines(tmp_path / "latin1.en")
    with gzip.open(tmp_path / "z.en.gz", "wb") as fh:
        fh.write(b"fine\n\xff\n")
    with pytest.raises(DataError, match=r"z.en.gz:2"):
        read_lines(tmp_path / "z.en.gz")
    with pytest.raises(DataError, match="not found"):
        read_lines(tmp_path / "missing.en")
    with pytest.raises(DataError, match="unknown corpus 'nope'"):
        get_corpus("nope")
    with pytest.raises(DataError, match="no split 'dev'"):
        get_corpus("multi30k-en-de").path("dev", "en")


def test_batches_are_deterministic_and_bucketed():
    cfg = load_config(TOY_CONFIG)
    v_src = Vocab.build([], 10)
    data = load_split("tests/data/toy", "train", "en", "de", True, v_src, v_src)
    a, b = make_batches(data, 8, seed=1, epoch=3), make_batches(data, 8, seed=1, epoch=3)
    assert all((x == y).all() for x, y in zip(a, b))
    assert any((x != y).any() for x, y in zip(a, make_batches(data, 8, seed=1, epoch=4)))
    assert sorted(i for batch in a for i in batch) == list(range(len(data)))
    assert cfg.data.corpus == "tests/data/toy"


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  lr: fast\n")
    with pytest.raises(ConfigError, match="'lr' must be a number"):
        load_config(bad)
    bad.write_text("train:\n  learning_rate: 1.0\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['learning_rate'\]"):
        load_config(bad)
    bad.write_text("model:\n  attention: concat\n")
    with pytest.raises(ConfigError, match="must be one of"):
        load_config(bad)
    with pytest.raises(ConfigError, match="dropout"):
        load_config(TOY_CONFIG, ["model.dropout=1.5"])
    with pytest.raises(ConfigError, match="section.key"):
        load_config(TOY_CONFIG, ["lr=1"])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_subword_vocab_round_trip(tmp_path, kind):
    tok = Tokenizer("de")
    sents = [tok.tokenize(s) for s in read_lines(get_corpus("multi30k-en-de").path("val", "de"))]
    v = Vocab.build_subword(sents[:800], kind, 400)
    assert 300 < len(v) < 500
    unseen = 0
    for s in sents[800:900]:
        ids = v.encode(s)
        assert len(ids) >= len(s)  # pieces, at least one per word
        if 1 in ids:  # a character never seen in training maps to <unk>
            unseen += 1
        else:
            assert v.decode(ids + [3, 7]) == s  # decoding stops at </s> and merges pieces into words
    assert unseen < 10
    v.save(tmp_path / "sub.vocab")
    w = Vocab.load(tmp_path / "sub.vocab")
    assert w.itos == v.itos and w.subword is not None
    assert w.encode(sents[850]) == v.encode(sents[850])
