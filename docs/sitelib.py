"""Shared by the documentation build: docstrings turned into Markdown, and what the studies run.

The package's docstrings are written for readers of the source: ``code`` in double backquotes,
:func:`roles`, ``Example::`` literal blocks, reST simple tables, and references to design notes
that are not part of the repository. :func:`to_markdown` turns them into Markdown for the method
pages (``gen_methods.py``); :class:`DocstringsForSite` applies the same to every docstring the API
reference renders (a Griffe extension, named in ``mkdocs.yml``).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

__all__ = [
    "to_markdown",
    "strip_notes",
    "leftover_notes",
    "DocstringsForSite",
    "scores_of",
    "report_title",
    "write_nav",
]

# A design note outside the repository, cited as "obd.md §1", "grasp.md §1-2", "older.md (c)" or
# "l1filter.md §4 (c)". Files the repository holds (README.md, REPORT.md, ...) are not notes.
_KEEP = ("README", "REPORT", "BENCHMARKS", "SOURCE", "ORIGINAL_SOURCE", "plugins", "CHECKSUMS")
_NOTE = (
    r"(?<![\w/.])(?!(?:%s)\.md)[a-z][a-z0-9_]*\.md(?:\s*§\s*[\d.]+(?:\s*[-–]\s*[\d.]+)?)?(?:\s*\([a-z]\))?"
    % "|".join(_KEEP)
)


def strip_notes(text: str) -> str:
    """``text`` without its citations of design notes that live outside the repository."""
    # "As obd.md §3 notes, this is" -> "This is"
    text = re.sub(r"\bAs %s notes,\s*(\w)" % _NOTE, lambda m: m.group(1).upper(), text)
    # a parenthesis that only cites: " (snip.md §1)" -> ""
    text = re.sub(r"\s*\(\s*%s\s*\)" % _NOTE, "", text)
    # "(taylor.md §4: square per minibatch)" / "(older.md (c); only the abstract)" -> "(square ...)"
    text = re.sub(r"\(\s*%s\s*[:;,]\s*" % _NOTE, "(", text)
    # "(ablation, l1filter.md §4 (c))" -> "(ablation)"
    text = re.sub(r"\s*[,;]\s*%s\s*\)" % _NOTE, ")", text)
    # "see2016.md §7, recomputing ..." / "greg.md suggests" -> "recomputing ..." / "the authors suggest"
    text = re.sub(r"%s\s*[,:]\s*" % _NOTE, "", text)
    text = re.sub(r"%s suggests" % _NOTE, "a good rule is", text)
    return text


def leftover_notes(text: str) -> list[str]:
    """Citations of outside notes that :func:`strip_notes` did not recognise (the build warns)."""
    return [m.group(0) for m in re.finditer(_NOTE, text)]


_ROLE = re.compile(r":(?:func|meth|class|mod|attr|data|obj|exc|const):`(~?)([^`]+)`")


def _inline(line: str) -> str:
    # :func:`~a.b.c` -> `c`, :mod:`._data` -> `_data`, :class:`nmtprune.X` -> `nmtprune.X`
    line = _ROLE.sub(
        lambda m: "`%s`" % (m.group(2).rsplit(".", 1)[-1] if m.group(1) or m.group(2).startswith(".") else m.group(2)),
        line,
    )
    line = line.replace("\\ ", "")  # reST's escaped space (":class:`X`\\ s")
    return re.sub(r"``([^`]+)``", r"`\1`", line)


_BORDER = re.compile(r"^\s*=+(\s+=+)+\s*$")


def _table(lines: list[str]) -> list[str]:
    """A reST simple table (``===  ===`` borders) as a Markdown table."""
    border = lines[0]
    spans, start = [], None
    for i, ch in enumerate(border + " "):
        if ch == "=" and start is None:
            start = i
        elif ch != "=" and start is not None:
            spans.append([start, i])
            start = None
    spans[-1][1] = 10**6  # the last column takes the rest of the line

    def cells(line: str) -> list[str]:
        return [_inline(line[a:b].strip()).replace("|", "\\|") for a, b in spans]

    body = [ln for ln in lines if not _BORDER.match(ln) and ln.strip()]
    n_borders = sum(1 for ln in lines if _BORDER.match(ln))
    header, rows = (body[0], body[1:]) if n_borders >= 3 else (None, body)
    out = ["| " + " | ".join(cells(header) if header else [""] * len(spans)) + " |", "|" + "---|" * len(spans)]
    out += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    return [""] + out + [""]


def to_markdown(doc: str) -> str:
    """A docstring (already dedented) as Markdown; design-note citations removed."""
    lines = strip_notes(doc or "").splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _BORDER.match(line):  # a table runs to its third border (or the second, headerless)
            j, borders = i, 0
            while j < len(lines) and (lines[j].strip() or borders < 2):
                borders += bool(_BORDER.match(lines[j]))
                j += 1
                if borders == 3:
                    break
            out += _table(lines[i:j])
            i = j
            continue
        if line.rstrip().endswith("::"):  # a literal block follows
            text = line.rstrip()[:-2].rstrip()
            if text.strip() in ("Example", "Examples", ""):
                text = text.replace(text.strip(), "For example") if text.strip() else ""
            if text:
                out.append(_inline(text) + ":")
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            block = []
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith((" ", "\t"))):
                block.append(lines[j])
                j += 1
            while block and not block[-1].strip():
                block.pop()
            indent = min((len(b) - len(b.lstrip()) for b in block if b.strip()), default=0)
            out += ["", "```"]
            out += [b[indent:] for b in block] + ["```", ""]
            i = j
            continue
        out.append(_inline(line))
        i += 1
    return "\n".join(out).strip() + "\n"


try:  # the Griffe extension; Griffe is there whenever mkdocstrings is (the docs extra)
    from griffe import Extension
except ImportError:  # gen_methods.py only needs to_markdown
    Extension = object


_SECTION = re.compile(r"^(\s*)(Raises|Returns|Yields|Args|Arguments|Attributes):\s*$")
_EXC = re.compile(r"^(\s+)([A-Z]\w*(?:Error|Exception|Warning)|[A-Za-z_][\w.]*\.[A-Z]\w*)(\s+)(?!:)")


def google_sections(doc: str) -> str:
    """Entries of a ``Raises:`` section written without the colon Google style wants after the
    exception ("ValueError listing ..." -> "ValueError: listing ...")."""
    out, section, indent = [], None, 0
    for line in doc.splitlines():
        m = _SECTION.match(line)
        if m:
            section, indent = m.group(2), len(m.group(1))
        elif line.strip() and len(line) - len(line.lstrip()) <= indent:
            section = None
        elif section == "Raises":
            e = _EXC.match(line)
            if e and len(e.group(1)) > indent and not line[e.end(2) :].lstrip().startswith(":"):
                line = f"{e.group(1)}{e.group(2)}:{e.group(3)}{line[e.end() :]}"
        out.append(line)
    return "\n".join(out)


class DocstringsForSite(Extension):
    """Griffe extension: every docstring of the API reference goes through :func:`to_markdown`."""

    def on_instance(self, *, obj, **kwargs) -> None:  # noqa: D102
        if getattr(obj, "docstring", None) is not None and obj.docstring.value:
            obj.docstring.value = google_sections(to_markdown(obj.docstring.value)).rstrip("\n")


def scores_of(study: dict) -> set[str]:
    """The score names a study runs: every string under a key naming scores (``score``, ``scores``,
    ``scratch_scores`` ...), and the score of each ``scheduled`` entry (``gradual:magnitude``)."""
    found: set[str] = set()

    def walk(x, key: str) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, str(k))
        elif isinstance(x, list):
            for v in x:
                walk(v, key)
        elif isinstance(x, str) and ("score" in key or key == "scheduled"):
            found.add(x.split(":")[-1])

    walk(study, "")
    return found


def report_title(stem: str) -> str | None:
    """The title of ``reports/<stem>/REPORT.md``; None when the study has no report yet."""
    f = ROOT / "reports" / stem / "REPORT.md"
    if not f.is_file():
        return None
    return f.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()


def write_nav(path: str, text: str) -> None:
    """Write a generated section's navigation (``SUMMARY.md``, read by the literate-nav plugin) and keep
    it out of the built site: it is the sidebar, not a page."""
    import mkdocs_gen_files
    from mkdocs.structure.files import InclusionLevel
    from mkdocs_gen_files.editor import FilesEditor

    with mkdocs_gen_files.open(path, "w") as f:
        f.write(text)
    generated = FilesEditor.current().files.get_file_from_path(path)
    if generated is not None:
        generated.inclusion = InclusionLevel.EXCLUDED
