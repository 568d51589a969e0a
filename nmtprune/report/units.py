"""The hidden-unit report (``report: units``): structured pruning of the LSTM model, method by method.

Reads only result files: this study's ``unit-eval`` / ``unit-sensitivity`` / ``unit-retrain`` cells,
the weight-pruning results of the studies named in ``compare_with`` (the large-sparse vs small-dense
question, at equal parameter count) and ``benchmarks/results/shrink.json`` (the idle-machine speed
benchmark). Every pruned model was evaluated shrunk, so BLEU, parameters and speed are of the same
physically smaller model.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Optional

from ..config import ConfigError
from ..prune.registry import get_score, score_names
from .collect import Collected, collect, mean_bleu
from .sections import _head, commands, f, ms, table

__all__ = ["render_units"]

SPEED_TARGET, BLEU_TOL, TARGET_FRACTION = (
    1.8,
    1.5,
    0.5,
)  # the target: 50 % of units removed -> >= 1.8x decoding, within 1.5 BLEU
# the idle-machine benchmarks of benchmarks/bench_shrink.py: a retrained shrunk model (--shrunk) first,
# else the one shrunk without retraining (its speed is not the target's: outputs differ from dense)
SHRINK_BENCHES = (Path("benchmarks/results/shrink_retrained.json"), Path("benchmarks/results/shrink.json"))


def _style(score: str) -> str:
    """Dotted for a baseline (random units), dashed for a formula read from an abstract, else solid."""
    spec = get_score(score) if score in score_names("unit") else None
    return ":" if spec and spec.baseline else "--" if spec and spec.reconstructed else "-"


def _curves(c: Collected, kind: str = "unit-eval") -> dict[tuple[str, str], dict[float, list[dict]]]:
    """``{(score, scope): {fraction: [metrics per seed]}}``; the dense cell joins every curve at 0."""
    out: dict = defaultdict(lambda: defaultdict(list))
    dense = None
    for p, m in c.ok(kind):
        if p["fraction"] is None:  # per-layer ratios: a row of their own (_ratio_rows)
            continue
        if p["fraction"] == 0:
            dense = m
        else:
            out[(p["score"], p.get("scope") or p.get("group"))][p["fraction"]].append(m)
    if dense is not None:
        for curve in out.values():
            curve[0.0] = [dense]
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def _dense(c: Collected, kind: str = "unit-eval") -> Optional[dict]:
    return next((m for p, m in c.ok(kind) if p["fraction"] == 0), None)


def _fig(curves: dict, figs: Path, stem: str, title: str, ylabel: str) -> Optional[str]:
    if not curves:
        return None
    from .plots import _save, plt

    panels = sorted({k[1] for k in curves})
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        for i, ((score, p), pts) in enumerate((k, v) for k, v in curves.items() if k[1] == panel):
            ax.plot(
                [100 * x for x in pts],
                [mean_bleu(v) for v in pts.values()],
                marker="o",
                ms=3,
                label=score,
                color=f"C{i % 10}",
                ls=_style(score),
            )
        ax.set_title(f"{title}: {panel}")
        ax.set_xlabel("% of hidden units removed")
        ax.set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=7)
    return _save(fig, figs, stem)


def _setup(c: Collected) -> str:
    st, dense = c.study, _dense(c)
    rows = [
        [k] + [str(c.status(k)[x]) for x in ("planned", "ok", "failed", "missing")]
        for k in ("unit-eval", "unit-sensitivity", "unit-retrain", "unit-greg")
        if c.status(k)["planned"]
    ]
    return "\n".join(
        [
            "## Setup",
            "",
            f"* **Model**: `{st.model}`; dense test BLEU {f(dense.get('bleu_tok_lc')) if dense else '–'}, "
            f"{dense['params']:,} parameters"
            if dense
            else f"* **Model**: `{st.model}`",
            "* **What one unit is**: hidden unit j of an LSTM layer = its four gate rows of W_ih and W_hh, its biases, "
            "its recurrent column and its columns in every consumer (next layer, attention, W_c, input feed); "
            "encoder and decoder layer k are tied (the decoder starts from the encoder's states) and pruned together "
            "(`src_layerk+tgt_layerk`); `attention` is a unit of h̃ = tanh(W_c[c; h]) (its softmax and input-feed "
            "columns go with it).",
            "* **Evaluation**: every pruned model is *shrunk* (physically smaller `nn.LSTM`, attention, W_c, softmax "
            "input; outputs equal the masked model's to 1e-6, tested) and evaluated on "
            f"`{st.split}` (beam {st.beam}); sensitivity on `{st.dev_split}`. Speeds measured inside the sweep share "
            "the machine with other work and show trends only; the speed target is judged on the idle benchmark.",
            "* **Older methods**: `n2ps`, `hagiwara-*` and `xinghu-mi` implement reconstructed readings of the papers "
            "(each score file says which parts are reconstructed); dashed lines in the figures.",
            f"* **Reproduce**: `nmtprune sweep {st.path}` then `nmtprune report {st.path}`.",
            *c.provenance_lines(),
            "",
            table(["cell kind", "planned", "ok", "failed", "not run"], rows),
            "",
        ]
    )


def _eval_section(c: Collected, figs: Path) -> str:
    out, empty = _head(c, "BLEU vs fraction of hidden units removed (no retraining)", "units_eval", ("unit-eval",))
    curves = _curves(c)
    if empty or not curves:
        return "\n".join(out)
    stem = _fig(curves, figs, "fig_units_bleu", "units removed", "test BLEU (tok-lc)")
    out += [f"![BLEU vs units removed]({stem}.png)", ""] if stem else []
    fractions = sorted({x for v in curves.values() for x in v if x > 0})
    for scope in sorted({k[1] for k in curves}):
        rows = [
            [score]
            + [
                (f(mean_bleu(pts[x])) + f" ({100 * pts[x][0]['params_ratio']:.0f} %)") if x in pts else "–"
                for x in fractions
            ]
            for (score, sc), pts in curves.items()
            if sc == scope
        ]
        norm = c.study.units_eval.normalize if scope == "global" else None
        if scope == "per-layer":
            rows += _ratio_rows(c, len(fractions))
        out += [
            f"**{scope}**"
            + (f" (scores rescaled per group: `{norm}`)" if norm else "")
            + " — test BLEU (parameters left, % of dense):",
            "",
            table(["score"] + [f"{100 * x:g} % units" for x in fractions], rows),
            "",
        ]
    out += [_speed_table(c, curves, fractions), _layers_table(c), _gates_table(c), commands(c, ("unit-eval",)), ""]
    return "\n".join(out)


def _speed_table(c: Collected, curves: dict, fractions: list[float]) -> str:
    """Size and in-sweep decoding speed of the shrunk per-layer models (equal sizes whatever the score)."""
    import statistics

    dense = _dense(c)
    if not dense or not dense.get("sentences_per_s"):
        return ""
    rows = []
    for x in fractions:
        ms_ = [m for (score, scope), pts in curves.items() if scope == "per-layer" for m in pts.get(x, [])]
        if ms_:
            speed = statistics.median(m["sentences_per_s"] for m in ms_) / dense["sentences_per_s"]
            rows.append(
                [
                    f"{100 * x:g} %",
                    f"{ms_[0]['params']:,}",
                    f"{100 * ms_[0]['params_ratio']:.0f} %",
                    f"{4 * ms_[0]['params'] / 2**20:.1f}",
                    f"{speed:.2f}× (n={len(ms_)})",
                ]
            )
    return "\n".join(
        [
            f"Size and speed of the shrunk per-layer models (dense: {dense['params']:,} parameters, "
            f"{4 * dense['params'] / 2**20:.1f} MB fp32, {dense['sentences_per_s']} sentences/s in this "
            f"sweep, beam {c.study.beam}). Speed: median over the scores of the in-sweep sentences/s over "
            "the dense model's, on a shared machine (trend only; the benchmark below is the measurement). Beam search "
            "runs until every hypothesis ends, so a broken pruned-only model that writes longer or shorter "
            "output also decodes slower or faster: the retrained models' speed is the fair one:",
            "",
            table(["units removed", "parameters", "of dense", "MB (fp32)", "decoding speed"], rows),
            "",
        ]
    )


def _ratio_rows(c: Collected, width: int) -> list[list[str]]:
    """One row per score pruned with the study's per-layer ratios (its BLEU in the first column)."""
    rows = []
    for p, m in c.ok("unit-eval"):
        if p["fraction"] is None:
            ratios = ", ".join(f"{g} {100 * x:g} %" for g, x in p["ratios"].items())
            rows.append(
                [
                    f"{p['score']}, ratios ({ratios})",
                    f"{f(m['bleu_tok_lc'])} ({100 * m['params_ratio']:.0f} %; {100 * m['units_removed']:.0f} % units)",
                ]
                + ["" for _ in range(width - 1)]
            )
    return rows


def _layers_table(c: Collected) -> str:
    """Which layers lose units when one global ranking decides (kept / size per group)."""
    rows = []
    for p, m in c.ok("unit-eval"):
        if p.get("scope") == "global" and m.get("units") and p.get("seed", 0) == min(c.study.units_eval.seeds):
            rows.append(
                [p["score"], f"{100 * p['fraction']:g} %"]
                + [f"{100 * (1 - u['kept'] / u['size']):.0f} %" for u in m["units"].values()]
            )
    if not rows:
        return ""
    groups = list(next(m for p, m in c.ok("unit-eval") if m.get("units"))["units"])
    return "\n".join(
        [
            "Which layers lose units under global selection (% of each group's units removed):",
            "",
            table(["score", "overall"] + groups, rows),
            "",
        ]
    )


def _gates_table(c: Collected) -> str:
    """Which gates' weights the removed units had small (``scripts/unit_gates.py``'s JSON, if run for this model)."""
    path = c.results_dir.parent / "ablations" / f"{c.study.name}_gates.json"
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if not c.cells or d.get("model_hash") != c.cells[0].params.get("model_hash"):
        return ""
    gates, rows, means = d["gates"], [], {}
    for score, r in d["scores"].items():
        members = r["ratios"]
        means.update({(score, g): sum(m[g] for m in members.values()) / len(members) for g in gates})
        rows.append(
            [score]
            + [f"{means[(score, g)]:.2f}" for g in gates]
            + [", ".join(f"{k} {min(v, key=v.get)}" for k, v in members.items())]
        )
    far = max(means, key=lambda k: abs(1 - means[k]))
    return "\n".join(
        [
            f"Which gates: a hidden unit takes its row in each of the four gate blocks with it, so every gate of a layer "
            f"loses the same units; criteria differ in which units they pick. Per gate, the removed units' mean incoming "
            f"row norm (‖[W_ih; W_hh] row‖₂) over the kept units', mean over the LSTM layers, at "
            f"{100 * d['fraction']:g} % per layer (below 1: the removed units had smaller weights in that gate than the kept ones; about 1: no difference; "
            f"`{d.get('command', path)}`):",
            "",
            table(["score"] + [f"{g}" for g in gates] + ["lowest gate per layer"], rows),
            "",
            f"The largest difference from 1 is {means[far]:.2f} (`{far[0]}`, gate {far[1]}).",
            "",
        ]
    )


def _sensitivity_section(c: Collected, figs: Path) -> str:
    out, empty = _head(
        c,
        "Per-layer sensitivity (Li et al. 2017): one unit group pruned alone",
        "unit_sensitivity",
        ("unit-sensitivity",),
    )
    curves = _curves(c, "unit-sensitivity")
    if empty or not curves:
        return "\n".join(out)
    by_group = {(g, score): pts for (score, g), pts in curves.items()}  # one panel per score, a line per group
    stem = _fig(by_group, figs, "fig_units_sensitivity", "score", f"dev BLEU ({c.study.dev_split})")
    out += [f"![per-layer sensitivity]({stem}.png)", ""] if stem else []
    dense = _dense(c, "unit-sensitivity")
    fractions = sorted({x for v in curves.values() for x in v if x > 0})
    rows = [
        [score, g]
        + [f(mean_bleu(pts[x]) - dense["bleu_tok_lc"], sign=True) if x in pts and dense else "–" for x in fractions]
        for (score, g), pts in curves.items()
    ]
    out += [
        f"Dev BLEU change vs dense ({f(dense['bleu_tok_lc']) if dense else '–'}) when only this group loses "
        "units. Li et al. prune sensitive layers less: the per-layer ratios for `unit_retrain` can be read "
        "off here (`prune-units --ratios GROUP=F ...`).",
        "",
        table(["score", "group"] + [f"{100 * x:g} %" for x in fractions], rows),
        "",
        commands(c, ("unit-sensitivity",)),
        "",
    ]
    return "\n".join(out)


def _bench() -> tuple[Optional[dict], Optional[Path]]:
    for path in SHRINK_BENCHES:
        try:
            return json.loads(path.read_text(encoding="utf-8")), path
        except (OSError, ValueError):
            continue
    return None, None


def _portable(command: str) -> str:
    """The benchmark's command as a reader can run it: the recording machine's interpreter path becomes ``python``."""
    exe, sep, rest = command.partition(" ")
    return f"python{sep}{rest}" if "/" in exe and Path(exe).name.startswith("python") else command


def _bench_speed(bench: Optional[dict]) -> Optional[float]:
    """Beam-5 sentences/s of the shrunk model over the dense model's in a ``bench_shrink.py`` file."""
    res = (bench or {}).get("results", {})
    d, s = res.get("dense", {}).get("beam5", {}), res.get("shrunk", {}).get("beam5", {})
    if d.get("median_sentences_per_s") and s.get("median_sentences_per_s"):
        return s["median_sentences_per_s"] / d["median_sentences_per_s"]
    return None


def _retrain_section(c: Collected) -> str:
    out, empty = _head(c, "Pruned vs retrained, speed and size", "unit_retrain", ("unit-retrain",))
    ur, dense = c.study.unit_retrain, _dense(c)
    if ur is None:
        return "\n".join(out)
    pruned = _curves(c)
    got: dict = defaultdict(list)
    for p, m in c.ok("unit-retrain"):
        got[(p["score"], p["fraction"])].append(m)
    rows = []
    for score in ur.scores:
        for x in list(ur.fractions) + ([None] if ur.runs_ratios(score) else []):
            r = got.get((score, x), [])
            only = (
                pruned.get((score, ur.scope), {}).get(x, [])
                if x is not None
                else [m for p, m in c.ok("unit-eval") if p["fraction"] is None and p["score"] == score]
            )
            sp = [m["sentences_per_s"] / dense["sentences_per_s"] for m in r] if dense else []
            label = f"{100 * x:g} %" if x is not None else "ratios: " + ", ".join(ur.ratios)
            rows.append(
                [
                    score,
                    label,
                    f(mean_bleu(only)) if only else "–",
                    ms([m["bleu_tok_lc"] for m in r]),
                    f(mean_bleu(r) - dense["bleu_tok_lc"], sign=True) if r and dense else "–",
                    f"{100 * r[0]['params_ratio']:.0f} %" if r else "–",
                    ms(sp) + "×" if sp else "–",
                    "yes" if r and all(m.get("mask_held") for m in r) else "–",
                ]
            )
    out += [
        f"Scope `{ur.scope}`, retrained with See et al.'s recipe under the whole-unit masks; "
        f"dense test BLEU {f(dense['bleu_tok_lc']) if dense else '–'}. Speed: in-sweep beam-{c.study.beam} "
        "sentences/s of the shrunk retrained model over the dense model's in the same sweep.",
        "",
        table(
            [
                "score",
                "units removed",
                "pruned only",
                "retrained",
                "Δ vs dense",
                "parameters",
                "speed (sweep)",
                "masks held",
            ],
            rows,
        ),
        "",
    ]
    greg: dict = defaultdict(list)
    for p, m in c.ok("unit-greg"):
        greg[(p["score"], p["fraction"])].append(m)
        got[(p["score"], p["fraction"])].append(m)
    if greg:
        rows = [
            [
                mode,
                f"{100 * x:g} %",
                ms([m["pruned_only"]["bleu_tok_lc"] for m in r]),
                ms([m["bleu_tok_lc"] for m in r]),
                f(mean_bleu(r) - dense["bleu_tok_lc"], sign=True) if dense else "–",
                f"{100 * r[0]['params_ratio']:.0f} %",
                "yes" if all(m.get("mask_held") for m in r) else "no",
            ]
            for (mode, x), r in sorted(greg.items())
        ]
        g = c.study.unit_greg
        out += [
            f"GReg (penalty phase: λ += {g.delta} every {g.every} steps up to {g.ceiling}, then {g.stabilize} steps; "
            f"GReg-2 first grows a uniform λ by {g.pick_delta} to {g.pick_ceiling}), then L1 pruning and the same "
            "retraining:",
            "",
            table(
                [
                    "mode",
                    "units removed",
                    "after the penalty phase + pruning",
                    "retrained",
                    "Δ vs dense",
                    "parameters",
                    "masks held",
                ],
                rows,
            ),
            "",
        ]
    out += [_target(c, got, dense), commands(c, ("unit-retrain", "unit-greg")), ""]
    return "\n".join(out)


def _target(c: Collected, got: dict, dense: Optional[dict]) -> str:
    bench, path = _bench()
    speed = _bench_speed(bench)
    retrained = bool(bench) and not str(bench.get("settings", {}).get("shrunk", "")).startswith("shrunk here")
    cands = [
        (mean_bleu(r) - dense["bleu_tok_lc"], score, len(r))
        for (score, x), r in got.items()
        if x == TARGET_FRACTION and dense and r
    ]
    full = [t for t in cands if t[2] >= 3]  # the targets ask for >= 3 seeds: prefer methods that have them
    best = max(full or cands, default=None)
    bleu_ok = best is not None and best[0] >= -BLEU_TOL
    speed_ok = speed is not None and retrained and speed >= SPEED_TARGET
    verdict = (
        "met" if bleu_ok and speed_ok else "not met" if best is not None and speed is not None and retrained else "open"
    )
    n = best[2] if best else 0
    where = (
        (
            f"`{path}`: `{bench.get('settings', {}).get('shrunk')}`"
            + (
                " (a retrained shrunk model; every per-layer 50 % model shrinks to the same shapes, so its speed "
                "stands for each method's)"
                if retrained
                else " (not retrained: its outputs differ from the dense model's, so this is not the target's speed)"
            )
            + f", beam 5, {bench.get('settings', {}).get('threads')} thread(s), load average at start "
            f"{bench.get('machine', {}).get('loadavg_at_start', ['?'])[0]}; command `{_portable(bench.get('command', '?'))}`"
        )
        if bench
        else "no benchmark file"
    )
    return "\n".join(
        [
            f"**Target** (50 % of units removed: ≥ {SPEED_TARGET}× CPU decoding speed, within {BLEU_TOL} BLEU of dense "
            f"after retraining): **{verdict}**"
            + (f" (BLEU from {n} seed{'s' if n != 1 else ''}; the target asks for ≥ 3)" if n and n < 3 else "")
            + ". "
            + "BLEU: best retrained"
            + (" with ≥ 3 seeds" if full else "")
            + (f" `{best[1]}` {best[0]:+.2f} (n={best[2]})" if best else " – (not run yet)")
            + "; speed: "
            + (f"{speed:.2f}× sentences/s" if speed else "–")
            + f" ({where}).",
            "",
        ]
    )


def _versus_section(c: Collected, figs: Path) -> str:
    """Small-dense (unit-pruned, shrunk) vs large-sparse (weight-pruned) at equal parameter count."""
    out = ["## Small-dense vs large-sparse at equal parameter count", ""]
    others = []
    for path in c.study.compare_with:
        try:
            others.append(collect(path, c.results_dir.parent))
        except (ConfigError, OSError, ValueError) as exc:  # the comparison is optional: say why it is missing
            out += [f"_`{path}` could not be read: {exc}_", ""]
    pts_units = [
        (m["params"], m["bleu_tok_lc"], p["score"])
        for p, m in c.ok("unit-eval")
        if p["fraction"] not in (0, None) and p.get("scope") == "per-layer" and p["score"] in ("l1", "taylor-unit")
    ]
    pts_units += [(m["params"], m["bleu_tok_lc"], f"{p['score']} retrained") for p, m in c.ok("unit-retrain")]
    pts_sparse = []
    dense = _dense(c)
    mhash = c.cells[0].params["model_hash"] if c.cells else None

    def nonzero(m: dict) -> Optional[int]:  # all parameters minus the pruned weights (biases are kept)
        pruned = (m.get("masks") or {}).get("stats", {}).get("overall", {}).get("pruned")
        return None if pruned is None or dense is None else dense["params"] - pruned

    for o in others:
        if not o.cells or o.cells[0].params["model_hash"] != mhash:
            out += [f"_`{o.study.path}` prunes another model; not comparable._", ""]
            continue
        curve = o.prune_curves().get(("magnitude", "class-blind"), {})
        pts_sparse += [
            (nonzero(m), m["bleu_tok_lc"], f"magnitude ({o.study.name})")
            for s, ms_ in curve.items()
            if s > 0
            for m in ms_
        ]
        pts_sparse += [
            (nonzero(m), m["bleu_tok_lc"], f"magnitude retrained ({o.study.name})")
            for ms_ in o.trained("retrain", "magnitude").values()
            for m in ms_
        ]
    pts_sparse = [x for x in pts_sparse if x[0] is not None]
    if not pts_units or not pts_sparse:
        return "\n".join(
            out
            + [
                "_Not run yet_ (needs unit-eval results and a `compare_with` study with "
                "magnitude class-blind results).",
                "",
            ]
        )
    out += _equal_size_table(c, pts_sparse)
    from .plots import _save, plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for i, label in enumerate(sorted({x[2] for x in pts_units + pts_sparse})):
        xs = sorted((n, b) for n, b, lab in pts_units + pts_sparse if lab == label)
        ax.plot(
            [n / 1e6 for n, _ in xs],
            [b for _, b in xs],
            marker="o" if "retrained" in label else "x",
            ls="-" if "magnitude" in label else "--",
            label=label,
            color=f"C{i % 10}",
        )
    ax.set_xlabel("non-zero parameters (M): unit-pruned = shrunk size; weight-pruned = weights kept")
    ax.set_ylabel("test BLEU (tok-lc)")
    ax.legend(fontsize=7)
    stem = _save(fig, figs, "fig_units_vs_sparse")
    out += [
        f"![small-dense vs large-sparse]({stem}.png)",
        "",
        "Weight-pruned counts are the parameters left non-zero (biases are never pruned; a sparse model "
        "also needs indices or a bitmask, see the See et al. report's storage table); unit-pruned counts are "
        "all parameters of the shrunk dense model, which needs nothing else and runs dense kernels.",
        "",
    ]
    return "\n".join(out)


def _equal_size_table(c: Collected, pts_sparse: list[tuple[int, float, str]]) -> list[str]:
    """The question in numbers: the retrained 50 % unit-pruned models against the magnitude weight-pruned
    points whose non-zero counts bracket theirs (pruned only, and retrained where that cell has run)."""
    by_score: dict = defaultdict(list)
    for p, m in c.ok("unit-retrain"):
        if p["fraction"] == TARGET_FRACTION:
            by_score[p["score"]].append(m)
    if not by_score:
        return []
    size = next(iter(by_score.values()))[0]["params"]  # every per-layer 50 % model shrinks to the same shapes
    means = {k: mean_bleu(v) for k, v in by_score.items()}
    lo, hi = min(means, key=means.get), max(means, key=means.get)
    speed = _bench_speed(_bench()[0])
    curves = _curves(c)
    only = [
        b
        for k in means
        for b in [mean_bleu(curves.get((k, "per-layer"), {}).get(TARGET_FRACTION, []))]
        if b is not None
    ]
    rows = [
        [
            f"{100 * TARGET_FRACTION:g} % of hidden units, shrunk, retrained ({len(means)} methods)",
            f"{size / 1e6:.2f}M",
            f"{min(only):.2f} to {max(only):.2f}" if only else "–",
            f"{means[lo]:.2f} (`{lo}`) to {means[hi]:.2f} (`{hi}`), method means",
            f"{speed:.2f}× (benchmark)" if speed else "–",
        ]
    ]
    pruned_only = sorted({(n, b) for n, b, label in pts_sparse if "retrained" not in label})
    below = [x for x in pruned_only if x[0] <= size]
    above = [x for x in pruned_only if x[0] > size]
    retrained: dict = defaultdict(list)
    for n, b, label in pts_sparse:
        if "retrained" in label:
            retrained[n].append(b)
    for n, b in [x for x in (max(below, default=None), min(above, default=None)) if x is not None]:
        rows.append(
            [
                f"magnitude class-blind, {100 * (1 - n / _dense(c)['params']):.0f} % of all parameters zero",
                f"{n / 1e6:.2f}M",
                f"{b:.2f}",
                ms(retrained[n]) if retrained.get(n) else "–",
                "1× by construction (dense kernels: the zeros are stored and multiplied)",
            ]
        )
    return [
        f"At the unit-pruned models' size: the weight-pruned points just below and above {size / 1e6:.2f}M "
        "non-zero parameters (test BLEU, tok-lc; retrained weight-pruned points exist only where the compared "
        "study retrains, See et al.'s 50-90 %):",
        "",
        table(["model", "parameters", "pruned only", "retrained", "decoding speed vs dense"], rows),
        "",
    ]


def render_units(c: Collected, figs: Path) -> str:
    """The whole report as markdown; figures go to ``figs``."""
    parts = [
        f"# Hidden-unit (structured) pruning — `{c.study.name}`",
        "",
        f"_Generated by `nmtprune report {c.study.path}` from the result files; do not edit by hand._",
        "",
        _setup(c),
        _eval_section(c, figs),
        _sensitivity_section(c, figs),
        _retrain_section(c),
        _versus_section(c, figs),
    ]
    return "\n".join(parts).rstrip() + "\n"
