"""SNIP's batch-count ablation, mask side: how much does the at-initialisation mask depend on the data?

Lee et al. (2019) vary the number of examples the connection sensitivity is computed on (|D| = 1 ...
10,000) and report the error after training. The training half of that ablation is the sweep's
sparse-from-scratch cells (``scratch_scores``: snip-init, snip-init-b10, snip-init-b1 in
studies/saliency.yaml). This script measures the other half, without training: on one
variance-scaling initialisation (``--init-seed``), the ``snip-init`` scores from the first 1, 10 and
100 scoring batches (64 sentences each, nested: the 10 batches contain the 1), class-blind masks at
each sparsity, and

* ``overlap_with_full``: |kept(n) ∩ kept(N)| / |kept(N)|, N the largest count; chance level (two
  independent masks of the same size) is the kept fraction 1 - sparsity; ``..._no_emb``: the same
  over the LSTM, attention and softmax classes only (chance: the full mask's kept share there),
  because embedding rows absent from the batches are ranked by the fill policy, the same in every
  variant;
* ``class_kept``: the share of each weight class kept;
* for single batches drawn with other seeds (``--draws``): their overlap with each other and with
  the full mask, i.e. how much one batch's choice is the batch rather than the data;
* ``absent_rows``: embedding rows whose token is in none of the batches (their scores are filled by
  the score's absent-row policy, |w| by default, so they are ranked by magnitude, not by SNIP).

    python scripts/snip_batch_ablation.py --threads 1 --out results/ablations/snip_batches.json

Only reads the model and the training data; writes only ``--out`` (atomically). The methods report
(``nmtprune report studies/saliency.yaml``) reads it.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import torch

from nmtprune.models.weight_classes import weight_classes
from nmtprune.prune.scores import absent_row_counts, get_score, load_scoring_batches
from nmtprune.prune.select import select
from nmtprune.provenance import provenance
from nmtprune.train.checkpoint import load_model, write_json_atomic


def kept_vector(masks, classes) -> torch.Tensor:
    """All kept-flags of the pruned classes as one flat bool vector (class order, then parameter order)."""
    return torch.cat([masks[p].reshape(-1) for c in classes for p in c.params])


def overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    """|a ∩ b| / |b| for two flat bool kept-vectors of the same size."""
    return float((a & b).sum()) / max(1, int(b.sum()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/multi30k-en-de")
    ap.add_argument("--counts", type=int, nargs="+", default=[1, 10, 100], help="numbers of scoring batches")
    ap.add_argument("--sparsities", type=float, nargs="+", default=[0.8, 0.9, 0.95])
    ap.add_argument("--draws", type=int, default=3, help="single batches drawn with seeds 1..K")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--init-seed", type=int, default=1, help="seed of the variance-scaling initialisation")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("results/ablations/snip_batches.json"))
    args = ap.parse_args()
    if sorted(set(args.counts)) != args.counts or args.counts[0] < 1:
        raise SystemExit(f"--counts: increasing positive batch counts expected, got {args.counts}")
    if any(not 0.0 < s < 1.0 for s in args.sparsities):
        raise SystemExit(f"--sparsities: fractions in (0, 1) expected, got {args.sparsities}")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model, cfg, sv, tv = load_model(args.model)
    classes = weight_classes(model)
    score = get_score("snip-init")
    batches = load_scoring_batches(cfg, sv, tv, args.counts[-1], args.batch_size, seed=0)
    scores = {}
    for n in args.counts:  # nested prefixes of one draw: only the amount of data differs
        scores[f"b{n}"] = score(model, batches=batches[:n], seed=args.init_seed)
        print(f"snip-init on {n} batch(es) scored", file=sys.stderr, flush=True)
    absent = {f"b{n}": absent_row_counts(model, batches[:n]) for n in args.counts}
    for k in range(1, args.draws + 1):  # other single batches: the same initialisation, other sentences
        one = load_scoring_batches(cfg, sv, tv, 1, args.batch_size, seed=k)
        scores[f"b1_draw{k}"] = score(model, batches=one, seed=args.init_seed)
        absent[f"b1_draw{k}"] = absent_row_counts(model, one)
    full = f"b{args.counts[-1]}"
    rows = {}
    for s in args.sparsities:
        masks = {name: select(sc, model, s, "class-blind") for name, sc in scores.items()}
        kept = {name: kept_vector(m, classes) for name, m in masks.items()}
        # embedding rows absent from the batches are ranked by the fill policy (|w| of the one shared
        # initialisation), identical across draws: the overlap without the embeddings isolates SNIP itself
        inner = [c for c in classes if not c.name.endswith("_emb")]
        kept_inner = {name: kept_vector(m, inner) for name, m in masks.items()}
        draws = [n for n in kept if n.startswith("b1_draw")]
        rows[f"{s:g}"] = {
            "chance_overlap": round(1.0 - s, 4),
            "overlap_with_full": {n: round(overlap(v, kept[full]), 4) for n, v in kept.items() if n != full},
            "draw_pairs_overlap": {
                f"{a}~{b}": round(overlap(kept[a], kept[b]), 4) for a, b in itertools.combinations(draws, 2)
            },
            "chance_overlap_no_emb": {n: round(float(v.float().mean()), 4) for n, v in kept_inner.items()},
            "overlap_with_full_no_emb": {
                n: round(overlap(v, kept_inner[full]), 4) for n, v in kept_inner.items() if n != full
            },
            "draw_pairs_overlap_no_emb": {
                f"{a}~{b}": round(overlap(kept_inner[a], kept_inner[b]), 4) for a, b in itertools.combinations(draws, 2)
            },
            "class_kept": {
                n: {c.name: round(float(sum(m[p].sum() for p in c.params)) / c.numel(model), 4) for c in classes}
                for n, m in masks.items()
            },
        }
        print(
            f"{100 * s:g} %: overlap with {full}: {rows[f'{s:g}']['overlap_with_full']} (chance {1 - s:.2f})",
            file=sys.stderr,
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        args.out,
        {
            **provenance(),
            "command": "python scripts/snip_batch_ablation.py " + " ".join(sys.argv[1:]),
            "model": str(args.model),
            "score": "snip-init",
            "selection": "class-blind",
            "counts": args.counts,
            "batch_size": args.batch_size,
            "init_seed": args.init_seed,
            "batch_seed": 0,
            "draw_seeds": list(range(1, args.draws + 1)),
            "threads": args.threads,
            "seconds": round(time.perf_counter() - t0, 1),
            "pruned_weights": sum(c.numel(model) for c in classes),
            "class_weights": {c.name: c.numel(model) for c in classes},
            "absent_rows": absent,
            "embedding_rows": {n: int(t.shape[0]) for n, t in model.named_parameters() if n.endswith("_emb.weight")},
            "sparsities": rows,
        },
    )
    print(str(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
