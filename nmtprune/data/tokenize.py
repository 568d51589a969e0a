"""Moses-style preprocessing, as the Multi30k standard (``task1-tokenize.sh``) does it.

normalise punctuation -> tokenise with aggressive hyphen splitting (``T @-@ Shirt``) -> optionally
lowercase. Tokens are not XML-escaped (``&apos;``), which keeps the vocabulary readable; the BLEU
protocol tokenises hypothesis and reference with this same function, so escaping does not matter.
"""

from __future__ import annotations

from functools import lru_cache

from sacremoses import MosesDetokenizer, MosesPunctNormalizer, MosesTokenizer

__all__ = ["Tokenizer"]


@lru_cache(maxsize=None)
def _moses(lang: str):
    return MosesPunctNormalizer(lang=lang), MosesTokenizer(lang=lang), MosesDetokenizer(lang=lang)


class Tokenizer:
    """Word-level Moses tokenizer for one language.

    Args:
        lang: ISO code (``en``, ``de``, ``fr``, ``vi``).
        lowercase: lowercase after tokenising (the tok-lc protocol).
    """

    def __init__(self, lang: str, lowercase: bool = True):
        self.lang = lang
        self.lowercase = lowercase
        self._norm, self._tok, self._detok = _moses(lang)

    def tokenize(self, text: str) -> list[str]:
        toks = self._tok.tokenize(self._norm.normalize(text.strip()), escape=False, aggressive_dash_splits=True)
        return [t.lower() for t in toks] if self.lowercase else toks

    def detokenize(self, tokens: list[str]) -> str:
        return self._detok.detokenize(tokens)
