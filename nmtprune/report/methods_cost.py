"""The method-comparison report's cost section: each score's time and memory, and how well OBD's curvature
estimators rank, from ``benchmarks/bench_scores.py``'s JSON."""

from __future__ import annotations

import json
from pathlib import Path

from .sections import f, table


def _bench_run(bench: Path, run: dict) -> str:
    """Where one part of the benchmark file came from (command, commit, machine, load)."""
    m = run.get("machine") or {}
    return (
        f"From `{bench}`: command `{run.get('command', '?')}`, commit `{run.get('commit', '?')}`, "
        f"{run.get('time_utc', '?')}, {m.get('cpu', '?')} ({m.get('cores', '?')} cores), {run.get('threads', '?')} "
        f"threads, load average at start {run.get('loadavg_at_start', '?')}."
    )


def _cost_section(bench: Path) -> str:
    """The score-cost and curvature-quality tables of ``benchmarks/bench_scores.py``'s JSON."""
    out = ["## Cost of each score, and how well OBD's curvature estimators rank", ""]
    if not bench.is_file():
        return "\n".join(out + [f"_No benchmark yet_ (`{bench}` is written by `benchmarks/bench_scores.py`).", ""])
    try:
        data = json.loads(bench.read_text(encoding="utf-8"))
    except ValueError as exc:
        return "\n".join(out + [f"_Unreadable benchmark file {bench}: {exc}_", ""])
    cost = data.get("cost")
    if cost:
        rows = [
            [
                name,
                str(cost.get("batches", "–")),
                f(r.get("seconds_per_batch"), 3),
                f(r.get("peak_extra_mb"), 0),
                str(r.get("default_batches", "–")),
                f(r.get("projected_default_seconds"), 1),
                f(r.get("projected_default_epochs"), 3),
            ]
            for name, r in cost.get("scores", {}).items()
        ]
        out += [
            _bench_run(bench, cost.get("run") or data),
            f"Cost on `{cost.get('model')}` ({cost.get('batch_size', '?')} sentences per batch; each row is the median "
            f"of {cost.get('repeats', 1)} fresh processes): one training step ({cost.get('train_step')}) takes "
            f"{f(cost.get('train_step_seconds'), 3)} s and {f(cost.get('train_step_peak_extra_mb'), 0)} MB of "
            f"peak memory above the loaded model, so one epoch ≈ {f(cost.get('epoch_seconds_estimate'), 0)} s "
            f"({cost.get('epoch_steps', '?')} steps). Peak memory is the process's peak resident set "
            "during the work minus its size once model and batches are loaded.",
            "",
            table(
                [
                    "score",
                    "timed batches",
                    "s / batch",
                    "peak extra MB",
                    "default batches",
                    "default: seconds",
                    "default: × one epoch",
                ],
                rows,
            ),
            "",
        ]
    else:
        out += [
            "_The cost part has not been run on an idle machine yet_ "
            "(`python benchmarks/bench_scores.py --only cost`).",
            "",
        ]
    corr = data.get("correlation")
    if corr:
        out += [_bench_run(bench, corr.get("run") or data), ""]
        rows = [
            [
                label,
                f(r.get("seconds"), 3),
                f(r.get("spearman_h_vs_exact_hessian"), 3),
                f(r.get("spearman_saliency_vs_exact_hessian"), 3),
                f(r.get("spearman_h_vs_exact_gn"), 3),
            ]
            for label, r in corr.get("estimators", {}).items()
        ]
        out += [
            f"Curvature estimators against the exact Hessian diagonal on {corr.get('model')} "
            f"({corr.get('weights')} weights; {corr.get('negative_exact_diagonal')} negative exact entries; "
            f"exact diagonal {f(corr.get('exact_hessian_seconds'), 2)} s). Spearman rank correlation:",
            "",
            table(["estimator", "seconds", "h vs exact Hessian", "½hw² vs exact", "h vs exact Gauss-Newton"], rows),
            "",
        ]
    return "\n".join(out)
