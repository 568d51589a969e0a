"""Which gates' weights does each unit criterion remove? (the "which gates lose units" question)

A hidden unit owns one row in each of its LSTM layer's four gate blocks (i, f, g, o of W_ih and
W_hh), and removing the unit removes all four, so under unit pruning every gate of a layer loses the
same units. What differs between criteria is *which* units they pick. This script takes each unit
score's per-layer mask of the study's ``unit-eval`` cells at ``--fraction`` (the same scores, scoring
batches, seed and selection as those cells) and, for every LSTM layer and gate, compares the removed
units' incoming weights with the kept units':

    ratio[layer][gate] = mean over removed units of ||[W_ih; W_hh] row||_2
                         / mean over kept units of the same,

so a ratio well below 1 in one gate means the criterion removes units whose weights in that gate are
small (L1 ranks by all four gates' rows together, so its ratios are all below 1; a data-driven score
may ignore the weights entirely: ratios near 1).

    python scripts/unit_gates.py studies/units.yaml --threads 1

Writes ``results/ablations/<study>_gates.json`` atomically; the units report reads it. Reads only the
model, the training batches the scores use and the study file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from nmtprune.experiments import load_study, plan
from nmtprune.experiments.context import Context
from nmtprune.experiments.unit_cells import _mask
from nmtprune.provenance import provenance
from nmtprune.train.checkpoint import write_json_atomic

GATES = ("i", "f", "g", "o")  # PyTorch's row order of the four gate blocks


def lstm_members(model) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{member: (W_ih (4n, in), W_hh (4n, n))}`` for every LSTM layer (src_layerK, tgt_layerK)."""
    out = {}
    for side, rnn in (("src", model.encoder), ("tgt", model.decoder)):
        for k in range(rnn.num_layers):
            out[f"{side}_layer{k + 1}"] = (getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}"))
    return out


def gate_ratios(w_ih: torch.Tensor, w_hh: torch.Tensor, keep: torch.Tensor) -> dict[str, float]:
    """Per gate: mean incoming-row L2 norm of the removed units over that of the kept units.

    Args:
        w_ih: (4n, in), w_hh: (4n, n); keep: bool (n,), at least one unit removed and one kept.
    """
    n = keep.numel()
    rows = torch.cat([w_ih, w_hh], dim=1).detach().float().reshape(4, n, -1).norm(dim=2)  # (4, n)
    return {g: float(rows[i][~keep].mean() / rows[i][keep].mean()) for i, g in enumerate(GATES)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("study", type=Path)
    ap.add_argument("--fraction", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="default: results/ablations/<study>_gates.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    study = load_study(args.study)
    out = args.out or Path("results/ablations") / f"{study.name}_gates.json"
    cells = [
        c
        for c in plan(study)
        if c.kind == "unit-eval"
        and c.params.get("scope") == "per-layer"
        and c.params.get("fraction") == args.fraction
        and not c.params.get("ratios")
    ]
    first = {}
    for c in sorted(cells, key=lambda c: c.params["seed"]):  # one mask per score: its first seed's
        first.setdefault(c.params["score"], c)
    if not first:
        raise SystemExit(f"{args.study}: no per-layer unit-eval cells at fraction {args.fraction}")
    ctx = Context(study, work_dir=Path("runs/sweeps") / study.name)
    t0, rows = time.perf_counter(), {}
    for score, cell in first.items():
        mask = _mask(ctx, cell.params)
        members = lstm_members(ctx.dense())
        ratios = {}
        for group, keep in mask.keep.items():
            for member in group.split("+"):
                if member in members and 0 < int(keep.sum()) < keep.numel():
                    ratios[member] = {g: round(v, 4) for g, v in gate_ratios(*members[member], keep).items()}
        rows[score] = {"cell": cell.id, "seed": cell.params["seed"], "ratios": ratios}
        mean = {g: sum(r[g] for r in ratios.values()) / len(ratios) for g in GATES}
        print(f"{score}: " + " ".join(f"{g} {v:.2f}" for g, v in mean.items()), file=sys.stderr, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        out,
        {
            **provenance(),
            "command": "python scripts/unit_gates.py " + " ".join(sys.argv[1:]),
            "study": study.name,
            "model_hash": cells[0].params["model_hash"],
            "fraction": args.fraction,
            "scope": "per-layer",
            "gates": list(GATES),
            "threads": args.threads,
            "seconds": round(time.perf_counter() - t0, 1),
            "scores": rows,
        },
    )
    print(str(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
