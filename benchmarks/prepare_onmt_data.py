"""Write Multi30k exactly as nmtprune sees it, for OpenNMT-py 3.5.1.

Both systems must train on the same token sequences with the same vocabulary, so this script does
not re-implement anything: it calls nmtprune's own preprocessing (``tokenize_split``: Moses
normalise + tokenise with aggressive dash splitting, lowercase) and nmtprune's own vocabulary
builder (``nmtprune.train.loop.build_vocabs``: the max_len filter first, then ``Vocab.build`` with
``min_freq``/``max_vocab`` from the config) and writes

    WORK/train.{src,tgt}      training pairs kept by nmtprune (0 < len <= max_len on both sides),
                              one sentence per line, tokens joined by single spaces
    WORK/val.{src,tgt}        the dev split, same tokenisation (not filtered, as nmtprune's dev)
    WORK/vocab.{src,tgt}      "token count" lines in nmtprune's index order, specials left out
                              (OpenNMT-py adds its own 4: <unk> <blank> <s> </s>, so the sizes match)
    WORK/manifest.json        sizes, counts and the config used

Usage:
    .venv/bin/python benchmarks/prepare_onmt_data.py [--config configs/multi30k_ref.yaml] [--work DIR]

Runs in nmtprune's venv (not in .venv-onmt).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nmtprune.config import load_config  # noqa: E402
from nmtprune.data.batching import tokenize_split  # noqa: E402
from nmtprune.data.vocab import SPECIALS  # noqa: E402
from nmtprune.train.loop import build_vocabs  # noqa: E402

DEFAULT_WORK = Path("/tmp/nmtprune-bench/onmt")
ONMT_FEAT_SEP = "\uffe8"  # OpenNMT-py splits tokens on this (source features)


def _check_tokens(sents: list[list[str]], where: str) -> None:
    for n, sent in enumerate(sents, start=1):
        for tok in sent:
            if not tok or tok.split() != [tok] or ONMT_FEAT_SEP in tok:
                raise SystemExit(f"{where}: sentence {n}: token {tok!r} would be split differently by OpenNMT-py")


def _write_lines(path: Path, sents: list[list[str]]) -> str:
    text = "".join(" ".join(s) + "\n" for s in sents)
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write_vocab(path: Path, vocab) -> int:
    lines = [f"{t} {c}\n" for t, c in zip(vocab.itos, vocab.counts) if t not in SPECIALS]
    path.write_text("".join(lines), encoding="utf-8")
    return len(lines)


def prepare(config: Path, work: Path) -> dict:
    cfg = load_config(config)
    d = cfg.data
    if d.vocab != "word":
        raise SystemExit(f"{config}: data.vocab={d.vocab!r}; this benchmark needs word vocabularies")
    work.mkdir(parents=True, exist_ok=True)
    manifest = {
        "config": str(config),
        "data": {
            "corpus": d.corpus,
            "src_lang": d.src_lang,
            "tgt_lang": d.tgt_lang,
            "lowercase": d.lowercase,
            "min_freq": d.min_freq,
            "max_vocab": d.max_vocab,
            "max_len": d.max_len,
        },
    }
    _, _, src, tgt = tokenize_split(d.corpus, d.train_split, d.src_lang, d.tgt_lang, d.lowercase)
    keep = [i for i in range(len(src)) if 0 < len(src[i]) <= d.max_len and 0 < len(tgt[i]) <= d.max_len]
    tr_src, tr_tgt = [src[i] for i in keep], [tgt[i] for i in keep]
    _, _, va_src, va_tgt = tokenize_split(d.corpus, d.dev_split, d.src_lang, d.tgt_lang, d.lowercase)
    for name, sents in [("train.src", tr_src), ("train.tgt", tr_tgt), ("val.src", va_src), ("val.tgt", va_tgt)]:
        _check_tokens(sents, name)
    src_vocab, tgt_vocab = build_vocabs(cfg)  # the trainer's own function: identical vocabularies
    manifest["files"] = {
        "train.src": _write_lines(work / "train.src", tr_src),
        "train.tgt": _write_lines(work / "train.tgt", tr_tgt),
        "val.src": _write_lines(work / "val.src", va_src),
        "val.tgt": _write_lines(work / "val.tgt", va_tgt),
    }
    manifest["train_pairs"] = len(keep)
    manifest["train_pairs_dropped"] = len(src) - len(keep)
    manifest["val_pairs"] = len(va_src)
    manifest["train_tgt_tokens_with_eos"] = sum(len(t) + 1 for t in tr_tgt)
    manifest["vocab"] = {
        "src_size_nmtprune": len(src_vocab),
        "tgt_size_nmtprune": len(tgt_vocab),
        "src_words_written": _write_vocab(work / "vocab.src", src_vocab),
        "tgt_words_written": _write_vocab(work / "vocab.tgt", tgt_vocab),
        "note": "OpenNMT-py adds 4 specials (<unk> <blank> <s> </s>); with vocab_size_multiple 1 its sizes "
        "equal nmtprune's (<pad> <unk> <s> </s> + words)",
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--config",
        type=Path,
        default=REPO / "configs" / "multi30k_ref.yaml",
        help="nmtprune config whose data section defines corpus, tokenisation and vocabulary",
    )
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"output folder (default {DEFAULT_WORK})")
    args = ap.parse_args(argv)
    manifest = prepare(args.config, args.work)
    print(json.dumps({k: manifest[k] for k in ("train_pairs", "train_pairs_dropped", "val_pairs", "vocab")}, indent=2))
    print(f"wrote {args.work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
