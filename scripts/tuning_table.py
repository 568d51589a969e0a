"""Compare reference-model candidates by dev BLEU (vocabulary and size picked by dev BLEU).

    python scripts/tuning_table.py runs/tune/bpe8k_2x256 runs/tune/word_2x256 ... \
        --reference models/multi30k-en-de --out results/tuning/multi30k.json

Evaluates each run's ``best/`` checkpoint (chosen during training by greedy dev BLEU) on the dev split
with beam 5, and writes one JSON with every candidate's config, training summary and dev scores, plus
this command's provenance. Only reads the runs; writes only ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from nmtprune.config import config_to_dict
from nmtprune.data.batching import load_split
from nmtprune.metrics.evaluate import evaluate_data
from nmtprune.provenance import provenance
from nmtprune.train.checkpoint import load_model, write_json_atomic


def evaluate(ckpt: Path, split: str, beam: int) -> tuple[dict, dict]:
    model, cfg, sv, tv = load_model(ckpt)
    model.eval()
    d = cfg.data
    data = load_split(d.corpus, split, d.src_lang, d.tgt_lang, d.lowercase, sv, tv)
    with torch.no_grad():
        metrics, _ = evaluate_data(model, data, tv, d.tgt_lang, beam=beam)
    return metrics, config_to_dict(cfg)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="training run folders (each with best/ and summary.json)")
    ap.add_argument("--reference", type=Path, help="a packaged model to list beside them")
    ap.add_argument("--split", default="val")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for run in args.runs:
        metrics, cfg = evaluate(run / "best", args.split, args.beam)
        summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        origin = json.loads((run / "run.json").read_text(encoding="utf-8")) if (run / "run.json").is_file() else {}
        rows.append(
            {
                "run": str(run),
                "train_command": origin.get("command"),
                "train_commit": origin.get("commit"),
                "config": cfg,
                "train_summary": summary,
                "dev": metrics,
            }
        )
        print(f"{run}: {args.split} BLEU {metrics['bleu_tok_lc']:.2f} (beam {args.beam})", flush=True)
    if args.reference:
        metrics, cfg = evaluate(args.reference, args.split, args.beam)
        rows.append({"run": str(args.reference), "reference": True, "config": cfg, "dev": metrics})
        print(f"{args.reference}: {args.split} BLEU {metrics['bleu_tok_lc']:.2f}", flush=True)
    best = max((r for r in rows if not r.get("reference")), key=lambda r: r["dev"]["bleu_tok_lc"])
    write_json_atomic(
        args.out,
        {
            "split": args.split,
            "beam": args.beam,
            "selected": best["run"],
            "rule": f"highest {args.split} BLEU (tok-lc, beam {args.beam})",
            "candidates": rows,
            "provenance": provenance(["(scripts/tuning_table.py)", *sys.argv[1:]]),
        },
    )
    print(f"selected: {best['run']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
