"""One score's site data computed from the model: the only place the site's scoring and decoding happen.

A site-score cell (:mod:`nmtprune.experiments.site_cells`) runs :func:`compute_score` and stores the packed result
(:mod:`.pack`); the site reads it back, and runs :func:`compute_score` itself only when asked to
compute what no cell stored (``nmtprune site --compute-missing``). Both paths share this code, so
the site shows the same bytes either way.

The score is computed once for all its methods: its histograms, its parts (from what the score
recorded, no second scoring pass), the shown cells' values, then each method's pruned-at bytes,
thresholds and sample translations from the same tensors.

Extension point: a selection whose masks are not one nested order per pool registers its builder in
:data:`METHOD_BUILDERS` (signature and result of :func:`.weights.weight_method`), as ``per-row`` does (:mod:`.rows`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

from ...models.weight_classes import weight_classes
from ...prune.select import SCHEMES
from ...train.checkpoint import load_model
from .grid import display_grid
from .names import SAMPLE_LEVELS, UNIT_SCOPES
from .pack import pack
from .rows import row_method
from .runner import score_runner
from .samples import SampleSet, method_samples
from .units import is_unit_score, unit_histogram, unit_method, unit_scores
from .weights import cell_values, histograms, log_histograms, parts, weight_method

__all__ = ["METHOD_BUILDERS", "SiteModel", "compute_score"]

# scheme -> builder of a method's pruned-at bytes and thresholds (see the module docstring)
METHOD_BUILDERS: dict[str, Callable] = {
    **{scheme: weight_method for scheme in SCHEMES},
    "per-row": row_method,  # Wanda's comparison group: each row on its own (.rows)
    **{u: unit_method for u in UNIT_SCOPES},
}


class SiteModel:
    """The dense model and what every score of one site build shares: its weight classes, the shown
    grid of each matrix ``{param: display_grid}``, the scoring runner and the sample sentences.

    Args:
        model_dir: the checkpoint directory.
        max_rows, max_cols: the shown grid's bounds per matrix (:func:`.grid.display_grid`).
        samples: sentences translated per level (0: no decoding at all).
        split: the split they come from (default: the model's dev split).
        score_kwargs: extra keyword arguments for every score function (they win over the defaults).
    """

    def __init__(
        self,
        model_dir: str | Path,
        *,
        max_rows: int = 256,
        max_cols: int = 128,
        samples: int = 3,
        split: Optional[str] = None,
        sample_levels: Sequence[int] = SAMPLE_LEVELS,
        seed: int = 0,
        score_kwargs: Optional[dict] = None,
    ):
        self.model_dir = Path(model_dir)
        self.model, self.cfg, self.src_vocab, self.tgt_vocab = load_model(model_dir)
        self.seed = seed
        self.runner = score_runner(self.cfg, self.src_vocab, self.tgt_vocab, seed, score_kwargs)
        self.classes = weight_classes(self.model)
        self.named = dict(self.model.named_parameters())
        self.grids = {
            p: display_grid(tuple(self.named[p].shape), max_rows, max_cols) for c in self.classes for p in c.params
        }
        self.dense_state = {k: v.clone() for k, v in self.model.state_dict().items()}
        self.samples = (
            SampleSet(self.cfg, self.src_vocab, self.tgt_vocab, split, samples, sample_levels) if samples > 0 else None
        )
        self._dense_hyps: Optional[list[str]] = None

    def dense_hyps(self) -> list[str]:
        """The dense model's translations of the sample sentences (decoded once)."""
        if self._dense_hyps is None:
            self.model.load_state_dict(self.dense_state)
            self._dense_hyps = self.samples.decode(self.model)
        return self._dense_hyps


def _score_data(site: SiteModel, score: str) -> tuple[dict, dict]:
    """(scores, the score entry's data): ``{param: (rows, cols)}`` or ``{group: (n_units,)}``, and its
    histograms, parts and (weight scores) shown cells' values, in the export's key order."""
    model = site.model
    if is_unit_score(score):  # one number per hidden unit; selected per layer or globally
        sc = unit_scores(score, model, site.seed, site.runner.batches)
        return sc, {"histogram": unit_histogram(sc), "parts": {}}
    ctx: dict = {}
    sc = site.runner(score, model, ctx)
    data = {"histogram": histograms(sc, site.classes), "parts": parts(score, model, sc, ctx, site.classes)}
    data.update(cell_values(sc, site.classes, site.grids))  # the matrix read-out's per-cell score and percentile
    log_hist = log_histograms(sc, site.classes)
    if log_hist:  # the walk-through draws this one (see log_histograms)
        data["histogram_log"] = log_hist
    return sc, data


def compute_score(
    site: SiteModel, score: str, schemes: Sequence[str], progress: Callable = print, packed: bool = False
) -> dict:
    """One score's site data: ``{"score": entry data, "methods": [method entries], "samples": info or None}``.

    ``schemes``: the selections of a weight score (:data:`METHOD_BUILDERS`); a unit score
    (``units-<name>``) gets its scopes of ``schemes``, or both when ``schemes`` names none. Each method
    entry is its builder's (pruned-at bytes as base64 text, thresholds, ...) with ``samples`` filled.
    ``packed``: return the compact form a cell stores (:func:`.pack.pack`) instead.
    """
    unit = is_unit_score(score)
    wanted = [s for s in schemes if (s in UNIT_SCOPES) == unit]
    if unit and not wanted:
        wanted = list(UNIT_SCOPES)
    site.model.load_state_dict(site.dense_state)
    sc, data = _score_data(site, score)
    methods = []
    for scheme in wanted:
        progress(f"site export: {score}/{scheme}")
        m = METHOD_BUILDERS[scheme](score, scheme, sc, site.model, site.classes, site.named, site.grids)
        if site.samples is not None:
            m["samples"] = method_samples(
                site.model, site.dense_state, m, sc, site.samples, site.dense_hyps(), progress
            )
        m.pop("_prune", None)  # a builder's pruning hook (unit methods) served the samples; it is not data
        methods.append(m)
    site.model.load_state_dict(site.dense_state)
    out = {"score": data, "methods": methods, "samples": site.samples.info if site.samples else None}
    return pack(out, sc, site.classes) if packed else out
