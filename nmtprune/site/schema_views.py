"""Sub-schemas of what one method's walk-through shows, and the JSON types the whole schema is built from.

A step of the walk-through, the histograms it draws (a score's, a part's, a unit group's), a hidden-unit
method's layers and shrinking model, the exported matrices and a weight score's per-cell read-outs.
:mod:`.schema` puts them together into the export's schema.
"""

from __future__ import annotations

__all__ = [
    "NUM",
    "NUM_OR_NULL",
    "STR",
    "INT0",
    "STEP",
    "HIST",
    "GROUP_HIST",
    "UNITS",
    "RATIO",
    "PARAM",
    "CELLS",
]

NUM = {"type": "number"}
NUM_OR_NULL = {"type": ["number", "null"]}
STR = {"type": "string"}
INT0 = {"type": "integer", "minimum": 0}
STEP = {
    "type": "object",
    "required": ["title", "text", "formula", "viz", "threshold"],
    "properties": {
        "title": STR,
        "text": STR,
        "formula": STR,
        "readout": STR,
        "of": STR,
        "training": STR,
        "viz": {
            "enum": [
                "histogram",
                "class-histograms",
                "class-bars",
                "matrix",
                "training",
                "units",
                "shrink",
                "unit-histograms",
                "retrained",
            ]
        },
        "hist": {"enum": ["score", "compared"]},
        "threshold": {"enum": ["none", "global", "class", "group", "row"]},
    },
}
# log: bins over log10 of the positive values, values <= 0 counted in zeros (a score part, nmtprune.prune.spec.Part)
HIST = {
    "type": "object",
    "required": ["lo", "hi", "bins", "counts"],
    "properties": {
        "lo": NUM,
        "hi": NUM,
        "bins": {"type": "integer", "minimum": 1},
        "counts": {"type": "object"},
        "log": {"type": "boolean"},
        "zeros": {"type": "object"},
        "label": STR,
        "ranges": {"type": "object"},
    },
}  # per-key [lo, hi]: each key on its own bins (unit scores)
GROUP_HIST = {
    "type": "object",
    "required": ["lo", "hi", "counts"],
    "properties": {"lo": NUM, "hi": NUM, "counts": {"type": "array", "items": INT0}},
}
# a hidden-unit method's layers and model size per level (nmtprune.site.units)
# (scope, normalize, limit: last level the selection allows; cut: the highest compared score removed)
UNITS = {
    "type": "object",
    "required": ["scope", "normalize", "limit", "bins", "groups", "params", "dense_params"],
    "properties": {
        "scope": {"enum": ["per-layer", "global"]},
        "normalize": {"enum": ["none", "l2", "mean"]},
        "limit": {"type": "integer", "minimum": 0, "maximum": 98},
        "bins": {"type": "integer", "minimum": 1},
        "pooled": HIST,
        "dense_params": {"type": "integer", "minimum": 1},
        "params": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "groups": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "members", "size", "kept", "cut", "hist"],
                "properties": {
                    "name": STR,
                    "members": {"type": "array", "items": STR},
                    "size": {"type": "integer", "minimum": 1},
                    "kept": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                    "cut": {"type": "array", "items": NUM_OR_NULL},
                    "hist": GROUP_HIST,
                },
            },
        },
    },
}
# a unit method's curve point also carries the shrunk model's size (nmtprune.site.results)
RATIO = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
PARAM = {
    "type": "object",
    "required": ["name", "shape", "rows", "cols", "row_stride", "col_stride", "rule", "scale", "weights", "blocks"],
    "properties": {
        "name": STR,
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "rows": {"type": "integer", "minimum": 1},
        "cols": {"type": "integer", "minimum": 1},
        "row_stride": {"type": "integer", "minimum": 1},
        "col_stride": {"type": "integer", "minimum": 1},
        "rule": STR,
        "scale": NUM,
        "weights": STR,
        "blocks": {"type": "array", "items": {"type": "object", "required": ["name", "r0", "r1", "c0", "c1"]}},
    },
}
# a weight score's matrix read-out, per shown cell of every exported matrix {param: b64}: score_at its
# score (float32, little-endian), class_percentile floor(100·r/N_c) (uint8; r: the weights of its
# class scoring lower, N_c: the class's size). Hidden-unit scores have neither. (export._cells)
CELLS = {"type": "object", "additionalProperties": STR}
