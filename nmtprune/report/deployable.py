"""The README's "Deployable" table: what a user can ship today, read from ``benchmarks/deployable.py``'s result.

One row per variant of the committed model (dense, int8, pruned and compressed, unit-pruned and shrunk) and
of the models a deploy study retrained (``retrained`` in the variant's name):
the file shipped, how many times smaller than the fp32 dense safetensors, beam-5 sentences/s and greedy
latency against dense fp32 measured in the same run, BLEU, and where the variant stands against the
targets. Every number is the benchmark file's; nothing is measured here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .sections import f, table

__all__ = ["DEFAULT_DEPLOYABLE", "SECTION", "deployable_table"]

DEFAULT_DEPLOYABLE = Path("benchmarks/results/deployable.json")
SECTION = "BENCHMARKS.md#deployable-variants-size-speed-and-bleu"  # where the run's machine and command are
HEADER = [
    "variant",
    "shipped",
    "file size",
    "× smaller",
    "sentences/s (beam 5)",
    "× faster",
    "greedy ms/sentence",
    "× lower",
    "BLEU",
    "status",
]


def _targets(res: dict) -> str:
    t = res["targets"]
    return (
        f"file ≥ {t['smaller']:g}× smaller than fp32 dense, or beam-5 sentences/s ≥ {t['faster']:g}× dense "
        f"fp32's with greedy latency ≥ {t['faster']:g}× lower, within {t['bleu_drop']:g} BLEU of dense"
    )


def deployable_table(path: str | Path = DEFAULT_DEPLOYABLE) -> Optional[str]:
    """The table with its heading and what it needs to meet the targets; None when there is no result file."""
    path = Path(path)
    if not path.is_file():
        return None
    res = json.loads(path.read_text(encoding="utf-8"))
    bleu_on = "all" if res["bleu_sentences"] == "all" else f"the first {res['bleu_sentences']}"
    rows = [
        [
            r["variant"],
            r["shipped"],
            f"{r['mb']:.2f} MB",
            f"{r['smaller']:.1f}×",
            f(r["beam5_sentences_per_s"]),
            f"{r['faster']:.2f}×",
            f(r["greedy_latency_ms"], 1),
            f"{r['latency_lower']:.2f}×",
            f(r["bleu_tok_lc"]),
            r["status"],
        ]
        for r in res["rows"]
    ]
    # rows a deploy study retrained name it in the variant; the others come from the committed model as is
    origin = " and the models the deploy study retrained" if res.get("retrained") else " with no retraining"
    head = (
        f"Deployable: what ships today, built from the committed model{origin} "
        f"(`{res['model']}`; BLEU tok lc at beam 5 on {bleu_on} sentences of {res['split']}; beam-5 "
        f"sentences/s on the first {res['speed_sentences']} and greedy latency one sentence at a time on the "
        f"first {res['latency_sentences']}, {res['threads']} thread, medians of {res['repeats']} interleaved "
        f"passes, ratios to dense fp32 in the same run; machine, load and command in [BENCHMARKS.md]({SECTION})). "
        f"Targets: {_targets(res)}."
    )
    met = "Some variant meets a target." if res["any_meets_a_target"] else "No variant meets a target yet."
    return head + "\n\n" + table(HEADER, rows) + "\n\n" + met + " " + res["what_is_needed"]
