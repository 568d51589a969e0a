"""The site's per-score data as study cells stored it: read, never computed.

A ``site-score`` cell (``nmtprune sweep studies/site.yaml``, :mod:`nmtprune.experiments.sitedata`)
stores everything the site shows of one score: histograms, the shown cells' values, each method's
pruned-at bytes, thresholds and sample translations. This finds those results under the results
folder (files ``site-score_*.json`` of any study), keeps the exported model's (same ``model_hash``)
made with the settings the site asks for (:func:`nmtprune.experiments.sitedata.names.site_params`:
shown grid, seed and, when translations are shown, the sample sentences) and unpacks them on demand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..experiments.sitedata.names import KIND, site_params, sweep_hint
from ..experiments.sitedata.pack import unpack
from ..experiments.store import read_result

__all__ = ["StoredScores"]

# the parameters that must match; the sample ones only when the site shows translations
_ALWAYS = ("version", "score", "seed", "max_rows", "max_cols")
_SAMPLES = ("samples", "split", "sample_levels")


class StoredScores:
    """The stored site data of one model under ``results_dir``.

    Args:
        results_dir: the results folder (searched recursively), or None for none.
        mhash: the exported model's content hash.
        settings: the :func:`site_params` keywords the site builds with (seed, grid, samples).
    """

    def __init__(self, results_dir, mhash: str, **settings):
        self.settings = settings
        self.rows = []
        root = Path(results_dir) if results_dir else None
        for path in sorted(root.rglob(f"{KIND}_*.json")) if root and root.is_dir() else []:
            res = read_result(path)
            if res and res.get("kind") == KIND and res.get("status") == "ok":
                if (res.get("params") or {}).get("model_hash") == mhash:
                    self.rows.append(res)
        self._unpacked: dict[str, dict] = {}

    def find(self, score: str, scheme: str) -> Optional[dict]:
        """The unpacked data (``{"score", "methods", "samples"}``) of a stored cell that computed
        ``score``/``scheme`` with the site's settings, or None."""
        want = site_params(score, [scheme], **self.settings)
        keys = _ALWAYS + (_SAMPLES if want["samples"] else ())
        for res in self.rows:
            p = res["params"]
            if all(p.get(k) == want[k] for k in keys) and scheme in p.get("schemes", ()):
                if res["id"] not in self._unpacked:
                    self._unpacked[res["id"]] = unpack(res["metrics"])
                return self._unpacked[res["id"]]
        return None

    def hint(self) -> str:
        """The sweep that computes the site's data: the study the stored cells came from (as their command
        names it, else ``studies/<study>.yaml``), else ``studies/site.yaml``."""
        for res in self.rows:
            words = str((res.get("provenance") or {}).get("command") or "").split()
            if "sweep" in words[:-1] and words[words.index("sweep") + 1].endswith((".yaml", ".yml")):
                return sweep_hint(words[words.index("sweep") + 1])
        study = next((res["study"] for res in self.rows if res.get("study")), None)
        return sweep_hint(f"studies/{study}.yaml") if study else sweep_hint()

    def wanted(self) -> str:
        """The settings the site looked for, in words (for the line that says a method is missing)."""
        s = self.settings
        words = f"seed {s['seed']}, grid {s['max_rows']}×{s['max_cols']}"
        if s["samples"]:
            words += f", {s['samples']} samples of {s['split']} at levels {list(s['sample_levels'])}"
        return words
