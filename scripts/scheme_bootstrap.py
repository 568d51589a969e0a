"""Are the gaps between See et al.'s three selection schemes more than test-set noise?

See et al.'s Fig 3 claims class-blind ≥ class-uniform and ≥ class-distribution at every sparsity.
Where our curves cross, the gap is often a tenth of a BLEU point at low sparsity. This script
re-decodes the study's magnitude prune-eval cells (the same masks, beam and test split; it checks
that each re-decoded BLEU equals the stored cell's) and runs a paired bootstrap of the test sentences
(:func:`nmtprune.metrics.paired_bootstrap`) for class-blind − class-uniform and class-blind −
class-distribution at every sparsity from ``--min-sparsity`` up.

    python scripts/scheme_bootstrap.py studies/see2016.yaml --threads 1
    python scripts/scheme_bootstrap.py studies/see2016_tatoeba.yaml --threads 1

Writes ``results/ablations/<study>_schemes.json`` (atomically, after each sparsity; a rerun with the
same settings skips the sparsities already there). The study's report reads it. Reads only the model,
the test split and the study's stored results.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from nmtprune.experiments.context import Context
from nmtprune.experiments.defaults import DEFAULT_RESULTS
from nmtprune.metrics import paired_bootstrap, sentence_stats, tok_lc_texts, translate_data
from nmtprune.metrics.bootstrap import corpus_bleu_from_stats
from nmtprune.provenance import provenance
from nmtprune.report.collect import collect
from nmtprune.train.checkpoint import write_json_atomic

SCHEMES = ("class-blind", "class-uniform", "class-distribution")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("study", type=Path)
    ap.add_argument("--min-sparsity", type=float, default=0.2)
    ap.add_argument("--samples", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--seed", type=int, default=1, help="seed of the resampling")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--results", type=Path, default=Path(DEFAULT_RESULTS), help="the studies' results folder")
    ap.add_argument("--out", type=Path, default=None, help="default: RESULTS/ablations/<study>_schemes.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    c = collect(args.study, args.results)
    st = c.study
    out = args.out or args.results / "ablations" / f"{st.name}_schemes.json"
    curves = c.prune_curves()
    sparsities = sorted(
        s
        for s in curves.get(("magnitude", "class-blind"), {})
        if s >= args.min_sparsity - 1e-9 and all(s in curves.get(("magnitude", x), {}) for x in SCHEMES)
    )
    if not sparsities:
        raise SystemExit(
            f"{args.study}: no sparsity >= {args.min_sparsity} has stored magnitude prune-eval "
            f"results for all of {list(SCHEMES)}; run 'nmtprune sweep {args.study} --only prune-eval'"
        )
    settings = {
        "study": st.name,
        "model_hash": c.cells[0].params["model_hash"],
        "split": st.split,
        "beam": st.beam,
        "max_sentences": st.max_sentences,
        "samples": args.samples,
        "seed": args.seed,
    }
    rows: dict = {}
    if out.is_file():
        old = json.loads(out.read_text(encoding="utf-8"))
        if all(old.get(k) == v for k, v in settings.items()):
            rows = old.get("sparsities", {})
    ctx = Context(st, work_dir=Path("runs/sweeps") / st.name)  # only decodes: nothing is written there
    data = ctx.data(st.split)
    t0 = time.perf_counter()
    for s in sparsities:
        if f"{s:g}" in rows:
            continue
        stats, bleu = {}, {}
        for scheme in SCHEMES:
            model, _ = ctx.pruned("magnitude", scheme, s, 0)
            hyps, refs = tok_lc_texts(
                translate_data(model, data, ctx.tgt_vocab, beam=st.beam, batch_size=st.batch_size),
                data.raw_tgt,
                ctx.cfg.data.tgt_lang,
            )
            stats[scheme] = sentence_stats(hyps, refs)
            stored = curves[("magnitude", scheme)][s][0]["bleu_tok_lc"]
            bleu[scheme] = again = round(corpus_bleu_from_stats(stats[scheme]), 2)
            if abs(again - stored) > 0.011:  # the test is about the stored numbers: the decode must reproduce them
                raise SystemExit(
                    f"{args.study}: magnitude {scheme} at {100 * s:g} % decodes to BLEU {again}, but "
                    f"the stored prune-eval cell has {stored}; rerun that cell before testing it"
                )
        rows[f"{s:g}"] = {
            "bleu": bleu,
            **{
                f"class-blind-vs-{x.removeprefix('class-')}": {
                    k: (round(v, 3) if isinstance(v, float) else v)
                    for k, v in paired_bootstrap(stats["class-blind"], stats[x], args.samples, args.seed).items()
                }
                for x in SCHEMES[1:]
            },
        }
        r = rows[f"{s:g}"]
        print(
            f"{100 * s:g} %: blind − uniform {r['class-blind-vs-uniform']['delta']:+.2f} "
            f"[{r['class-blind-vs-uniform']['low']:+.2f}, {r['class-blind-vs-uniform']['high']:+.2f}], "
            f"blind − distribution {r['class-blind-vs-distribution']['delta']:+.2f} "
            f"[{r['class-blind-vs-distribution']['low']:+.2f}, {r['class-blind-vs-distribution']['high']:+.2f}]",
            file=sys.stderr,
            flush=True,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            out,
            {
                **provenance(),
                "command": "python scripts/scheme_bootstrap.py " + " ".join(sys.argv[1:]),
                **settings,
                "score": "magnitude",
                "threads": args.threads,
                "seconds_this_run": round(time.perf_counter() - t0, 1),
                "sparsities": dict(sorted(rows.items(), key=lambda kv: float(kv[0]))),
            },
        )
    print(str(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
