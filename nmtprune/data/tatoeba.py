"""The fixed, seeded train/dev/test split of the Tatoeba/Anki En-Fr pairs (no official split exists).

Many English sentences have several French translations, so the split is made over *distinct
English sentences*: every pair of one English sentence goes to the same split, and no test source
is seen in training. English sentences are shuffled with ``numpy.random.default_rng(seed)``; test
takes them until it holds >= ``dev_test_pairs`` pairs, then dev does, the rest is train. Within a
split, pairs keep the source file's order (sorted by English length), since training shuffles anyway.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from .corpora import DataError, read_lines

__all__ = ["split_tatoeba", "write_tatoeba_split"]


def split_tatoeba(lines: list[str], seed: int = 20161, dev_test_pairs: int = 2000, source: str = "fra.txt"):
    """Split ``English<TAB>French`` lines; returns {split: (english list, french list)}."""
    pairs = []
    for number, line in enumerate(lines, start=1):
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
            raise DataError(f"{source}:{number}: expected 'English<TAB>French', got {line[:60]!r}")
        pairs.append((parts[0], parts[1]))
    english = list(dict.fromkeys(e for e, _ in pairs))  # distinct, first-seen order
    count = {}
    for e, _ in pairs:
        count[e] = count.get(e, 0) + 1
    order = np.random.default_rng(seed).permutation(len(english))
    assign, filled = {}, {"test": 0, "dev": 0}
    for idx in order:
        e = english[idx]
        split = "test" if filled["test"] < dev_test_pairs else "dev" if filled["dev"] < dev_test_pairs else "train"
        assign[e] = split
        if split != "train":
            filled[split] += count[e]
    out = {s: ([], []) for s in ("train", "dev", "test")}
    for e, f in pairs:
        out[assign[e]][0].append(e)
        out[assign[e]][1].append(f)
    return out


def write_tatoeba_split(source: str | Path, out_dir: str | Path, seed: int = 20161) -> dict[str, int]:
    """Read ``fra.txt(.gz)``, split it and write ``{train,dev,test}.{en,fr}.gz``; returns pair counts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = split_tatoeba(read_lines(source), seed=seed, source=str(source))
    for split, (en, fr) in splits.items():
        for lang, text in (("en", en), ("fr", fr)):
            tmp = out_dir / f".{split}.{lang}.gz.tmp"
            # mtime=0 makes the gzip bytes reproducible
            with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as fh:
                fh.write("".join(t + "\n" for t in text).encode("utf-8"))
            tmp.replace(out_dir / f"{split}.{lang}.gz")
    return {s: len(v[0]) for s, v in splits.items()}
