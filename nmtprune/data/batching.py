"""Tokenised, encoded parallel data and length-bucketed batches.

Batches are deterministic given (seed, epoch): a resumed run replays exactly the batches that an
uninterrupted run would have seen, which is what makes bitwise resume possible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .corpora import get_corpus, read_parallel
from .tokenize import Tokenizer
from .vocab import BOS, EOS, PAD, Vocab

__all__ = ["ParallelData", "Batch", "load_split", "tokenize_split", "make_batches", "collate"]


@dataclass
class ParallelData:
    """Encoded sentence pairs. ``src[i]``/``tgt[i]`` are lists of token ids (no BOS/EOS)."""

    src: list[list[int]]
    tgt: list[list[int]]
    src_tokens: list[list[str]]
    tgt_tokens: list[list[str]]
    raw_src: list[str]
    raw_tgt: list[str]

    def __len__(self) -> int:
        return len(self.src)


@dataclass
class Batch:
    """One padded batch (batch-first).

    src: (B, S) source ids, padded with PAD; src_len: (B,) true lengths.
    tgt_in: (B, T) ``<s> y_1 .. y_n`` ; tgt_out: (B, T) ``y_1 .. y_n </s>``; both PAD-padded.
    """

    src: torch.Tensor
    src_len: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    index: np.ndarray  # positions of these pairs in the ParallelData

    @property
    def n_tokens(self) -> int:
        return int((self.tgt_out != PAD).sum())

    def to(self, device) -> "Batch":
        return Batch(
            self.src.to(device), self.src_len.to(device), self.tgt_in.to(device), self.tgt_out.to(device), self.index
        )


def tokenize_split(corpus: str, split: str, src_lang: str, tgt_lang: str, lowercase: bool):
    """Raw and tokenised text of one split."""
    c = get_corpus(corpus)
    raw_src, raw_tgt = read_parallel(c.path(split, src_lang), c.path(split, tgt_lang))
    ts, tt = Tokenizer(src_lang, lowercase), Tokenizer(tgt_lang, lowercase)
    return raw_src, raw_tgt, [ts.tokenize(s) for s in raw_src], [tt.tokenize(s) for s in raw_tgt]


def load_split(
    corpus: str,
    split: str,
    src_lang: str,
    tgt_lang: str,
    lowercase: bool,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    max_len: int = 0,
) -> ParallelData:
    """Tokenise and encode one split; drop pairs longer than ``max_len`` (0 keeps all)."""
    raw_src, raw_tgt, tok_src, tok_tgt = tokenize_split(corpus, split, src_lang, tgt_lang, lowercase)
    keep = [
        i
        for i in range(len(raw_src))
        if not max_len or (0 < len(tok_src[i]) <= max_len and 0 < len(tok_tgt[i]) <= max_len)
    ]
    return ParallelData(
        [src_vocab.encode(tok_src[i]) for i in keep],
        [tgt_vocab.encode(tok_tgt[i]) for i in keep],
        [tok_src[i] for i in keep],
        [tok_tgt[i] for i in keep],
        [raw_src[i] for i in keep],
        [raw_tgt[i] for i in keep],
    )


def make_batches(
    data: ParallelData, batch_size: int, seed: int = 0, epoch: int = 0, shuffle: bool = True
) -> list[np.ndarray]:
    """Index arrays of length-bucketed batches of ``batch_size`` sentences.

    With shuffle, pairs are shuffled, sorted by length inside pools of 100 batches (so a batch holds
    similar lengths and little padding) and the batch order is shuffled; the order depends only on
    (seed, epoch). Without shuffle, batches follow length order (for fast evaluation).
    """
    n = len(data)
    lengths = np.array([len(s) for s in data.src], dtype=np.int64) * 1000 + np.array(
        [len(t) for t in data.tgt], dtype=np.int64
    )
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(n)
    pool = batch_size * 100
    batches = []
    for start in range(0, n, pool):
        chunk = perm[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _pad(seqs: list[list[int]]) -> torch.Tensor:
    out = torch.full((len(seqs), max(len(s) for s in seqs)), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def collate(data: ParallelData, index: np.ndarray) -> Batch:
    src = [data.src[i] or [PAD] for i in index]  # an empty source still needs one position
    tgt = [data.tgt[i] for i in index]
    return Batch(
        _pad(src),
        torch.tensor([max(1, len(data.src[i])) for i in index]),
        _pad([[BOS] + t for t in tgt]),
        _pad([t + [EOS] for t in tgt]),
        np.asarray(index),
    )
