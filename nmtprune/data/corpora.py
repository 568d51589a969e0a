"""Named corpora and validated reading of parallel text.

Every corpus is addressed by name (``multi30k-en-de``, ``tatoeba-en-fr``, ``iwslt15-en-vi``,
``wmt14-en-de``). Shipped splits live gzip-compressed under the repository's ``data/`` folder, so a
fresh clone needs nothing else; splits that are too large to ship (the IWSLT'15 and WMT'14 training
sets) are fetched by ``nmtprune data download`` into the cache folder and verified by checksum.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path
from ..errors import UserError

__all__ = [
    "DataError",
    "Corpus",
    "CORPORA",
    "get_corpus",
    "read_lines",
    "read_parallel",
    "decode_utf8",
    "shipped_data_dir",
    "cache_dir",
]


class DataError(ValueError, UserError):
    """Bad input data; the message names the file (and line) and what was expected."""


def shipped_data_dir() -> Path:
    """Folder holding the corpora shipped with the repository (override: NMTPRUNE_DATA_DIR)."""
    env = os.environ.get("NMTPRUNE_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"


def cache_dir() -> Path:
    """Folder for downloaded corpora (override: NMTPRUNE_CACHE_DIR)."""
    env = os.environ.get("NMTPRUNE_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "nmtprune"


@dataclass(frozen=True)
class Corpus:
    """A parallel corpus: languages, and for each split where its files are."""

    name: str
    langs: tuple[str, str]
    shipped: dict[str, str]  # split -> file stem under data/<name>/ (files <stem>.<lang>.gz)
    downloaded: dict[str, str] = field(default_factory=dict)  # split -> stem under cache/<name>/
    description: str = ""

    @property
    def splits(self) -> list[str]:
        return list(self.shipped) + list(self.downloaded)

    def path(self, split: str, lang: str) -> Path:
        """The file of one side of one split (which may not exist yet for downloaded splits)."""
        if lang not in self.langs:
            raise DataError(f"corpus '{self.name}' has languages {list(self.langs)}, not '{lang}'")
        if split in self.shipped:
            return shipped_data_dir() / self.name / f"{self.shipped[split]}.{lang}.gz"
        if split in self.downloaded:
            return cache_dir() / self.name / f"{self.downloaded[split]}.{lang}"
        raise DataError(f"corpus '{self.name}' has no split '{split}'; splits: {self.splits}")


CORPORA: dict[str, Corpus] = {
    c.name: c
    for c in [
        Corpus(
            "multi30k-en-de",
            ("en", "de"),
            {s: s for s in ["train", "val", "test_2016_flickr", "test_2017_flickr", "test_2017_mscoco"]},
            description="Multi30k task 1 (WMT16-18 MMT), text only; 29,000 train pairs; corrected German",
        ),
        Corpus(
            "tatoeba-en-fr",
            ("en", "fr"),
            {s: s for s in ["train", "dev", "test"]},
            description="Tatoeba/Anki En-Fr (167,130 pairs), seeded split by distinct English sentence",
        ),
        Corpus(
            "iwslt15-en-vi",
            ("en", "vi"),
            {"tst2012": "tst2012", "tst2013": "tst2013"},
            downloaded={"train": "train"},
            description="IWSLT'15 En-Vi (Stanford); train via `nmtprune data download iwslt15-en-vi`",
        ),
        Corpus(
            "wmt14-en-de",
            ("en", "de"),
            {"newstest2014": "newstest2014"},
            downloaded={"train": "train"},
            description="WMT'14 En-De (Stanford); train via `nmtprune data download wmt14-en-de`",
        ),
    ]
}


def get_corpus(name: str) -> Corpus:
    """A registered corpus, or a folder of your own holding ``<split>.<lang>[.gz]`` files."""
    if name in CORPORA:
        return CORPORA[name]
    folder = Path(name)
    if ("/" in name or name.startswith(".")) and folder.is_dir():
        return _folder_corpus(folder)
    raise DataError(
        f"unknown corpus '{name}'; known corpora: {sorted(CORPORA)} "
        "(or give a folder path holding <split>.<lang>[.gz] files)"
    )


@dataclass(frozen=True)
class _FolderCorpus(Corpus):
    folder: Path = Path(".")

    def path(self, split: str, lang: str) -> Path:
        if lang not in self.langs:
            raise DataError(f"corpus '{self.name}' has languages {list(self.langs)}, not '{lang}'")
        for cand in (self.folder / f"{split}.{lang}.gz", self.folder / f"{split}.{lang}"):
            if cand.is_file():
                return cand
        raise DataError(f"corpus folder {self.folder} has no split '{split}' for '{lang}'; splits: {self.splits}")


def _folder_corpus(folder: Path) -> Corpus:
    found: dict[str, set[str]] = {}
    for f in sorted(folder.iterdir()):
        parts = f.name.removesuffix(".gz").rsplit(".", 1)
        if f.is_file() and len(parts) == 2 and 2 <= len(parts[1]) <= 3:
            found.setdefault(parts[0], set()).add(parts[1])
    langs = sorted(set().union(*found.values())) if found else []
    if len(langs) != 2:
        raise DataError(f"{folder}: expected files <split>.<lang>[.gz] in exactly two languages, found {langs}")
    return _FolderCorpus(str(folder), (langs[0], langs[1]), {s: s for s in found}, folder=folder)


def read_lines(path: str | Path) -> list[str]:
    """Read a UTF-8 text file (optionally .gz), one sentence per line, without the newlines.

    Raises DataError naming the file when it is missing, empty, or not UTF-8 (with the line).
    """
    path = Path(path)
    if not path.is_file():
        hint = ""
        if path.parent.parent == cache_dir():
            hint = f"; fetch it with `nmtprune data download {path.parent.name}`"
        raise DataError(f"{path}: file not found{hint}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    if not raw.strip():
        raise DataError(f"{path}: file is empty; expected one sentence per line")
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for number, line in enumerate(lines, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}:{number}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
        out.append(text.rstrip("\r"))
    return out


def decode_utf8(data: bytes, where: str) -> str:
    """``data`` as text; DataError naming ``where``, the line and the byte when it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{where}:{line}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None


def read_parallel(src_path: str | Path, tgt_path: str | Path) -> tuple[list[str], list[str]]:
    """Read two line-aligned files; their line counts must match."""
    src, tgt = read_lines(src_path), read_lines(tgt_path)
    if len(src) != len(tgt):
        raise DataError(
            f"line counts differ: {src_path} has {len(src)} lines, "
            f"{tgt_path} has {len(tgt)}; parallel files must be line-aligned"
        )
    return src, tgt
