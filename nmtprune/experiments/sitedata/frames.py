"""The ``frames`` list of a study's ``site`` section: short real runs the site and its videos animate.

Each entry is one ``site-frames`` cell (:mod:`nmtprune.experiments.frames_cells`), whose result is
the frames artifact itself, stored like every cell's result with the command, commit, seed and
machine; ``nmtprune site`` and ``nmtprune video`` read it back from ``results/site/``
(:mod:`nmtprune.site.recorded_frames`) and train nothing. Three kinds of record:

* ``retraining``: a checkpoint pruned by ``score``/``selection`` to ``sparsity`` and retrained under
  its fixed mask for ``steps`` optimizer steps (an at-init score such as ``snip-init``: its scored
  initialisation trained under the mask instead), a frame every ``every`` steps;
* ``greg``: Growing Regularization's penalty phase (``mode`` greg-1 or greg-2) with the schedule of
  the ``unit_greg`` section of ``study``, the units to remove fading out;
* ``sparsegpt``: SparseGPT passing over one LSTM layer's [W_ih W_hh] column by column.

Example (``studies/site.yaml``)::

    site:
      frames:
        - {record: retraining, score: magnitude, selection: class-blind, sparsity: 0.8}
        - {record: greg, mode: greg-1}
        - {record: sparsegpt, sparsity: 0.8}

A key that the entry's record does not use is an error, as an unknown key is anywhere in a study.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable, Optional

__all__ = ["KIND", "FramesSpec", "validate_frames", "expand_frames"]

KIND = "site-frames"  # the cell kind (nmtprune.experiments.defaults.KINDS)

# every record's keys and the recorder's defaults for those left out (None: the recorder chooses)
RECORDS: dict[str, dict] = {
    "retraining": {
        "score": "magnitude",
        "selection": "class-blind",
        "sparsity": 0.8,
        "steps": 200,
        "every": 10,
        "param": None,  # the last decoder recurrent matrix
        "rows": 48,
        "cols": 64,
        "dev_sentences": 64,
        "seed": 0,
    },
    "greg": {
        "mode": "greg-1",
        "study": "studies/units.yaml",
        "fraction": None,  # the unit_greg section's first
        "steps": None,  # the whole penalty phase
        "every": 25,
        "param": None,
        "rows": 48,
        "cols": 64,
        "dev_sentences": 64,
        "seed": 0,
    },
    "sparsegpt": {"layer": "tgt_layer1", "sparsity": 0.8, "rows": 48, "cols": 48, "batches": 4, "seed": 0},
}
GREG_MODES = ("greg-1", "greg-2")


@dataclass(frozen=True)
class FramesSpec:
    """One recorded run; a key left out takes its record's default (:data:`RECORDS`)."""

    record: str = "retraining"  # retraining | greg | sparsegpt
    score: Optional[str] = None
    selection: Optional[str] = None
    sparsity: Optional[float] = None
    steps: Optional[int] = None
    every: Optional[int] = None
    param: Optional[str] = None
    rows: Optional[int] = None
    cols: Optional[int] = None
    dev_sentences: Optional[int] = None
    seed: Optional[int] = None
    mode: Optional[str] = None
    study: Optional[str] = None
    fraction: Optional[float] = None
    layer: Optional[str] = None
    batches: Optional[int] = None

    def params(self) -> dict:
        """The cell's parameters: every key of the record, defaults filled in."""
        own = RECORDS[self.record]
        return {"record": self.record, **{k: own[k] if getattr(self, k) is None else getattr(self, k) for k in own}}

    def name(self) -> str:
        """The cell's name, also the file name a standalone recording of the same run gets."""
        p = self.params()
        if self.record == "greg":
            return f"units-{p['mode']}-per-layer"
        if self.record == "sparsegpt":
            return f"sparsegpt-class-blind-s{round(p['sparsity'] * 100)}"
        return f"{p['score']}-{p['selection']}-s{round(p['sparsity'] * 100)}"


def validate_frames(frames, fail: Callable[[str, str], None]) -> None:
    """Each entry names a known record and only that record's keys, in range; ``fail(key, message)`` raises."""
    from ...prune.registry import score_names, selection_names

    seen: dict[str, int] = {}
    for i, f in enumerate(frames):
        key = f"site.frames[{i}]"
        if f.record not in RECORDS:
            fail(f"{key}.record", f"must be one of {list(RECORDS)}, got {f.record!r}")
        own = RECORDS[f.record]
        for fld in fields(FramesSpec):
            if fld.name != "record" and getattr(f, fld.name) is not None and fld.name not in own:
                fail(f"{key}.{fld.name}", f"is not used by record {f.record!r}; its keys: {sorted(own)}")
        p = f.params()
        if "score" in p and p["score"] not in score_names("weight"):
            fail(
                f"{key}.score", f"names an unknown weight score {p['score']!r}; known: {sorted(score_names('weight'))}"
            )
        if "selection" in p and p["selection"] not in selection_names():
            fail(f"{key}.selection", f"names an unknown selection {p['selection']!r}; known: {selection_names()}")
        if "sparsity" in p and not 0.0 < p["sparsity"] < 1.0:
            fail(f"{key}.sparsity", f"must be in (0, 1), got {p['sparsity']}")
        if "mode" in p and p["mode"] not in GREG_MODES:
            fail(f"{key}.mode", f"must be one of {list(GREG_MODES)}, got {p['mode']!r}")
        for k in ("steps", "every", "rows", "cols", "dev_sentences", "batches"):
            if p.get(k) is not None and p[k] < 1:
                fail(f"{key}.{k}", f"must be >= 1, got {p[k]}")
        if f.record == "sparsegpt" and p["rows"] % 4:
            fail(f"{key}.rows", f"must be a multiple of 4 (the same number of rows per gate), got {p['rows']}")
        if f.record == "retraining" and p["steps"] < p["every"]:
            fail(f"{key}.steps", f"must be >= every ({p['every']}), got {p['steps']}")
        if f.name() in seen:
            fail(key, f"names the same run as site.frames[{seen[f.name()]}] ({f.name()}): the site shows one per name")
        seen[f.name()] = i


def expand_frames(frames, add: Callable) -> None:
    """One ``site-frames`` cell per entry: ``add(name, kind, **params)``."""
    for f in frames:
        add(f.name(), KIND, **f.params())
