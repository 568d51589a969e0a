"""``nmtprune data download``: real HTTP against a local server on 127.0.0.1, fixtures made here."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nmtprune.data import download as dl
from nmtprune.data.corpora import DataError, get_corpus, read_parallel
from nmtprune.data.download import RemoteFile, download_corpus

REPO = Path(__file__).resolve().parents[1]
EN = "I have a dream .\nThank you so much , Chris .\n".encode()
VI = "Tôi có một giấc mơ .\nCảm ơn rất nhiều , Chris .\n".encode()
DE = "Ich habe einen Traum .\nVielen Dank , Chris .\n".encode()


def _sha(data: bytes, alg: str = "sha256") -> str:
    return hashlib.new(alg, data).hexdigest()


class Server:
    """A ThreadingHTTPServer serving a temp folder; counts GET requests per path."""

    def __init__(self, root: Path):
        self.root, self.requests = root, []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):  # keep test output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, name: str, data: bytes) -> None:
        (self.root / name).write_bytes(data)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    srv = Server(root)
    yield srv
    srv.stop()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("NMTPRUNE_CACHE_DIR", str(folder))
    # A proxy from the environment must not intercept requests to the local server.
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return folder


def _table(monkeypatch, name, files: dict[str, bytes], checked=True):
    """Replace the download table of ``name`` by fixtures with checksums computed from their bytes."""
    entries = [
        RemoteFile(
            "train",
            lang,
            f"https://nlp.example.invalid/some/dir/train.{lang}",
            len(data) if checked else None,
            {"sha1": _sha(data, "sha1"), "sha256": _sha(data)} if checked else {},
        )
        for lang, data in files.items()
    ]
    monkeypatch.setitem(dl.DOWNLOADS, name, entries)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_lands_verified_files_readable_via_registry(server, cache, monkeypatch):
    _table(monkeypatch, "iwslt15-en-vi", {"en": EN, "vi": VI})
    server.serve("train.en", EN)
    server.serve("train.vi", VI)
    paths = download_corpus("iwslt15-en-vi", base_url=server.url, timeout=5)
    corpus = get_corpus("iwslt15-en-vi")
    assert paths == [corpus.path("train", "en"), corpus.path("train", "vi")]
    assert [p.read_bytes() for p in paths] == [EN, VI]
    src, tgt = read_parallel(corpus.path("train", "en"), corpus.path("train", "vi"))
    assert src[1] == "Thank you so much , Chris ." and tgt[0] == "Tôi có một giấc mơ ."
    # Only the two files: no temp files, no unverified list for checksummed files.
    assert _leftovers(cache / "iwslt15-en-vi") == ["train.en", "train.vi"]
    assert sorted(server.requests) == ["/train.en", "/train.vi"]


def test_checksum_mismatch_discards_download_and_names_both_checksums(server, cache, monkeypatch):
    _table(monkeypatch, "iwslt15-en-vi", {"en": EN, "vi": VI})
    wrong = EN.replace(b"dream", b"DREAM")  # same size: only the checksums can tell
    server.serve("train.en", wrong)
    server.serve("train.vi", VI)
    with pytest.raises(DataError) as err:
        download_corpus("iwslt15-en-vi", base_url=server.url, timeout=5)
    msg = str(err.value)
    assert "train.en" in msg
    assert _sha(EN, "sha1") in msg and _sha(wrong, "sha1") in msg
    assert _sha(EN) in msg and _sha(wrong) in msg
    assert _leftovers(cache / "iwslt15-en-vi") == []  # neither the final file nor a .part


def test_truncated_download_fails_on_size(server, cache, monkeypatch):
    _table(monkeypatch, "iwslt15-en-vi", {"en": EN, "vi": VI})
    server.serve("train.en", EN[:10])
    with pytest.raises(DataError, match=rf"train\.en.*size 10 bytes \(expected {len(EN)}\)"):
        download_corpus("iwslt15-en-vi", base_url=server.url, timeout=5)
    assert _leftovers(cache / "iwslt15-en-vi") == []


def test_refused_connection_is_a_clear_error(cache):
    with socket.socket() as s:  # a port nobody listens on once this socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(DataError) as err:
        download_corpus("iwslt15-en-vi", base_url=url, timeout=5)
    msg = str(err.value)
    assert f"{url}train.en" in msg and "refused" in msg.lower() and "no network access" in msg
    assert _leftovers(cache / "iwslt15-en-vi") == []


def test_http_error_and_timeout_are_clear_errors(server, cache, monkeypatch):
    _table(monkeypatch, "iwslt15-en-vi", {"en": EN, "vi": VI})
    with pytest.raises(DataError, match=r"train\.en failed: HTTP 404"):
        download_corpus("iwslt15-en-vi", base_url=server.url, timeout=5)
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(DataError, match="timed out.*no network access"):
            download_corpus("iwslt15-en-vi", base_url=url, timeout=0.5)
    assert _leftovers(cache / "iwslt15-en-vi") == []


def test_missing_checksum_refused_unless_allowed_then_recorded(server, cache, monkeypatch):
    _table(monkeypatch, "wmt14-en-de", {"en": EN, "de": DE}, checked=False)
    server.serve("train.en", EN)
    server.serve("train.de", DE)
    with pytest.raises(DataError, match="no published checksum.*--allow-unverified"):
        download_corpus("wmt14-en-de", base_url=server.url, timeout=5)
    assert server.requests == [] and _leftovers(cache / "wmt14-en-de") == []

    download_corpus("wmt14-en-de", base_url=server.url, allow_unverified=True, timeout=5)
    folder = cache / "wmt14-en-de"
    assert _leftovers(folder) == ["CHECKSUMS.unverified", "train.de", "train.en"]
    lines = (folder / "CHECKSUMS.unverified").read_text().splitlines()
    assert lines == [f"{_sha(DE)}  train.de", f"{_sha(EN)}  train.en"]  # sha256sum -c format
    corpus = get_corpus("wmt14-en-de")
    assert read_parallel(corpus.path("train", "en"), corpus.path("train", "de"))[1][1] == "Vielen Dank , Chris ."

    # The accepted bytes are recognised later; still refused without the flag.
    download_corpus("wmt14-en-de", base_url=server.url, allow_unverified=True, timeout=5)
    assert len(server.requests) == 2
    with pytest.raises(DataError, match="--allow-unverified"):
        download_corpus("wmt14-en-de", base_url=server.url, timeout=5)


def test_real_wmt14_table_has_no_checksum_and_is_refused(cache):
    assert all(not f.checksums for f in dl.DOWNLOADS["wmt14-en-de"])
    with pytest.raises(DataError, match="no published checksum"):
        download_corpus("wmt14-en-de", base_url="http://127.0.0.1:9/", timeout=1)


def test_verified_files_are_not_fetched_again(server, cache, monkeypatch):
    _table(monkeypatch, "iwslt15-en-vi", {"en": EN, "vi": VI})
    server.serve("train.en", EN)
    server.serve("train.vi", VI)
    download_corpus("iwslt15-en-vi", base_url=server.url, timeout=5)
    assert len(server.requests) == 2
    download_corpus("iwslt15-en-vi", base_url=server.url, timeout=5)
    assert len(server.requests) == 2
    # A damaged local copy is fetched again, and only that one.
    path = get_corpus("iwslt15-en-vi").path("train", "vi")
    path.write_bytes(VI.replace("Tôi".encode(), "Toi".encode()))
    download_corpus("iwslt15-en-vi", base_url=server.url, timeout=5)
    assert server.requests[2:] == ["/train.vi"] and path.read_bytes() == VI
    download_corpus("iwslt15-en-vi", base_url=server.url, force=True, timeout=5)
    assert len(server.requests) == 5


def test_corpora_without_downloads_are_rejected(cache):
    with pytest.raises(DataError, match=r"'multi30k-en-de' is shipped.*iwslt15-en-vi.*wmt14-en-de"):
        download_corpus("multi30k-en-de")
    with pytest.raises(DataError, match=r"'nope' is unknown.*iwslt15-en-vi"):
        download_corpus("nope")


def test_cli_checksum_mismatch_exits_1_with_one_line_error(server, tmp_path):
    # The real table: the served bytes cannot match the published Stanford sizes/checksums.
    server.serve("train.en", EN)
    server.serve("train.vi", VI)
    env = {
        **os.environ,
        "NMTPRUNE_CACHE_DIR": str(tmp_path / "cache"),
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "nmtprune", "data", "download", "iwslt15-en-vi", "--base-url", server.url],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert "train.en" in errors[0] and "675d16d057f2b6268fb294124b1646d311477325" in errors[0]
    assert _sha(EN, "sha1") in errors[0]
    assert _leftovers(tmp_path / "cache" / "iwslt15-en-vi") == []
