"""Word vocabularies by frequency, as See et al.: the most frequent words, the rest ``<unk>``.

Index order is fixed: 0 ``<pad>``, 1 ``<unk>``, 2 ``<s>``, 3 ``</s>``, then words by descending
training frequency (ties alphabetical), so embedding row i is the i-th most frequent word -- the
order the "where are the pruned weights" analysis (See et al. Fig 8) needs.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable, Optional

from .corpora import DataError, decode_utf8
from .subword import Subword, train_subword

__all__ = ["Vocab", "PAD", "UNK", "BOS", "EOS", "SPECIALS"]

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]


class Vocab:
    """Token <-> index mapping with training counts (counts of specials are 0).

    With a sentencepiece model (``subword``), entries are pieces: :meth:`encode` segments Moses tokens
    into pieces and :meth:`decode` merges pieces back into Moses tokens.
    """

    def __init__(self, tokens: list[str], counts: list[int], subword: Optional[Subword] = None):
        if tokens[:4] != SPECIALS:
            raise DataError(f"vocabulary must start with {SPECIALS}, got {tokens[:4]}")
        self.itos = list(tokens)
        self.counts = list(counts)
        self.subword = subword
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise DataError("vocabulary has duplicate tokens")

    @classmethod
    def build(cls, sentences: Iterable[list[str]], max_size: int, min_freq: int = 1) -> "Vocab":
        """Most frequent tokens (count >= min_freq), at most ``max_size`` entries including specials."""
        counter = Counter(tok for sent in sentences for tok in sent)
        ranked = sorted(
            (kv for kv in counter.items() if kv[1] >= min_freq and kv[0] not in SPECIALS),
            key=lambda kv: (-kv[1], kv[0]),
        )[: max(0, max_size - len(SPECIALS))]
        return cls(SPECIALS + [t for t, _ in ranked], [0] * len(SPECIALS) + [c for _, c in ranked])

    @classmethod
    def build_subword(cls, sentences: list[list[str]], kind: str, size: int) -> "Vocab":
        """Train a sentencepiece model of ``kind`` and index its pieces by training frequency."""
        if not any(sentences):  # sentencepiece would stop with an internal assertion
            raise DataError(
                f"no training sentence to learn the {kind} vocabulary from: the length filter (data.max_len) left none"
            )
        sub = train_subword(sentences, kind, size)
        vocab = cls.build((sub.segment(s) for s in sentences), max_size=10**9)
        return cls(vocab.itos, vocab.counts, sub)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: list[str]) -> list[int]:
        """Moses tokens -> ids (segmented into pieces first for a subword vocabulary)."""
        if self.subword is not None:
            tokens = self.subword.segment(tokens)
        return [self.stoi.get(t, UNK) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids to tokens, stopping at ``</s>`` and skipping ``<pad>``/``<s>``."""
        out = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.itos[i])
        return Subword.merge(out) if self.subword is not None else out

    def save(self, path: str | Path) -> None:
        """One ``token<TAB>count`` line per entry, in index order (+ ``<path>.spm`` for subwords)."""
        Path(path).write_text("".join(f"{t}\t{c}\n" for t, c in zip(self.itos, self.counts)), encoding="utf-8")
        if self.subword is not None:
            Path(f"{path}.spm").write_bytes(self.subword.proto)

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        """Read a file written by :meth:`save`; DataError naming the file (and line) when it is damaged."""
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: vocabulary file not found")
        tokens, counts = [], []
        for number, line in enumerate(decode_utf8(path.read_bytes(), str(path)).split("\n"), start=1):
            if not line:
                continue
            tok, sep, count = line.rpartition("\t")
            if not sep or not count.isdigit():
                raise DataError(f"{path}:{number}: expected 'token<TAB>count', got {line[:50]!r}")
            tokens.append(tok)
            counts.append(int(count))
        spm_file, subword = Path(f"{path}.spm"), None
        if spm_file.is_file():
            try:
                subword = Subword(spm_file.read_bytes())
            except RuntimeError as exc:  # sentencepiece's only complaint about a model it cannot parse
                raise DataError(f"{spm_file}: not a sentencepiece model ({exc})") from None
        try:
            return cls(tokens, counts, subword)
        except DataError as exc:  # the checks of the contents, which do not know the file
            raise DataError(f"{path}: {exc}") from None
