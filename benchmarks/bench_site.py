"""How fast and how light the built site's first view is in headless Chromium (targets: < 1 s, < 1 MB).

Serves a built site (``nmtprune site --out DIR``) over http://127.0.0.1 and, for a laptop and a
phone viewport, times in a fresh browser context each run:

* ``first_view_s``: from navigation to ``body[data-ready='1']`` (the model view drawn: export fetched,
  parsed and every tile rendered), measured in Python around ``page.goto`` + the wait;
* ``first_view_bytes``: the bytes of every response the page received up to that point (HTML, CSS,
  scripts, the core export and the chunks the first view fetched), read from the Resource Timing
  entries (``encodedBodySize``; the local server sends no compression, so it is the file size);
* ``export_fetch_parse_s`` (the baseline, same page, same run): fetching ``data/export.json`` and
  ``JSON.parse`` alone, inside the page (``performance.now()``), i.e. the part that grows with the
  core export's size; the rest of the first view is the site's own work and its chunks.

Each figure is the median of ``--repeats`` runs; the export's size on disk is recorded beside it.
Chromium is Debian's (``$NMTPRUNE_CHROMIUM``, default /usr/bin/chromium), driven by Playwright.

Usage (idle machine):
    nmtprune site --out /tmp/site-real --threads 1
    .venv/bin/python benchmarks/bench_site.py /tmp/site-real --repeats 5
Writes ``--out`` (default benchmarks/results/site.json).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shlex
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DEFAULT_OUT = REPO / "benchmarks" / "results" / "site.json"
CHROMIUM = os.environ.get("NMTPRUNE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {"laptop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}
TARGET_S = 1.0
TARGET_BYTES = 1_000_000

# every resource the page has loaded so far, and the document itself
LOADED_BYTES = """() => performance.getEntriesByType("resource").concat(performance.getEntriesByType("navigation"))
  .reduce((n, e) => n + (e.encodedBodySize || 0), 0)"""

FETCH_PARSE = """async () => {
  const t0 = performance.now();
  const r = await fetch("data/export.json", {cache: "no-store"});
  const d = JSON.parse(await r.text());
  return [(performance.now() - t0) / 1000, d.methods.length];
}"""


def serve(directory: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("site", type=Path, help="a built site folder (nmtprune site --out DIR)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    export = args.site / "data" / "export.json"
    if not export.is_file():
        ap.error(f"{export}: missing; build the site first (nmtprune site --out {args.site})")
    from playwright.sync_api import sync_playwright

    from decode_throughput import machine_info
    from nmtprune.provenance import git_state

    machine = machine_info()
    meta = json.loads(export.read_text(encoding="utf-8"))
    srv, url = serve(args.site)
    runs: dict = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, vp in VIEWPORTS.items():
                first, loaded, parse = [], [], []
                for _ in range(args.repeats):
                    ctx = browser.new_context(viewport=vp)
                    page = ctx.new_page()
                    t0 = time.perf_counter()
                    page.goto(url)
                    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
                    first.append(round(time.perf_counter() - t0, 4))
                    loaded.append(page.evaluate(LOADED_BYTES))
                    s, n_methods = page.evaluate(FETCH_PARSE)
                    parse.append(round(s, 4))
                    ctx.close()
                runs[name] = {
                    "first_view_s": first,
                    "median_first_view_s": round(statistics.median(first), 4),
                    "first_view_bytes": loaded,
                    "median_first_view_bytes": int(statistics.median(loaded)),
                    "export_fetch_parse_s": parse,
                    "median_export_fetch_parse_s": round(statistics.median(parse), 4),
                    "within_target": statistics.median(first) <= TARGET_S and statistics.median(loaded) <= TARGET_BYTES,
                }
            browser.close()
    finally:
        srv.shutdown()
    result = {
        "benchmark": "site",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "git": dict(zip(("commit", "dirty"), git_state())),
        "machine": machine,
        "settings": {
            "site": str(args.site),
            "repeats": args.repeats,
            "chromium": CHROMIUM,
            "target_s": TARGET_S,
            "target_bytes": TARGET_BYTES,
        },
        "export": {
            "bytes": export.stat().st_size,
            "all_data_bytes": sum(f.stat().st_size for f in (args.site / "data").rglob("*") if f.is_file()),
            "methods": len(meta["methods"]),
            "scores": len(meta["scores"]),
            "model": meta["model"]["dir"],
            "version": meta["version"],
        },
        "results": runs,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {
                k: {
                    m: v[m]
                    for m in (
                        "median_first_view_s",
                        "median_first_view_bytes",
                        "median_export_fetch_parse_s",
                        "within_target",
                    )
                }
                for k, v in runs.items()
            }
            | {"export_bytes": result["export"]["bytes"]}
        )
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
