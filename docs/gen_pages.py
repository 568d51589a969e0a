"""The pages that are copies or lists of repository files, written at build time.

Run by the ``gen-files`` plugin of ``mkdocs.yml``:

* ``reports/<study>/REPORT.md`` and its figures: the committed reports, as ``nmtprune report`` wrote them;
* ``studies.md``: every ``studies/*.yaml`` with what it runs, its commands and its report;
* ``videos.md``: every video under ``docs/videos``;
* ``models/<name>.md``: the model cards of ``models/*/README.md``;
* ``assets/formula.js``: the interactive site's TeX-to-MathML renderer, used for the formulas here too.
"""

from __future__ import annotations

import importlib
import logging
import shutil
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

from nmtprune.prune.registry import get_score, score_names  # noqa: E402

log = logging.getLogger("mkdocs.plugins.nmtprune.gen_pages")

SETTINGS = ("model", "split", "dev_split", "beam", "max_sentences", "report", "compare_with", "replications")


def copy(src: Path, dest: str) -> None:
    with mkdocs_gen_files.open(dest, "wb") as out, open(src, "rb") as f:
        shutil.copyfileobj(f, out)


def reports() -> list[str]:
    stems = sorted(d.name for d in (ROOT / "reports").iterdir() if (d / "REPORT.md").is_file())
    for stem in stems:
        for f in sorted((ROOT / "reports" / stem).iterdir()):
            if f.name == "REPORT.md" or f.suffix == ".png":
                copy(f, f"reports/{stem}/{f.name}")
    write_nav("reports/SUMMARY.md", "".join(f"* [{stem}]({stem}/REPORT.md)\n" for stem in stems))
    return stems


def header_commands(text: str) -> list[str]:
    """The ``nmtprune ...`` lines of a study file's opening comment (with their own comments)."""
    out = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line.lstrip("#").strip()
        if body.startswith("nmtprune "):
            cmd, _, note = body.partition("  #")  # the comment on a line of its own, above its command
            out += ([f"# {note.strip().lstrip('#').strip()}"] if note.strip() else []) + [cmd.rstrip()]
    return out


def score_link(name: str) -> str:
    return f"[`{name}`](methods/{name}.md)" if name in score_names() else f"`{name}`"


def studies(stems_with_report: list[str]) -> None:
    study_doc = importlib.import_module("nmtprune.experiments.study").__doc__ or ""
    doc = to_markdown(study_doc)
    if leftover_notes(doc):
        log.warning(
            "the docstring of nmtprune.experiments.study cites notes outside the repository: %s", leftover_notes(doc)
        )
    quick = (ROOT / "studies" / "see2016_quick.yaml").read_text(encoding="utf-8")
    out = [
        "# Studies and reports",
        "",
        "A **study** is a YAML file under `studies/`: one dense checkpoint, how to evaluate it, and grids of "
        "experiments. `nmtprune sweep` runs its **cells** (one prune, evaluate or retrain each) and writes one "
        "JSON per cell under `results/<study>/`; `nmtprune report` reads those files and writes "
        "`reports/<study>/REPORT.md` with its figures. Nothing is recomputed by the report, and a sweep that is "
        "stopped resumes where it stopped: a cell that already has its JSON is skipped.",
        "",
        "```bash",
        "nmtprune sweep studies/see2016_quick.yaml --status   # what is done and what is left, with a time estimate",
        "nmtprune sweep studies/see2016_quick.yaml            # run what is left (resumable)",
        "nmtprune report studies/see2016_quick.yaml           # reports/see2016_quick/REPORT.md",
        "```",
        "",
        "Useful options of `nmtprune sweep`: `--only KIND ...` runs only some kinds of cells "
        "(`prune-eval`, `retrain`, ...), `--match TEXT ...` only cells whose id contains the text, "
        "`--max-cells N` at most N cells now, `--deadline HH:MM` only cells expected to finish by then, "
        "`--threads N` the torch threads, `--results DIR` / `--work DIR` other folders (e.g. to keep the "
        "committed results untouched, as `make demo` does). A cell whose inputs another study has already "
        "measured is copied from it, with its provenance (`--no-reuse` recomputes). "
        "`nmtprune report --readme README.md` regenerates the README's results tables; "
        "`scripts/reports.sh` rewrites every report.",
        "",
        "## Writing a study",
        "",
        "Copy a study and change what it names; a study of your own model starts with `model: runs/mine/best` "
        "(any checkpoint directory). Unknown keys, unknown scores and bad values are refused before any work "
        "starts. The smallest study of the repository, `studies/see2016_quick.yaml` (what `make demo` runs):",
        "",
        "```yaml",
        quick.rstrip(),
        "```",
        "",
        '??? info "Every section a study can have"',
        "",
    ]
    out += ["    " + ln if ln.strip() else "" for ln in doc.splitlines()]
    out += ["", "## The studies of this repository", ""]
    for f in sorted((ROOT / "studies").glob("*.yaml")):
        text = f.read_text(encoding="utf-8")
        study = yaml.safe_load(text) or {}
        stem = f.stem
        title = report_title(stem)
        out += [f"### `{stem}`", ""]
        if title and stem in stems_with_report:
            out += [f"Report: [{title}](reports/{stem}/REPORT.md)", ""]
        else:
            out += ["No report yet: run the sweep, then `nmtprune report`.", ""]
        facts = [f"model `{study['model']}`"] if "model" in study else []
        if "split" in study:
            n = study.get("max_sentences", 0)
            facts.append(
                f"evaluated on `{study['split']}` ({'whole split' if not n else f'first {n} sentences'}, "
                f"beam {study.get('beam', '?')})"
            )
        sections = [k for k, v in study.items() if k not in SETTINGS and isinstance(v, dict)]
        if sections:
            facts.append("sections " + ", ".join(f"`{s}`" for s in sections))
        names = sorted(scores_of(study), key=lambda n: (n not in score_names(), n))
        if names:
            facts.append("scores " + ", ".join(score_link(n) for n in names))
        for key in ("compare_with", "replications"):
            if study.get(key):
                facts.append(f"{key.replace('_', ' ')} " + ", ".join(f"`{x}`" for x in study[key]))
        out += ["; ".join(facts) + ".", ""]
        cmds = header_commands(text) or [f"nmtprune sweep studies/{stem}.yaml", f"nmtprune report studies/{stem}.yaml"]
        out += ["```bash", *cmds, "```", ""]
    with mkdocs_gen_files.open("studies.md", "w") as fh:
        fh.write("\n".join(out))


def videos() -> None:
    gifs = sorted((DOCS / "videos").glob("*.gif"))
    out = [
        "# Videos",
        "",
        "Each video shows the real reference model (`models/multi30k-en-de`) being pruned by one method, from "
        "0 to high sparsity: the weights of a matrix, which ones go, and BLEU as they go. Some end with frames "
        "of a real (re)training run under the mask. Each is an MP4 with a GIF beside it, made by "
        "`nmtprune video --method SCORE/SELECTION --out docs/videos/NAME.mp4` (see [the site](site.md)).",
        "",
    ]
    names = score_names()
    for gif in gifs:
        stem = gif.stem
        rest = stem[len("units-") :] if stem.startswith("units-") else stem
        score = max((n for n in names if rest.startswith(n + "-")), key=len, default=None)
        what = rest[len(score) + 1 :] if score else rest
        title = f"{get_score(score).label}, {what}" if score else stem
        if stem.startswith("units-"):
            title = f"Hidden units: {title}"
        link = f" ([method](methods/{score}.md))" if score else ""
        out += [f"## {title}", "", f"![{title}](videos/{gif.name})", ""]
        mp4 = gif.with_suffix(".mp4")
        out += [(f"[MP4](videos/{mp4.name})" if mp4.is_file() else "") + link, ""]
    with mkdocs_gen_files.open("videos.md", "w") as fh:
        fh.write("\n".join(out))


def models() -> None:
    """The model cards of models/*/README.md, one page each."""
    names = sorted(d.name for d in (ROOT / "models").iterdir() if (d / "README.md").is_file())
    for name in names:
        copy(ROOT / "models" / name / "README.md", f"models/{name}.md")
    out = [
        "# Reference models",
        "",
        "Trained models shipped in `models/`, each a directory that every command takes as `MODEL` "
        "(`nmtprune info models/NAME` prints its weight classes). Their cards:",
        "",
    ]
    out += [f"* [`models/{n}`]({n}.md)" for n in names]
    with mkdocs_gen_files.open("models/index.md", "w") as fh:
        fh.write("\n".join(out) + "\n")
    write_nav("models/SUMMARY.md", "* [Reference models](index.md)\n" + "".join(f"* [{n}]({n}.md)\n" for n in names))


def main() -> None:
    models()
    copy(ROOT / "nmtprune" / "site" / "static" / "js" / "formula.js", "assets/formula.js")
    studies(reports())
    videos()


main()
