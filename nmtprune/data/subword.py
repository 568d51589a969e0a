"""Subword segmentation with sentencepiece (BPE or unigram), applied *after* Moses tokenisation.

Each language gets its own model, trained on the Moses-tokenised training side. Pieces keep
sentencepiece's word-start marker (U+2581), so merging pieces back gives exactly the Moses tokens
and the BLEU protocol is unchanged. The model is stored in checkpoints as its serialized protobuf
(``*.spm``), never pickled.
"""

from __future__ import annotations

import io
from typing import Iterable

import sentencepiece as spm

__all__ = ["Subword", "train_subword"]

_MARK = "\u2581"


class Subword:
    def __init__(self, model_proto: bytes):
        self.proto = model_proto
        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)

    def segment(self, tokens: list[str]) -> list[str]:
        return self._sp.encode(" ".join(tokens), out_type=str) if tokens else []

    @staticmethod
    def merge(pieces: list[str]) -> list[str]:
        """Pieces -> Moses tokens: a piece starting with U+2581 starts a new token."""
        text = "".join(pieces).replace(_MARK, " ")
        return text.split()


def train_subword(sentences: Iterable[list[str]], kind: str, vocab_size: int) -> Subword:
    """Train a sentencepiece model of ``kind`` ('bpe' or 'unigram') on tokenised sentences.

    Single-threaded training on the same sentences gives the same model (sentencepiece has no seed option).
    """
    if kind not in ("bpe", "unigram"):
        raise ValueError(f"subword kind must be 'bpe' or 'unigram', got {kind!r}")
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=(" ".join(s) for s in sentences if s),
        model_writer=buf,
        model_type=kind,
        vocab_size=vocab_size,
        character_coverage=1.0,
        hard_vocab_limit=False,
        # our own vocabulary adds <pad>/<s>/</s>; sentencepiece needs only its <unk>
        bos_id=-1,
        eos_id=-1,
        pad_id=-1,
        unk_id=0,
        split_by_whitespace=True,
        minloglevel=2,
        num_threads=1,
    )
    return Subword(buf.getvalue())
