"""``nmtprune data list | download | make-tatoeba-split``: the corpus commands (registered by nmtprune/cli.py)."""

from __future__ import annotations

import json

__all__ = ["add_cli"]


def _cmd_data(args) -> int:
    from .corpora import CORPORA

    if args.data_cmd == "list":
        for c in CORPORA.values():
            print(f"{c.name:16s} {'/'.join(c.langs):6s} splits: {', '.join(c.splits)}\n{'':16s} {c.description}")
        return 0
    if args.data_cmd == "make-tatoeba-split":
        from .tatoeba import write_tatoeba_split

        print(json.dumps(write_tatoeba_split(args.source, args.out, seed=args.seed)))
        return 0
    if args.data_cmd == "download":
        from .download import download_corpus

        download_corpus(args.corpus, base_url=args.base_url, force=args.force, allow_unverified=args.allow_unverified)
        return 0
    return 2


def add_cli(sub) -> None:
    d = sub.add_parser("data", help="corpora: list, download, make-tatoeba-split")
    dsub = d.add_subparsers(dest="data_cmd", required=True)
    dsub.add_parser("list")
    dl = dsub.add_parser("download", help="fetch a training set that is not shipped, verifying checksums")
    dl.add_argument("corpus")
    dl.add_argument("--base-url", help="mirror to fetch from instead of the official address")
    dl.add_argument("--force", action="store_true", help="fetch again even if verified files exist")
    dl.add_argument(
        "--allow-unverified",
        action="store_true",
        help="accept files with no published checksum; their sha256 is recorded in CHECKSUMS.unverified next to them",
    )
    ts = dsub.add_parser("make-tatoeba-split", help="rebuild data/tatoeba-en-fr from fra.txt(.gz)")
    ts.add_argument("source")
    ts.add_argument("--out", default="data/tatoeba-en-fr")
    ts.add_argument("--seed", type=int, default=20161)
    d.set_defaults(func=_cmd_data)
