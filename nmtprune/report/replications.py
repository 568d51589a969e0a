"""Are the findings the same on the other models? The report's checks, run on every replication study.

See et al. checked their findings on a second corpus; a study names its replications (the same grid on
other reference models) under ``replications``, and this section runs the same checks
(:func:`nmtprune.report.checks_further.run_checks`) on each and tabulates the verdicts side by side. Read-only:
a replication whose cells have not run shows "not run", never a guess.
"""

from __future__ import annotations

from pathlib import Path

from ..config import ConfigError
from .checks import MET, NOT_MET, NOT_RUN, TIE, Check
from .checks_further import run_checks
from .collect import Collected, collect
from .sections import table

__all__ = ["replication_section"]

MARK = {MET: "✅", NOT_MET: "❌", NOT_RUN: "⏳", TIE: "🟰"}


def _column(c: Collected) -> tuple[str, dict[str, Check]]:
    """(column label, {check key: check}) of one study."""
    targets, more = run_checks(c)
    label = f"`{c.study.name}` ({Path(c.study.model).name})"
    return label, {k.key: k for k in targets + more}


def replication_section(c: Collected, own: list[Check]) -> str:
    """A table of every check's verdict on this study (``own``: its checks) and on each replication, then
    which findings hold on every model where they ran. "" when the study names no replication."""
    if not c.study.replications:
        return ""
    cols = [(f"`{c.study.name}` ({Path(c.study.model).name})", {k.key: k for k in own})]
    unreadable = []
    for path in c.study.replications:
        try:
            cols.append(_column(collect(path, c.results_dir.parent)))
        except (ConfigError, OSError, ValueError) as e:
            unreadable.append(f"`{path}` ({str(e).splitlines()[0]})")
    keys = list(cols[0][1]) + [k for _, checks in cols[1:] for k in checks if k not in cols[0][1]]
    keys = list(dict.fromkeys(keys))
    claims = {k: next(checks[k].claim for _, checks in cols if k in checks) for k in keys}
    rows = [[k, claims[k]] + [MARK[checks[k].status] if k in checks else "–" for _, checks in cols] for k in keys]
    out = [
        "## Are the findings the same on the other models?",
        "",
        "See et al. checked their findings on a second corpus. The same checks as above, run on each "
        "replication study's own results (✅ met, ❌ not met, 🟰 a tie within noise, ⏳ not run yet; each study's report gives the "
        "numbers):",
        "",
        table(["", "claim"] + [label for label, _ in cols], rows),
        "",
    ]
    ran = [k for k in keys if all(k in checks and checks[k].status != NOT_RUN for _, checks in cols)]
    if ran:
        verdicts = {k: {checks[k].status for _, checks in cols} for k in ran}
        same = [k for k in ran if len(verdicts[k]) == 1]
        differ = [k for k in ran if len(verdicts[k]) > 1]
        out += [
            f"Checks run on every model: {len(ran)}. The same verdict on every model: "
            f"{', '.join(same) or 'none'}. Verdicts that differ between models: {', '.join(differ) or 'none'}."
            + (
                f" Not yet run on every model: {', '.join(k for k in keys if k not in ran)}."
                if len(ran) < len(keys)
                else ""
            ),
            "",
        ]
    if unreadable:
        out += ["Unreadable replication studies: " + "; ".join(unreadable), ""]
    return "\n".join(out)
