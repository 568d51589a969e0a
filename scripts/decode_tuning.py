"""Choose decoding settings (beam size, length-normalisation exponent alpha) on the dev split only.

    python scripts/decode_tuning.py models/multi30k-en-de-bpe --beams 5 10 --alphas 0.6 0.8 1.0 1.2 \
        --test test_2016_flickr test_2017_flickr test_2017_mscoco --out results/tuning/multi30k_decode.json

Decodes ``--split`` (default val) with every (beam, alpha), picks the highest dev BLEU (ties: the
smaller beam, then alpha closer to 1), and only then decodes the test splits with the chosen setting
and with the default (beam 5, alpha 1.0) for comparison. Test scores never influence the choice.
Writes one JSON with every dev score, the choice, the test scores and this command's provenance.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from nmtprune.data.batching import load_split
from nmtprune.metrics.evaluate import evaluate_data
from nmtprune.provenance import provenance
from nmtprune.train.checkpoint import load_model, write_json_atomic

DEFAULT = (5, 1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--split", default="val")
    ap.add_argument("--beams", type=int, nargs="+", default=[5, 10])
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.6, 0.8, 1.0, 1.2])
    ap.add_argument("--test", nargs="*", default=[], help="splits to decode with the chosen setting")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, cfg, sv, tv = load_model(args.model)
    d = cfg.data

    def run(split: str, beam: int, alpha: float) -> dict:
        data = load_split(d.corpus, split, d.src_lang, d.tgt_lang, d.lowercase, sv, tv)
        with torch.no_grad():
            m, _ = evaluate_data(model, data, tv, d.tgt_lang, beam=beam, alpha=alpha, with_ppl=False)
        print(f"{split} beam {beam} alpha {alpha}: {m['bleu_tok_lc']}", file=sys.stderr, flush=True)
        return {"beam": beam, "alpha": alpha, "bleu_tok_lc": m["bleu_tok_lc"], "sacrebleu": m["sacrebleu"]}

    dev = [run(args.split, b, a) for b in args.beams for a in args.alphas]
    best = max(dev, key=lambda r: (r["bleu_tok_lc"], -r["beam"], -abs(r["alpha"] - 1.0)))
    chosen = (best["beam"], best["alpha"])
    test = {
        s: {"chosen": run(s, *chosen), "default": run(s, *DEFAULT) if chosen != DEFAULT else None} for s in args.test
    }
    write_json_atomic(
        args.out,
        {
            "model": str(args.model),
            "dev_split": args.split,
            "dev": dev,
            "chosen": {"beam": chosen[0], "alpha": chosen[1]},
            "default": list(DEFAULT),
            "test": test,
            "provenance": {**provenance(), "command": "python scripts/decode_tuning.py " + " ".join(sys.argv[1:])},
        },
    )
    print(json.dumps({"chosen": best, "test": {s: v["chosen"]["bleu_tok_lc"] for s, v in test.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
