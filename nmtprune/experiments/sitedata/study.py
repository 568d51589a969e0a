"""The ``site`` section of a study: which scores the website shows, and the cells that compute them.

One ``site-score`` cell per score computes everything the site shows of it from the model (scores,
selections, translations) once, and stores it compactly (:mod:`.pack`) as its result file (:mod:`nmtprune.experiments.site_cells`); ``nmtprune
site`` then only reads. The site's own settings (shown grid, sample sentences, seed) are part of each
cell's parameters (:func:`.names.site_params`), so the site reads only data made for what it shows.

Example (``studies/site.yaml``)::

    split: test_2016_flickr          # the sample sentences come from the study's split
    site:
      scores: [magnitude, random, obd, units-l1]
      schemes: [class-blind, class-uniform, class-distribution]   # of each weight score
      per_row: [magnitude]                                        # these also get per-row
      scopes: [per-layer, global]                                 # of each units-<unit score>
      samples: 3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .frames import FramesSpec, expand_frames, validate_frames
from .names import KIND, ROW_SCHEME, SAMPLE_LEVELS, UNIT_PREFIX, UNIT_SCOPES, site_params

__all__ = ["SiteSection", "validate_site", "expand_site"]

WEIGHT_SCHEMES = ("class-blind", "class-uniform", "class-distribution")  # the selections the site draws


@dataclass(frozen=True)
class SiteSection:
    scores: tuple[str, ...] = ("magnitude", "random")  # weight scores and units-<unit score>
    schemes: tuple[str, ...] = WEIGHT_SCHEMES  # of each weight score
    # weight scores that also get per-row; a listed score's cell (and id) changes, no other's does
    per_row: tuple[str, ...] = ()
    scopes: tuple[str, ...] = UNIT_SCOPES  # of each hidden-unit score
    samples: int = 3  # sentences translated at each sample level (0: none)
    sample_levels: tuple[int, ...] = SAMPLE_LEVELS  # slider positions (%) with sample translations
    max_rows: int = 256  # shown rows per matrix (strided subsample)
    max_cols: int = 128  # shown columns per matrix
    seed: int = 0  # of the scores and their scoring batches, as the site's
    frames: tuple[FramesSpec, ...] = ()  # short real runs the site animates (:mod:`.frames`)


def validate_site(st, fail: Callable[[str, str], None]) -> None:
    """Name and range checks of the ``site`` section; ``fail(key, message)`` raises."""
    s = st.site
    if s is None:
        return
    from ...prune.registry import score_names

    weight, unit = score_names("weight"), score_names("unit")
    if not s.scores:
        fail("site.scores", "must name at least one score")
    for i, name in enumerate(s.scores):
        is_unit = name.startswith(UNIT_PREFIX) and name[len(UNIT_PREFIX) :] in unit
        if name not in weight and not is_unit:
            fail(
                f"site.scores[{i}]",
                f"names an unknown score {name!r}; known: weight scores {sorted(weight)} "
                f"and {UNIT_PREFIX}<unit score> for {sorted(unit)}",
            )
    for key, names, known in (("schemes", s.schemes, WEIGHT_SCHEMES), ("scopes", s.scopes, UNIT_SCOPES)):
        for i, name in enumerate(names):
            if name not in known:
                how = f" (list the scores that get {ROW_SCHEME} under site.per_row)" if name == ROW_SCHEME else ""
                fail(f"site.{key}[{i}]", f"must be one of {list(known)}, got {name!r}{how}")
    for i, name in enumerate(s.per_row):
        if name not in s.scores or name.startswith(UNIT_PREFIX):
            fail(f"site.per_row[{i}]", f"must name a weight score of site.scores, got {name!r}")
    for key in ("max_rows", "max_cols"):
        if getattr(s, key) < 1:
            fail(f"site.{key}", f"must be >= 1, got {getattr(s, key)}")
    if s.samples < 0:
        fail("site.samples", f"must be >= 0 (0 = no sample translations), got {s.samples}")
    for i, lv in enumerate(s.sample_levels):
        if not 0 <= lv <= 98:
            fail(f"site.sample_levels[{i}]", f"must be a slider position in 0..98 (%), got {lv}")
    validate_frames(s.frames, fail)


def expand_site(study, add: Callable) -> None:
    """One ``site-score`` cell per score of the ``site`` section: ``add(name, kind, **params)``."""
    s = study.site
    for score in s.scores:
        schemes = s.scopes if score.startswith(UNIT_PREFIX) else s.schemes
        if score in s.per_row:
            schemes = (*schemes, ROW_SCHEME)
        params = site_params(
            score,
            schemes,
            seed=s.seed,
            max_rows=s.max_rows,
            max_cols=s.max_cols,
            samples=s.samples,
            split=study.split,
            sample_levels=s.sample_levels,
        )
        add(score, KIND, **params)
    expand_frames(s.frames, add)
