"""``nmtprune data download CORPUS``: fetch the training sets that cannot be shipped, verified.

Each file is streamed into a temporary file inside the target folder while it is hashed, then its
size and every published checksum are checked, and only then is it moved into place with
``os.replace``. A failed, cut-off or corrupted download therefore never leaves a file under the name
the registry reads (``cache_dir()/<corpus>/<stem>.<lang>``), so a later run cannot train on it.

Files without a published checksum are not trusted silently: they are refused unless the user passes
``allow_unverified``, and then the computed sha256 is recorded in ``CHECKSUMS.unverified`` next to
them so that the accepted bytes can be recognised (and compared with others) later.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .corpora import CORPORA, DataError, get_corpus

__all__ = ["RemoteFile", "DOWNLOADS", "UNVERIFIED_LIST", "download_corpus"]

UNVERIFIED_LIST = "CHECKSUMS.unverified"
_CHUNK = 1 << 16
_STANFORD = "https://nlp.stanford.edu/projects/nmt/data"


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: which side of which split it is, where it lives, what it must hash to.

    ``checksums`` maps a hashlib algorithm name to the published hex digest; every entry is checked.
    An empty mapping means no checksum is known, and the file is then only accepted as unverified.
    """

    split: str
    lang: str
    url: str
    size: int | None = None
    checksums: dict[str, str] = field(default_factory=dict)


# One line per file. To verify a file whose checksum becomes known, fill in size/checksums here.
# Sizes and checksums as the corpora publish them (the sha1 values are GluonNLP's IWSLT2015 list).
DOWNLOADS: dict[str, list[RemoteFile]] = {
    "iwslt15-en-vi": [
        RemoteFile(
            "train",
            "en",
            f"{_STANFORD}/iwslt15.en-vi/train.en",
            13603614,
            {"sha1": "675d16d057f2b6268fb294124b1646d311477325"},
        ),
        RemoteFile(
            "train",
            "vi",
            f"{_STANFORD}/iwslt15.en-vi/train.vi",
            18074646,
            {
                "sha1": "bb6e21d4b02b286f2a570374b0bf22fb070589fd",
                "sha256": "707206edf2dc0280273952c7b70544ea8a1363aa69aaeb9d70514b888dc3067d",
            },
        ),
    ],
    # No published size or checksum is known for the Stanford WMT'14 files (see SOURCE.md).
    "wmt14-en-de": [
        RemoteFile("train", "en", f"{_STANFORD}/wmt14.en-de/train.en"),
        RemoteFile("train", "de", f"{_STANFORD}/wmt14.en-de/train.de"),
    ],
}


def download_corpus(
    name: str, base_url: str | None = None, force: bool = False, allow_unverified: bool = False, timeout: float = 60
) -> list[Path]:
    """Fetch and verify every downloadable file of corpus ``name``; return their paths.

    ``base_url`` replaces the folder part of each URL (a mirror holding the same file names).
    Files already present that verify are kept unless ``force``. Raises DataError on an unknown
    corpus, a network failure, a checksum mismatch, or a file without a known checksum when
    ``allow_unverified`` is false (checked before anything is fetched).
    """
    if name not in DOWNLOADS:
        what = "is shipped with the repository; nothing to download" if name in CORPORA else "is unknown"
        raise DataError(f"corpus '{name}' {what}; downloadable corpora: {sorted(DOWNLOADS)}")
    corpus = get_corpus(name)
    files = DOWNLOADS[name]
    unverified = [f for f in files if not f.checksums]
    if unverified and not allow_unverified:
        names = ", ".join(Path(f.url).name for f in unverified)
        raise DataError(
            f"no published checksum is known for {names} of '{name}', so a download cannot be "
            f"verified; pass --allow-unverified to accept the files anyway (their computed sha256 "
            f"is then recorded in {corpus.path(unverified[0].split, unverified[0].lang).parent / UNVERIFIED_LIST})"
        )
    paths = []
    for f in files:
        # The registry decides where a split is read from, so the destination comes from it too.
        dest = corpus.path(f.split, f.lang)
        dest.parent.mkdir(parents=True, exist_ok=True)
        url = f.url if base_url is None else base_url.rstrip("/") + "/" + f.url.rsplit("/", 1)[1]
        if not force and _present_and_valid(f, dest):
            how = "verified" if f.checksums else f"matches the sha256 accepted in {UNVERIFIED_LIST}"
            _say(f"{dest.name}: already present and {how}, skipped")
        else:
            digests = _fetch(url, f, dest, timeout)
            if not f.checksums:
                _record_unverified(dest, digests["sha256"])
                _say(
                    f"{dest.name}: NOT verified (no published checksum); sha256 {digests['sha256']} "
                    f"recorded in {dest.parent / UNVERIFIED_LIST}"
                )
        paths.append(dest)
    return paths


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _hash_file(path: Path, algorithms) -> dict[str, str]:
    hashes = {a: hashlib.new(a) for a in algorithms}
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            for h in hashes.values():
                h.update(chunk)
    return {a: h.hexdigest() for a, h in hashes.items()}


def _present_and_valid(f: RemoteFile, dest: Path) -> bool:
    """Whether ``dest`` already holds the right bytes, so fetching it again is pointless."""
    if not dest.is_file() or (f.size is not None and dest.stat().st_size != f.size):
        return False
    if f.checksums:
        return _hash_file(dest, f.checksums) == {a: v.lower() for a, v in f.checksums.items()}
    # Unverified files: only the bytes the user accepted before (recorded sha256) count as present.
    return _read_unverified(dest.parent).get(dest.name) == _hash_file(dest, ["sha256"])["sha256"]


def _fetch(url: str, f: RemoteFile, dest: Path, timeout: float) -> dict[str, str]:
    """Download ``url`` to ``dest`` via a temp file, verify it, move it into place; return digests."""
    algorithms = set(f.checksums) | {"sha256"}  # sha256 always: it is what gets recorded if unverified
    hashes = {a: hashlib.new(a) for a in algorithms}
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            size = _stream(url, out, hashes, dest.name, f.size, timeout)
        digests = {a: h.hexdigest() for a, h in hashes.items()}
        problems = []
        if f.size is not None and size != f.size:
            problems.append(f"size {size} bytes (expected {f.size})")
        for alg, expected in f.checksums.items():
            if digests[alg] != expected.lower():
                problems.append(f"{alg} {digests[alg]} (expected {expected.lower()})")
        if problems:
            raise DataError(
                f"{dest.name} downloaded from {url} failed verification: {'; '.join(problems)}; "
                "the download was discarded (a corrupted or different file; try again or another mirror)"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes files private; a corpus is ordinary readable data
        os.replace(tmp, dest)  # atomic within one folder: dest is either absent/old or complete
        return digests
    finally:
        # Reached with the temp file still there only on failure (incl. Ctrl-C): leave nothing partial.
        tmp.unlink(missing_ok=True)


def _stream(url, out, hashes, label, expected_size, timeout) -> int:
    """Copy the body of ``url`` into ``out``, hashing as it goes and showing progress; return bytes."""
    done = 0
    start = shown = time.monotonic()  # first progress line after 0.5 s: small files get just one
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "nmtprune-download"})
    except ValueError as exc:  # e.g. a --base-url without a scheme
        raise DataError(f"cannot download {url}: {exc} (URLs need http://, https:// or file://)") from exc
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            announced = int(resp.headers.get("Content-Length") or 0) or None
            total = expected_size or announced
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)  # disk errors (OSError) propagate as themselves, not as network errors
                for h in hashes.values():
                    h.update(chunk)
                done += len(chunk)
                now = time.monotonic()
                if now - shown >= 0.5:  # throttled: a line per chunk would flood a terminal or a log
                    shown = now
                    _progress(label, done, total, now - start, final=False)
        # http.client returns a short body without complaint when the connection drops; without a
        # published size this check is the only thing that catches a truncated file.
        if announced is not None and done != announced:
            raise ConnectionError(f"connection closed after {done} of {announced} bytes")
    except urllib.error.HTTPError as exc:
        raise DataError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        raise DataError(
            f"download of {url} failed: {reason}; this machine may have no network access "
            "(fetch the file elsewhere and pass --base-url pointing at a copy, e.g. "
            "file:// or a local HTTP server)"
        ) from exc
    _progress(label, done, total, time.monotonic() - start, final=True)
    return done


def _progress(label, done, total, elapsed, final) -> None:
    rate = done / 1e6 / elapsed if elapsed > 0 else 0.0
    of = f" of {total / 1e6:.1f}" if total else ""
    end = "\n" if final else ""
    sys.stderr.write(f"\r{label}: {done / 1e6:.1f}{of} MB, {rate:.1f} MB/s{end}")
    sys.stderr.flush()


def _read_unverified(folder: Path) -> dict[str, str]:
    """file name -> recorded sha256 from ``folder/CHECKSUMS.unverified`` (sha256sum format)."""
    path = folder / UNVERIFIED_LIST
    if not path.is_file():
        return {}
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, fname = line.partition("  ")
        if fname:
            entries[fname] = digest
    return entries


def _record_unverified(dest: Path, sha256: str) -> None:
    """Add or replace the entry of ``dest`` in CHECKSUMS.unverified, written atomically.

    The format is that of ``sha256sum`` so ``sha256sum -c CHECKSUMS.unverified`` re-checks the files.
    """
    entries = _read_unverified(dest.parent)
    entries[dest.name] = sha256
    tmp = dest.parent / (UNVERIFIED_LIST + ".tmp")
    tmp.write_text("".join(f"{d}  {n}\n" for n, d in sorted(entries.items())), encoding="utf-8")
    os.replace(tmp, dest.parent / UNVERIFIED_LIST)
