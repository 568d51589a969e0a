"""The method pages (``methods/``), written at build time from the registered score specs.

Run by the ``gen-files`` plugin of ``mkdocs.yml``. Everything a page says about a score comes from
its :class:`nmtprune.prune.ScoreSpec` (name, paper, formula, cost, data, the site's words), from the
docstring of the file that implements it, from the CLI parser (the commands and their defaults),
from the study files that run it (the reports to read) and from the videos under ``docs/videos``.
A new score, or a plugin's, gets its page without anyone editing the documentation.

Problems that would make a page wrong (a score the CLI does not offer, a citation of a note outside
the repository) are logged as warnings, which fail ``mkdocs build --strict``.
"""

from __future__ import annotations

import argparse
import html
import importlib
import json
import logging
import os
import sys
from pathlib import Path

import mkdocs_gen_files
import yaml

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
for p in (str(ROOT), str(DOCS)):
    if p not in sys.path:
        sys.path.insert(0, p)

from sitelib import leftover_notes, report_title, scores_of, to_markdown, write_nav  # noqa: E402

from nmtprune.prune.registry import get_schedule, get_score, schedule_names, score_names  # noqa: E402
from nmtprune.prune.select import SCHEMES  # noqa: E402

log = logging.getLogger("mkdocs.plugins.nmtprune.gen_methods")

MODEL = "models/multi30k-en-de"  # the shipped reference model every example prunes
CONFIG = "configs/multi30k_ref.yaml"  # its training config (sparse-from-scratch training)
SPLIT = "test_2016_flickr"
KIND_TITLE = {"weight": "Weight scores", "unit": "Hidden-unit scores"}
UNIT_SCOPES = ("per-layer", "global")


# ----------------------------------------------------------------------------- sources
def subcommands() -> dict[str, argparse.ArgumentParser]:
    """The CLI's sub-parsers by name (the same parser ``nmtprune`` runs)."""
    os.environ.setdefault("COLUMNS", "100")  # --help text width
    from nmtprune.cli import build_parser

    parser = build_parser()
    return {
        name: sub
        for a in parser._actions
        if isinstance(a, argparse._SubParsersAction)
        for name, sub in a.choices.items()
    }


def option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    for a in parser._actions:
        if flag in a.option_strings:
            return a
    raise KeyError(f"`nmtprune {parser.prog.split()[-1]}` has no option {flag}")


def studies() -> dict[str, dict]:
    """``{stem: parsed YAML}`` of ``studies/*.yaml``."""
    out = {}
    for f in sorted((ROOT / "studies").glob("*.yaml")):
        out[f.stem] = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
    return out


def videos(spec) -> list[tuple[str, str]]:
    """``[(selection, stem)]`` of the videos in docs/videos that show this score."""
    if spec.kind == "weight":
        names = [(s, f"{spec.name}-{s}") for s in SCHEMES]
    else:
        names = [(s, f"units-{spec.name}-{s}") for s in UNIT_SCOPES]
    return [(s, stem) for s, stem in names if (DOCS / "videos" / f"{stem}.mp4").is_file()]


# ----------------------------------------------------------------------------- rendering
def formula(tex: str) -> str:
    """A display formula: the TeX as text, turned into MathML in the browser by the site's own
    renderer (``assets/formula.js``), so nothing is fetched from the network."""
    return f'<div class="nmt-formula"><code>{html.escape(tex)}</code></div>'


def md(doc: str, where: str) -> str:
    """A docstring as Markdown; a warning (a failed strict build) for a citation it could not remove."""
    text = to_markdown(doc)
    stray = leftover_notes(text)
    if stray:
        log.warning("the docstring of %s cites notes outside the repository: %s", where, stray)
    return text


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "es" if word.endswith("ch") else "s")


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def display_name(spec) -> str:
    if spec.label and spec.label != spec.name:
        return spec.label
    return spec.site_label or spec.name


def family(spec) -> list:
    """Every spec implemented in the same file, in registry order."""
    return [get_score(n) for n in score_names() if get_score(n).fn.__module__ == spec.fn.__module__]


def options_text(spec) -> str:
    return ", ".join(f"`{k}={v!r}`" for k, v in spec.options.items()) or "none"


def data_text(spec, cli: dict) -> str:
    if not spec.needs_data:
        return "none: only the weights"
    if spec.kind == "weight":
        size = option(cli["prune"], "--score-batch-size").default
        return (
            f"{spec.n_batches} batches of the training split of the model's corpus, {size} sentences each "
            f"(`nmtprune prune --score-batches N --score-batch-size B` changes them)"
        )
    pu = cli["prune-units"]
    return (
        f"training minibatches: `nmtprune prune-units` gives it `--batches` (default "
        f"{option(pu, '--batches').default}) of `--batch-size` (default {option(pu, '--batch-size').default}) "
        f"sentences; its own default through the Python API is {spec.n_batches}"
    )


def comments_above(lines: list[str]) -> str:
    """Shell lines with their trailing comment moved onto a line of its own above them."""
    out = []
    for line in lines:
        cmd, _, note = line.partition("  #")
        out += ([f"# {note.strip()}"] if note.strip() else []) + [cmd.rstrip()]
    return "\n".join(out)


def command(spec, cli: dict) -> str:
    n = spec.name
    if spec.kind == "weight":
        lines = [f"nmtprune prune {MODEL} --score {n} --select class-blind --sparsity 0.8 --out runs/{n}-80"]
        if spec.at_init:
            lines += [
                f"nmtprune train {CONFIG} --out runs/{n}-80-scratch --mask runs/{n}-80/masks.safetensors"
                "   # train from scratch under the mask",
                f"nmtprune evaluate runs/{n}-80-scratch/best --split {SPLIT}",
            ]
        else:
            lines += [
                f"nmtprune evaluate runs/{n}-80 --split {SPLIT}            # pruned, not retrained",
                f"nmtprune retrain runs/{n}-80 --out runs/{n}-80r --seed 1   # masks fixed",
                f"nmtprune evaluate runs/{n}-80r/best --split {SPLIT}",
            ]
        return comments_above(lines)
    return comments_above(
        [
            f"nmtprune prune-units {MODEL} --score {n} --fraction 0.5 --out runs/{n}-50   # half of every layer's units",
            f"nmtprune shrink runs/{n}-50 --out runs/{n}-50-small      # a smaller dense model, same outputs",
            f"nmtprune evaluate runs/{n}-50-small --split {SPLIT}",
            f"nmtprune retrain runs/{n}-50 --out runs/{n}-50r --seed 1   # whole-unit masks fixed",
            f"nmtprune shrink runs/{n}-50r/best --units runs/{n}-50/units.json --out runs/{n}-50r-small",
        ]
    )


def python(spec) -> str:
    n = spec.name
    head = [
        "from nmtprune.train import load_model",
        "from nmtprune.prune import run_score" + (", select" if spec.kind == "weight" else ""),
    ]
    if spec.kind == "unit":
        head.append("from nmtprune.prune.units import select_units, shrink")
    if spec.needs_data:
        head.append("from nmtprune.prune.scores import batch_source")
    body = ["", f'model, cfg, src_vocab, tgt_vocab = load_model("{MODEL}")']
    if spec.needs_data:
        body.append(
            f'scores = run_score("{n}", model, batch_source(cfg, src_vocab, tgt_vocab), seed=0)'
            f"   # {spec.n_batches} batches"
        )
    else:
        body.append(f'scores = run_score("{n}", model, seed=0)')
    if spec.kind == "weight":
        body += [
            'masks = select(scores, model, 0.8, "class-blind")   # or class-uniform, class-distribution',
            "masks.apply(model)                                  # pruned weights set to 0 in place",
            'print(masks.stats(model)["overall"])',
        ]
    else:
        body += [
            'mask = select_units(scores, model, 0.5, "per-layer")   # or "global", normalize="l2"',
            "small = shrink(model, mask)                            # a smaller dense model",
        ]
    return "\n".join(head + body)


def page(spec, cli: dict, used_by: dict[str, set[str]]) -> str:
    fam = family(spec)
    primary = fam[0]
    title = spec.name if display_name(spec) == spec.name else f"{spec.name}: {display_name(spec)}"
    out = [
        "---",
        f"title: {json.dumps(title)}",
        "---",
        "",
        f"# `{spec.name}`" + (f": {display_name(spec)}" if display_name(spec) != spec.name else ""),
        "",
    ]
    if spec.text:
        out += [spec.text, ""]
    elif spec is not primary and primary.text:
        out += [primary.text, ""]
    if spec.formula:
        out += [formula(spec.formula), ""]
    if spec.reconstructed:
        out += [
            '!!! note "Reconstructed"',
            "    The formula is this project's reading of the paper's abstract: the full "
            "text was not at hand. The implementation notes below say which parts are our choice.",
            "",
        ]

    kind = (
        "weight score: one value per weight, shaped like its parameter"
        if spec.kind == "weight"
        else "hidden-unit score: one value per hidden unit of every unit group"
    )
    rows = [("kind", kind)]
    if spec.paper:
        rows.append(
            ("paper", cell(spec.paper.method) + (f": {cell(spec.paper.criterion)}" if spec.paper.criterion else ""))
        )
        if spec.paper.headline:
            rows.append(("the paper's headline", cell(spec.paper.headline) + " (its models and data, for context)"))
    elif spec is not primary and primary.paper:
        rows.append(("paper", cell(primary.paper.method) + f" (see [`{primary.name}`]({primary.name}.md))"))
    rows.append(("data", data_text(spec, cli)))
    rows.append(("cost", cell(spec.cost) or "not stated"))
    if spec.kind == "unit" and spec.how:
        rows.append(("one number per unit", cell(spec.how)))
    rows.append(("fixed options", options_text(spec)))
    if spec.at_init:
        rows.append(("scores", "a re-initialised copy of the model; the mask is meant for training from scratch"))
    if spec.mask_per_seed:
        rows.append(("seeds", "every seed draws a different mask (`--seed`), so studies run it once per seed"))
    if spec.baseline:
        rows.append(("role", "a baseline the other scores are compared against"))
    rows.append(("in the reports", f"labelled **{cell(spec.label)}**"))
    rows.append(("implemented by", f"`{spec.fn.__module__}.{spec.fn.__name__}`"))
    out += [f"| name | `{spec.name}` |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]

    parts = {p.name for p in spec.parts}
    steps = [st for st in spec.steps if st.part is None or st.part in parts]  # as the site leaves them out
    if steps:
        out += ["## Step by step", "", "As the interactive site walks through it:", ""]
        for i, st in enumerate(steps, 1):
            out += [f"{i}. **{st.title}.** {st.text}", ""]
            if st.formula:
                out += ["    " + formula(st.formula), ""]

    others = [s for s in fam if s is not spec]
    if others:
        out += ["## Related scores in the same file", ""]
        for s in others:
            what = options_text(s) if s.fn is spec.fn else f"`{s.fn.__name__}`"
            extra = "; scores at initialisation" if s.at_init else ""
            out.append(
                f"* [`{s.name}`]({s.name}.md): {what}, "
                f"{plural(s.n_batches, 'scoring batch') if s.n_batches else 'no data'}{extra}"
            )
        out.append("")

    out += ["## How nmtprune computes it", ""]
    if spec is primary:
        doc = importlib.import_module(spec.fn.__module__).__doc__ or ""
        first, _, rest = md(doc, spec.fn.__module__).partition("\n")
        out += [f"*{first.strip()}*", "", rest.strip() or "(no further notes)", ""]
    else:
        out += [f"As [`{primary.name}`]({primary.name}.md#how-nmtprune-computes-it), with the options above.", ""]
    doc = (spec.fn.__doc__ or "").strip()
    if doc:
        out += ['??? info "The function\'s docstring"', ""]
        out += ["    " + ln if ln.strip() else "" for ln in md(_dedent(doc), spec.fn.__name__).splitlines()]
        out.append("")

    out += [
        "## Run it",
        "",
        "From the command line, on the shipped reference model:",
        "",
        "```bash",
        command(spec, cli),
        "```",
        "",
    ]
    if spec.kind == "weight" and spec.needs_data:
        out += [
            f"The score is computed on {spec.n_batches} batches of the model's own training split; "
            "`--seed` picks which.",
            "",
        ]
    out += ["In Python:", "", "```python", python(spec), "```", ""]

    out += ["## Results on the reference model", ""]
    stems = sorted(s for s, names in used_by.items() if spec.name in names)
    with_report = [s for s in stems if report_title(s)]
    if with_report:
        out += [f"Studies that run `{spec.name}` (the reports label it **{cell(spec.label)}**):", ""]
        for s in with_report:
            out.append(
                f"* [{report_title(s)}](../reports/{s}/REPORT.md), made by `nmtprune sweep studies/{s}.yaml` "
                f"and `nmtprune report studies/{s}.yaml`"
            )
        out.append("")
    else:
        out += [
            "No study of this repository runs it yet. Add it to a study's `prune_eval` methods (see "
            "[Studies and reports](../studies.md)) to measure it.",
            "",
        ]

    vids = videos(spec)
    if vids:
        sel, stem = vids[0]
        out += [
            "## Video",
            "",
            f"How `{spec.name}` prunes the reference model ({sel}):",
            "",
            f"![{spec.name}, {sel}](../videos/{stem}.gif)",
            "",
            "MP4: " + " · ".join(f"[{s}](../videos/{st}.mp4)" for s, st in vids),
            "",
        ]
    return "\n".join(out)


def _dedent(doc: str) -> str:
    import inspect

    return inspect.cleandoc(doc)


def index(cli: dict, used_by: dict[str, set[str]]) -> str:
    out = [
        "# Pruning methods",
        "",
        "nmtprune prunes a model in three independent parts: a **score** gives every weight (or every hidden "
        "unit) a number, lower meaning pruned first; a **selection** turns the scores into masks at a target "
        "sparsity; a **schedule** says when pruning happens during (re)training. Every score below is "
        "registered with a spec that says what it needs and costs; these pages are written from those specs "
        "at every build. Scores installed by a [plugin](../plugins.md) appear here too.",
        "",
    ]
    for kind in ("weight", "unit"):
        names = score_names(kind)
        if not names:
            continue
        out += [f"## {KIND_TITLE[kind]}", "", "| score | method | data | cost | studies |", "|---|---|---|---|---|"]
        for n in names:
            s = get_score(n)
            primary = family(s)[0]
            method = (s.paper or primary.paper).method if (s.paper or primary.paper) else display_name(s)
            if s is not primary:
                method += (
                    f" (as [`{primary.name}`]({primary.name}.md), {options_text(s)})" if s.fn is primary.fn else ""
                )
            data = plural(s.n_batches, "batch") if s.needs_data else "none"
            stems = sorted(st for st, ns in used_by.items() if n in ns and report_title(st))
            studies_ = ", ".join(f"[{st}](../reports/{st}/REPORT.md)" for st in stems) or "–"
            out.append(f"| [`{n}`]({n}.md) | {cell(method)} | {data} | {cell(s.cost)} | {studies_} |")
        out.append("")
        if kind == "unit":
            out += [
                "Data: the batches a score gets by default through the Python API (`run_score` with a batch "
                "source). `nmtprune prune-units --batches N` gives every data-driven unit score N minibatches "
                f"(default {option(cli['prune-units'], '--batches').default}).",
                "",
            ]

    out += ["## Selection", "", "`nmtprune prune --select` (weight scores):", ""]
    out += [
        md(importlib.import_module("nmtprune.prune.select").__doc__, "nmtprune.prune.select")
        .partition("\n")[2]
        .strip(),
        "",
    ]
    out += [
        "For hidden units, `nmtprune prune-units` removes the same fraction of every layer's units "
        "(`--per-layer`, the default), ranks all units together (`--global`), or takes per-layer fractions "
        "(`--ratios GROUP=F ...`). Raw scores of different layers can differ by a large factor, so a global "
        'ranking can empty a layer, which is refused; in Python, `select_units(..., "global", '
        'normalize="l2")` divides each group\'s scores by their l2 norm first, as the units study does.',
        "",
    ]

    out += ["## Schedules", "", "| schedule | in reports | from |", "|---|---|---|"]
    for n in schedule_names():
        s = get_schedule(n)
        out.append(f"| `{n}` | {cell(s.label.replace('{rounds}', 'n'))} | {cell(s.paper.method) if s.paper else '–'} |")
    out += [
        "",
        md(importlib.import_module("nmtprune.prune.gradual").__doc__, "nmtprune.prune.gradual").strip(),
        "",
        "`nmtprune prune` is one-shot; `nmtprune retrain` then trains with the masks fixed. The other "
        "schedules run inside studies (`retrain.scheduled`, e.g. `gradual:magnitude`; see "
        "[Studies and reports](../studies.md)) or from Python with "
        "`nmtprune.prune.retrain.prune_while_training`.",
        "",
    ]

    out += [
        "## Weight classes",
        "",
        md(importlib.import_module("nmtprune.models.weight_classes").__doc__, "nmtprune.models.weight_classes").strip(),
        "",
        "`nmtprune info MODEL` prints them for any checkpoint; `nmtprune prune --classes` restricts pruning "
        "to some of them.",
        "",
    ]

    out += [
        "## Growing regularization (GReg)",
        "",
        "GReg is not a score but a training phase before unit pruning: `nmtprune greg MODEL --mode greg-1 "
        "--fraction 0.5 --out DIR`, then `nmtprune retrain DIR` as for any unit-pruned model.",
        "",
    ]
    greg = md(importlib.import_module("nmtprune.prune.units.greg").__doc__, "nmtprune.prune.units.greg")
    out += ['??? info "How nmtprune implements GReg-1 and GReg-2"', ""]
    out += ["    " + ln if ln.strip() else "" for ln in greg.splitlines()]
    out.append("")

    for name in ("prune", "prune-units"):
        out += [f'??? example "`nmtprune {name} --help`"', "", "    ```text"]
        out += ["    " + ln for ln in cli[name].format_help().rstrip().splitlines()]
        out += ["    ```", ""]
    return "\n".join(out)


def main() -> None:
    cli = subcommands()
    used_by = {stem: scores_of(study) for stem, study in studies().items()}
    offered = {
        "weight": set(option(cli["prune"], "--score").choices or ()),
        "unit": set(option(cli["prune-units"], "--score").choices or ()),
    }
    summary = ["* [Overview](index.md)"]
    for kind in ("weight", "unit"):
        names = score_names(kind)
        if names:
            summary.append(f"* {KIND_TITLE[kind]}")
        for n in names:
            spec = get_score(n)
            if n not in offered[kind]:
                log.warning(
                    "methods/%s.md: score %r is registered but `nmtprune %s --score` does not offer it",
                    n,
                    n,
                    "prune" if kind == "weight" else "prune-units",
                )
            with mkdocs_gen_files.open(f"methods/{n}.md", "w") as f:
                f.write(page(spec, cli, used_by))
            mkdocs_gen_files.set_edit_path(f"methods/{n}.md", "gen_methods.py")
            summary.append(f"    * [{n}]({n}.md)")
    with mkdocs_gen_files.open("methods/index.md", "w") as f:
        f.write(index(cli, used_by))
    write_nav("methods/SUMMARY.md", "\n".join(summary) + "\n")


main()
