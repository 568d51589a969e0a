"""The method-comparison report's cost ablations: calibration sentences, damping and block size against BLEU, and
the pruning step's wall time in training epochs (the ``calibration`` section of a study).

A training epoch's wall time is not a constant of the model: it depends on the machine, its vector ISA and
the threads. Each cell records the target tokens of one epoch of the reference's training split and the
machine it ran on; the epoch's seconds are those tokens divided by the training throughput that
``benchmarks/train_throughput.py`` measured on the same CPU model, ISA and thread count (nmtprune's median
target tokens/s; bf16 autocast where the CPU has native bf16 and training uses it, else fp32). A cell with no
such measurement shows its seconds only. A cell not run shows "not run".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from ..experiments.calibration_study import KIND, calibration_options, default_sentences
from ..prune.registry import get_score
from .collect import Collected
from .sections import _head, commands, f, table

__all__ = ["calibration_section", "calibration_target_row", "calibration_findings", "epoch_seconds", "BENCH_DIR"]

BENCH_DIR = Path("benchmarks/results")  # train_throughput*.json: training tokens/s per machine
TITLE = "Cost of the one-shot methods: calibration sentences, damping, block size, and pruning time in epochs"
TARGET_EPOCHS = 1.0  # SparseGPT on the whole reference model in under one training epoch


def _label(score: str) -> str:
    return getattr(get_score(score), "label", None) or score


def _benches(bench_dir: Path) -> list[tuple[Path, dict]]:
    out = []
    for path in sorted(Path(bench_dir).glob("train_throughput*.json")):
        try:
            out.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            continue
    return out


def epoch_seconds(timing: dict, benches: list[tuple[Path, dict]]) -> Optional[tuple[float, str]]:
    """(seconds of one training epoch, where the throughput came from) on the machine of a cell's
    ``prune_timing``, or None when no benchmark ran on the same CPU model, ISA flags and threads."""
    tokens = timing.get("epoch_target_tokens")
    if not tokens or timing.get("gpu"):
        return None
    flags = sorted(timing.get("cpu_flags") or [])
    for path, b in benches:
        m, settings = b.get("machine") or {}, b.get("settings") or {}
        if (m.get("cpu_model"), sorted(m.get("isa") or []), settings.get("threads")) != (
            timing.get("cpu"),
            flags,
            timing.get("threads"),
        ):
            continue
        systems = b.get("systems") or {}
        name = "nmtprune bf16 autocast" if "avx512_bf16" in flags and "nmtprune bf16 autocast" in systems else None
        name = name or "nmtprune fp32"
        tok_s = (systems.get(name) or {}).get("median")
        if tok_s:
            return tokens / tok_s, (
                f"one epoch = {tokens:,} target tokens at {tok_s:g} tok/s ({name} on {m.get('cpu_model')} "
                f"{'/'.join(m.get('isa') or [])}, {settings.get('threads')} thread"
                f"{'s' if settings.get('threads') != 1 else ''}, `{path.as_posix()}`)"
            )
    return None


def _rows(c: Collected) -> list[tuple[dict, Optional[dict]]]:
    """(params, ok metrics or None) of every planned calibration cell, in plan order."""
    out = []
    for cell in c.cells:
        if cell.kind == KIND:
            r = c.results.get(cell.id)
            out.append((cell.params, r["metrics"] if r and r.get("status") == "ok" else None))
    return out


def _is_default(p: dict) -> bool:
    """Whether a cell's options are its score's defaults (the calibration-sentence axis)."""
    return p["options"] == calibration_options(get_score(p["score"]))


def _base(c: Collected, score: str) -> int:
    return c.study.calibration.base_sentences or default_sentences(get_score(score))


def _epochs(m: dict, benches) -> tuple[Optional[float], Optional[str]]:
    t = m.get("prune_timing") or {}
    ep = epoch_seconds(t, benches)
    if ep is None or t.get("seconds") is None:
        return None, None
    return t["seconds"] / ep[0], ep[1]


def _opt(p: dict, key: str) -> str:
    v = p["options"].get(key)
    if v is None:
        return "–"
    return "full" if key == "block_size" and v == 0 else f"{v:g}"


def _fig(c: Collected, figs: Path, benches) -> Optional[str]:
    """BLEU and pruning time (in epochs where known, else seconds) vs calibration sentences, measured cells only."""
    lines: dict = {}
    for p, m in _rows(c):
        if m is not None and _is_default(p):
            lines.setdefault((p["score"], p["sparsity"]), []).append((p["sentences"], m))
    if not lines:
        return None
    from .plots import _save, plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    in_epochs = all(_epochs(m, benches)[0] is not None for pts in lines.values() for _, m in pts)
    for i, ((score, s), pts) in enumerate(sorted(lines.items())):
        pts.sort(key=lambda x: x[0])
        xs = [n for n, _ in pts]
        label = f"{_label(score)} {100 * s:g} %"
        a.plot(xs, [m["bleu_tok_lc"] for _, m in pts], marker="o", ms=3, color=f"C{i % 10}", label=label)
        t = [_epochs(m, benches)[0] if in_epochs else (m.get("prune_timing") or {}).get("seconds") for _, m in pts]
        b.plot(xs, t, marker="o", ms=3, color=f"C{i % 10}", label=label)
    if in_epochs:
        b.axhline(TARGET_EPOCHS, color="tab:red", ls="--", lw=1, label="target: 1 epoch")
    ticks = sorted({n for pts in lines.values() for n, _ in pts})
    for ax in (a, b):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(n) for n in ticks])
        ax.minorticks_off()
        ax.set_xlabel("calibration sentences")
    b.set_ylim(bottom=0)
    a.set_ylabel("test BLEU (tok-lc)")
    b.set_ylabel("pruning time (training epochs)" if in_epochs else "pruning time (s)")
    a.legend(fontsize=7)
    b.legend(fontsize=7)
    return _save(fig, figs, "fig_methods_calibration")


def calibration_section(c: Collected, figs: Path, bench_dir: Path = BENCH_DIR) -> str:
    """Table and figure of every calibration cell; measured values only ("not run" otherwise)."""
    out, empty = _head(c, TITLE, "calibration", (KIND,))
    if c.study.calibration is None:
        return "\n".join(out)
    benches = _benches(bench_dir)
    rows, sources = [], set()
    for p, m in _rows(c):
        head = [
            _label(p["score"]),
            f"{100 * p['sparsity']:g} %",
            str(p["sentences"]),
            _opt(p, "damp"),
            _opt(p, "block_size"),
        ]
        if m is None:
            rows.append(head + ["not run"] + ["–"] * 4)
            continue
        t = m.get("prune_timing") or {}
        ep, src = _epochs(m, benches)
        sources |= {src} if src else set()
        rows.append(
            head
            + [
                f(m.get("bleu_tok_lc")),
                f(m.get("ppl")),
                f(t.get("seconds"), 1),
                f(ep, 3) if ep is not None else "no epoch measured on this machine",
                f"{t.get('cpu', '?')} {t.get('cpu_capability') or ''}, {t.get('threads', '?')} thr, "
                f"load {'/'.join(f'{x:g}' for x in (t.get('loadavg_at_start') or [])[:1]) or '?'}",
            ]
        )
    cal = c.study.calibration
    out += [
        f"Each cell prunes the dense model once ({cal.scheme}), without retraining, with the first n calibration "
        "sentences of the scoring batches; one setting is varied at a time, the others at their defaults ("
        + "; ".join(
            f"{_label(s)}: "
            + ", ".join(f"{k} {v:g}" for k, v in calibration_options(get_score(s)).items())
            + f", {_base(c, s)} sentences"
            for s in cal.scores
            if calibration_options(get_score(s))
        )
        + "; damp is relative to the mean of diag H). Block size full: one block as wide as the matrix, so each "
        "matrix's mask is chosen once. "
        "**Pruning time** is the wall time of the pruning step alone (scoring, selection and SparseGPT's "
        "updates; not the evaluation), on one run per cell; **× one epoch** divides it by one training epoch of "
        "the reference model on the same machine (the epoch's target tokens over the training throughput "
        "measured there"
        + ("; " + "; ".join(sorted(sources)) if sources else "")
        + "). The load average at the start says how busy the cores were (other runs share them).",
        "",
    ]
    if not empty:
        stem = _fig(c, figs, benches)
        out += [f"![BLEU and pruning time vs calibration sentences]({stem}.png)", ""] if stem else []
    out += [
        table(
            [
                "method",
                "sparsity",
                "sentences",
                "damp",
                "block",
                "BLEU",
                "test ppl",
                "pruning s",
                "× one epoch",
                "machine",
            ],
            rows,
        ),
        "",
    ]
    cmds = commands(c, (KIND,))
    out += [cmds, ""] if cmds else []
    return "\n".join(out)


def _default_sparsegpt(c: Collected) -> list[tuple[dict, dict]]:
    """Measured SparseGPT cells at every default (sentences, damping, block size)."""
    return [
        (p, m)
        for p, m in _rows(c)
        if m is not None and p["score"] == "sparsegpt" and _is_default(p) and p["sentences"] == _base(c, "sparsegpt")
    ]


def calibration_target_row(c: Collected, bench_dir: Path = BENCH_DIR) -> Optional[list[str]]:
    """The Targets row: SparseGPT on the whole reference model in under one training epoch; None without the section."""
    cal = c.study.calibration
    if cal is None or "sparsegpt" not in cal.scores:
        return None
    claim = "SparseGPT prunes the whole reference model in under one training epoch (same machine and threads)"
    benches = _benches(bench_dir)
    got = [(p, m, *_epochs(m, benches)) for p, m in _default_sparsegpt(c)]
    timed = [x for x in got if x[2] is not None]
    if not timed:
        why = "no cell measured yet" if not got else "no training throughput measured on that machine"
        return [claim, "⏳ not measured", f"{why} (`nmtprune sweep {c.study.path} --only calibration`)"]
    worst = max(timed, key=lambda x: x[2])
    p, m, ep, src = worst
    t = m["prune_timing"]
    load = (t.get("loadavg_at_start") or ["?"])[0]
    return [
        claim,
        "✅ met" if all(x[2] < TARGET_EPOCHS for x in timed) else "❌ not met",
        f"{100 * p['sparsity']:g} %, {p['sentences']} sentences: {f(t['seconds'], 1)} s = {ep:.3f} epoch on "
        f"{t.get('threads')} thread, load average {load} at the start (the slowest of {len(timed)} measured, one "
        f"run each); {src}",
    ]


def calibration_findings(c: Collected, link: str, bench_dir: Path = BENCH_DIR) -> list[str]:
    """Findings bullets from measured calibration cells only (``link``: the section's link suffix)."""
    cal = c.study.calibration
    if cal is None:
        return []
    out = []
    rows = [(p, m) for p, m in _rows(c) if m is not None]
    for score in cal.scores:
        parts = []
        for s in cal.sparsities:
            pts = sorted(
                (p["sentences"], m["bleu_tok_lc"])
                for p, m in rows
                if p["score"] == score and p["sparsity"] == s and _is_default(p)
            )
            if len(pts) >= 2:
                parts.append(f"at {100 * s:g} %: " + ", ".join(f"{b:.2f} ({n})" for n, b in pts))
        if parts:
            out.append(
                f"{_label(score)} without retraining, test BLEU by calibration sentences ({cal.scheme}; one run per "
                "cell) " + "; ".join(parts) + link
            )
    for key, what in (("damp", "damping"), ("block_size", "block size")):
        for s in cal.sparsities:
            pts = [
                (p["options"][key], m["bleu_tok_lc"])
                for p, m in rows
                if p["score"] == "sparsegpt"
                and p["sparsity"] == s
                and p["sentences"] == _base(c, "sparsegpt")
                and all(
                    v == calibration_options(get_score("sparsegpt"))[k] for k, v in p["options"].items() if k != key
                )
            ]
            if len(pts) >= 2:
                full = key == "block_size"  # block size 0: the whole matrix, listed last
                shown = ", ".join(
                    f"{b:.2f} ({'full' if full and v == 0 else f'{v:g}'})"
                    for v, b in sorted(pts, key=lambda x: (full and x[0] == 0, x[0]))
                )
                out.append(
                    f"SparseGPT's {what} at {100 * s:g} % ({_base(c, 'sparsegpt')} sentences; one run per cell): "
                    f"test BLEU {shown}" + link
                )
    row = calibration_target_row(c, bench_dir)
    if row is not None and not row[1].startswith("⏳"):
        out.append(
            f"Cost target (SparseGPT on the whole model in under one training epoch): {row[1].split(' ', 1)[1]}; "
            f"{row[2]}" + link
        )
    return out
