"""The export's schema (a JSON Schema subset) and its validator: the site reads nothing else.

No third-party validator is needed: :func:`validate` implements the few keywords the schema uses
(type, required, properties, additionalProperties, items, enum, const, minimum, maximum) and then
the cross-checks a schema cannot say (array sizes match shapes, methods name known scores).
The schema is also written into the built site as ``data/export.schema.json`` for readers.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .export import FORMAT, VERSION

__all__ = ["SCHEMA", "validate", "ExportError"]


class ExportError(ValueError):
    pass


_NUM = {"type": "number"}
_NUM_OR_NULL = {"type": ["number", "null"]}
_STR = {"type": "string"}
_INT0 = {"type": "integer", "minimum": 0}
_STEP = {
    "type": "object",
    "required": ["title", "text", "formula", "viz", "threshold"],
    "properties": {
        "title": _STR,
        "text": _STR,
        "formula": _STR,
        "readout": _STR,
        "of": _STR,
        "training": _STR,
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
        "threshold": {"enum": ["none", "global", "class", "group"]},
    },
}
# log: bins over log10 of the positive values, values <= 0 counted in zeros (a score part, nmtprune.prune.spec.Part)
_HIST = {
    "type": "object",
    "required": ["lo", "hi", "bins", "counts"],
    "properties": {
        "lo": _NUM,
        "hi": _NUM,
        "bins": {"type": "integer", "minimum": 1},
        "counts": {"type": "object"},
        "log": {"type": "boolean"},
        "zeros": {"type": "object"},
        "label": _STR,
        "ranges": {"type": "object"},
    },
}  # per-key [lo, hi]: each key on its own bins (unit scores)
_GROUP_HIST = {
    "type": "object",
    "required": ["lo", "hi", "counts"],
    "properties": {"lo": _NUM, "hi": _NUM, "counts": {"type": "array", "items": _INT0}},
}
# a hidden-unit method's layers and model size per level (nmtprune.site.units)
# (scope, normalize, limit: last level the selection allows; cut: the highest compared score removed)
_UNITS = {
    "type": "object",
    "required": ["scope", "normalize", "limit", "bins", "groups", "params", "dense_params"],
    "properties": {
        "scope": {"enum": ["per-layer", "global"]},
        "normalize": {"enum": ["none", "l2", "mean"]},
        "limit": {"type": "integer", "minimum": 0, "maximum": 98},
        "bins": {"type": "integer", "minimum": 1},
        "pooled": _HIST,
        "dense_params": {"type": "integer", "minimum": 1},
        "params": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "groups": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "members", "size", "kept", "cut", "hist"],
                "properties": {
                    "name": _STR,
                    "members": {"type": "array", "items": _STR},
                    "size": {"type": "integer", "minimum": 1},
                    "kept": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                    "cut": {"type": "array", "items": _NUM_OR_NULL},
                    "hist": _GROUP_HIST,
                },
            },
        },
    },
}
# a retraining-frames artifact (nmtprune.site.frames), as the export embeds it
_TRAINING = {
    "type": "object",
    "required": [
        "id",
        "kind",
        "method",
        "sparsity",
        "provenance",
        "model",
        "recipe",
        "param",
        "shape",
        "rule",
        "rows",
        "cols",
        "row_stride",
        "col_stride",
        "blocks",
        "w0_scale",
        "w0",
        "keep",
        "delta_scale",
        "frames",
        "traces",
        "dense_dev_ppl",
        "matched_model",
    ],
    "properties": {
        "id": _STR,
        "kind": {"enum": ["retrain", "from-init", "greg"]},
        "method": _STR,
        # kind greg (nmtprune.site.greg_frames): the penalty phase's schedule and what it buys
        "greg": {
            "type": "object",
            "required": [
                "mode",
                "fraction",
                "delta",
                "every",
                "ceiling",
                "stabilize",
                "removed",
                "removed_rows",
                "ppl_after_penalty",
                "ppl_after_penalty_pruned",
            ],
        },
        "sparsity": {"type": "number", "minimum": 0, "maximum": 1},
        "provenance": {"type": "object", "required": ["command", "commit", "seed"]},
        "model": {"type": "object", "required": ["hash"]},
        "recipe": {"type": "object", "required": ["steps", "every", "optimizer", "lr", "batch_size", "dev_sentences"]},
        "rows": {"type": "integer", "minimum": 1},
        "cols": {"type": "integer", "minimum": 1},
        "w0_scale": _NUM,
        "delta_scale": _NUM,
        "w0": _STR,
        "keep": _STR,
        "matched_model": {"type": "boolean"},
        "frames": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["step", "dev_ppl", "train_loss", "delta", "drift", "pruned_nonzero"],
                "properties": {
                    "step": _INT0,
                    "dev_ppl": _NUM,
                    "train_loss": _NUM_OR_NULL,
                    "lr": _NUM_OR_NULL,
                    "delta": _STR,
                    "drift": {"type": "object"},
                    "pruned_nonzero": {"const": 0},
                },
            },
        },
        "traces": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["cell", "row", "col", "values"],
                "properties": {"cell": _INT0, "values": {"type": "array", "items": _NUM}},
            },
        },
    },
}
# a unit method's curve point also carries the shrunk model's size (nmtprune.site.results)
_RATIO = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
# the study a kind of curve comes from (the unit-eval curves': results.units)
_RESULTS_OF = {
    "type": "object",
    "required": ["study", "matched_model", "points"],
    "properties": {"matched_model": {"type": "boolean"}, "points": _INT0, "study_path": {"type": ["string", "null"]}},
}  # the YAML that sweeps it
# one retrained point: mean and sample std over training seeds, and the seeds' own values (nmtprune.site.retrained)
_RETRAINED_POINT = {
    "type": "object",
    "required": ["sparsity", "bleu", "bleu_std", "n", "bleus"],
    "properties": {
        "sparsity": {"type": "number", "minimum": 0, "maximum": 100},
        "bleu": _NUM_OR_NULL,
        "bleu_std": _NUM_OR_NULL,
        "n": _INT0,
        "ppl": _NUM_OR_NULL,
        "bleus": {"type": "array", "items": _NUM},
    },
}
_RETRAINED = {
    "type": "object",
    "required": ["kind", "label", "schedule", "study", "study_path", "points"],
    "properties": {
        "kind": {"enum": ["retrain", "scratch", "unit-retrain"]},
        "label": _STR,
        "schedule": _STR,
        "study_path": {"type": ["string", "null"]},
        "matched_model": {"type": "boolean"},
        "points": {"type": "array", "items": _RETRAINED_POINT},
    },
}
_PARAM = {
    "type": "object",
    "required": ["name", "shape", "rows", "cols", "row_stride", "col_stride", "rule", "scale", "weights", "blocks"],
    "properties": {
        "name": _STR,
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "rows": {"type": "integer", "minimum": 1},
        "cols": {"type": "integer", "minimum": 1},
        "row_stride": {"type": "integer", "minimum": 1},
        "col_stride": {"type": "integer", "minimum": 1},
        "rule": _STR,
        "scale": _NUM,
        "weights": _STR,
        "blocks": {"type": "array", "items": {"type": "object", "required": ["name", "r0", "r1", "c0", "c1"]}},
    },
}
# a weight score's matrix read-out, per shown cell of every exported matrix {param: b64}: score_at its
# score (float32, little-endian), class_percentile floor(100·r/N_c) (uint8; r: the weights of its
# class scoring lower, N_c: the class's size). Hidden-unit scores have neither. (export._cells)
_CELLS = {"type": "object", "additionalProperties": _STR}
SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "nmtprune site export",
    "type": "object",
    "required": [
        "format",
        "version",
        "model",
        "levels",
        "classes",
        "scores",
        "selections",
        "methods",
        "training",
        "results",
        "samples",
    ],
    "properties": {
        "format": {"const": FORMAT},
        "version": {"const": VERSION},
        "model": {
            "type": "object",
            "required": ["hash", "corpus", "arch", "total"],
            "properties": {"total": {"type": "integer", "minimum": 1}},
        },
        "levels": {
            "type": "object",
            "required": ["min", "max", "step"],
            "properties": {
                "min": {"const": 0},
                "max": {"type": "integer", "minimum": 1, "maximum": 99},
                "step": {"const": 1},
            },
        },
        "classes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "paper", "size", "params"],
                "properties": {
                    "name": _STR,
                    "paper": _STR,
                    "size": {"type": "integer", "minimum": 1},
                    "params": {"type": "array", "items": _PARAM},
                },
            },
        },
        "scores": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "label", "text", "formula", "histogram", "parts"],
                "properties": {
                    "histogram": _HIST,
                    "parts": {"type": "object"},
                    "histogram_log": _HIST,
                    "score_at": _CELLS,
                    "class_percentile": _CELLS,
                },
            },
        },  # the walk-through's log-axis histogram, when one reads better
        "selections": {"type": "array", "items": {"type": "object", "required": ["name", "label", "text", "formula"]}},
        "methods": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "id",
                    "score",
                    "selection",
                    "label",
                    "global_threshold",
                    "class_threshold",
                    "class_sparsity",
                    "pruned_at",
                    "curve",
                    "samples",
                    "steps",
                    "training",
                ],
                "properties": {
                    "global_threshold": {"type": "array", "items": _NUM_OR_NULL},
                    "units": _UNITS,
                    "training": {"type": "array", "items": _STR},
                    "retrained": {"type": "array", "items": _RETRAINED},
                    "steps": {"type": "array", "items": _STEP},
                    "curve": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["sparsity", "bleu", "ppl"],
                            "properties": {
                                "sparsity": {"type": "number", "minimum": 0, "maximum": 100},
                                "bleu": _NUM_OR_NULL,
                                "ppl": _NUM_OR_NULL,
                                "n": {"type": "integer", "minimum": 1},
                                "params_ratio": _RATIO,
                            },
                        },
                    },
                    "samples": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["level", "hyps"],
                            "properties": {
                                "level": {"type": "integer", "minimum": 0, "maximum": 99},
                                "hyps": {"type": "array", "items": _STR},
                            },
                        },
                    },
                },
            },
        },
        "training": {"type": "array", "items": _TRAINING},
        "results": {
            "type": "object",
            "properties": {
                "units": _RESULTS_OF,
                "study_path": {"type": ["string", "null"]},
                "dense_continued": {"type": "object", "additionalProperties": _RETRAINED_POINT},
            },
        },
        "samples": {
            "type": "object",
            "required": ["sources", "references", "levels"],
            "properties": {"sources": {"type": "array", "items": _STR}, "references": {"type": "array", "items": _STR}},
        },
    },
}

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "null": type(None),
    "boolean": bool,
}


def _check(value: Any, schema: dict, path: str) -> None:
    if "const" in schema and value != schema["const"]:
        raise ExportError(f"{path}: expected {schema['const']!r}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise ExportError(f"{path}: {value!r} not one of {schema['enum']}")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(
            isinstance(value, _TYPES[t]) and not (t in ("integer", "number") and isinstance(value, bool)) for t in types
        ):
            raise ExportError(f"{path}: expected {'/'.join(types)}, got {type(value).__name__}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise ExportError(f"{path}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise ExportError(f"{path}: {value} > {schema['maximum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise ExportError(f"{path}: missing {key!r}")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _check(value[key], sub, f"{path}.{key}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):  # the schema of every key that ``properties`` does not name
            for key in value.keys() - schema.get("properties", {}).keys():
                _check(value[key], extra, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            _check(v, schema["items"], f"{path}[{i}]")


def _nbytes(b64: str, path: str) -> int:
    try:
        return len(base64.b64decode(b64, validate=True))
    except ValueError as exc:
        raise ExportError(f"{path}: not base64 ({exc})") from None


def validate(export: dict) -> dict:
    """Raise :class:`ExportError` naming the first problem; return ``export`` when it is valid."""
    _check(export, SCHEMA, "export")
    json.dumps(export, allow_nan=False)  # NaN/inf are not JSON; a browser's JSON.parse would refuse them
    n_levels = export["levels"]["max"] + 1
    params = {p["name"]: p for c in export["classes"] for p in c["params"]}
    cls = {c["name"] for c in export["classes"]}
    for p in params.values():
        if _nbytes(p["weights"], p["name"]) != p["rows"] * p["cols"]:
            raise ExportError(f"{p['name']}: weights hold the wrong number of cells")
    scores, sels = {s["name"]: s for s in export["scores"]}, {s["name"] for s in export["selections"]}
    for s in scores.values():
        for part, h in s["parts"].items():
            _check(h, _HIST, f"score {s['name']}.parts.{part}")
        for key, h in (("histogram", s["histogram"]), *s["parts"].items()):
            if any(len(c) != h["bins"] for c in h["counts"].values()):
                raise ExportError(f"score {s['name']}.{key}: every count list needs one count per bin")
    for s in scores.values():
        for key, size in (("score_at", 4), ("class_percentile", 1)):
            if key not in s:
                continue
            if set(s[key]) != set(params):
                raise ExportError(f"score {s['name']}.{key} must cover exactly the exported matrices")
            for name, b in s[key].items():
                if _nbytes(b, f"score {s['name']}.{key}.{name}") != size * params[name]["rows"] * params[name]["cols"]:
                    raise ExportError(f"score {s['name']}.{key}.{name}: the wrong number of cells")
    training = {t["id"]: t for t in export["training"]}
    if len(training) != len(export["training"]):
        raise ExportError("training: two artifacts share an id")
    for t in training.values():
        where, cells = f"training {t['id']}", t["rows"] * t["cols"]
        if _nbytes(t["w0"], where) != cells or _nbytes(t["keep"], where) != cells:
            raise ExportError(f"{where}: w0/keep hold the wrong number of cells")
        if not t["frames"] or any(_nbytes(f["delta"], where) != cells for f in t["frames"]):
            raise ExportError(f"{where}: every frame needs one delta per shown cell")
        steps = [f["step"] for f in t["frames"]]
        if steps != sorted(set(steps)) or any(len(tr["values"]) != len(steps) for tr in t["traces"]):
            raise ExportError(f"{where}: frames must have increasing steps and traces one value per frame")
        if t["kind"] == "greg":
            if "greg" not in t or _nbytes(t["greg"]["removed_rows"], where) != t["rows"]:
                raise ExportError(
                    f"{where}: a GReg artifact needs its greg block with one removed-row flag per shown row"
                )
            if any(f.get("lam") is None or "norms" not in f for f in t["frames"]):
                raise ExportError(f"{where}: every GReg frame needs its lambda and unit norms")
    n_src = len(export["samples"]["sources"])
    for m in export["methods"]:
        where = f"method {m['id']}"
        if m["score"] not in scores or m["selection"] not in sels:
            raise ExportError(f"{where}: unknown score or selection")
        for st in m["steps"]:
            if st["viz"] == "training" and st.get("training") not in training:
                raise ExportError(f"{where}: step {st['title']!r} shows unknown training frames {st.get('training')!r}")
            pooled = st.get("of") == "pooled" and "pooled" in m.get("units", {})  # a global unit method's pool
            if "of" in st and st["of"] not in scores[m["score"]]["parts"] and not pooled:
                raise ExportError(f"{where}: step {st['title']!r} shows unknown part {st['of']!r}")
            if st["viz"] in ("units", "shrink", "unit-histograms") and "units" not in m:
                raise ExportError(f"{where}: step {st['title']!r} draws hidden units, the method has none")
            if st.get("hist") == "score" and set(scores[m["score"]]["histogram"].get("ranges", {})) != {
                g["name"] for g in m.get("units", {}).get("groups", [])
            }:
                raise ExportError(f"{where}: step {st['title']!r} needs the score's histogram per unit group")
        if "units" in m:
            u = m["units"]
            if len(u["params"]) != n_levels or any(
                len(g["kept"]) != n_levels or max(g["kept"]) > g["size"] for g in u["groups"]
            ):
                raise ExportError(f"{where}: units need one kept count (<= size) and parameter count per level")
            if any(len(g["cut"]) != n_levels or len(g["hist"]["counts"]) != u["bins"] for g in u["groups"]):
                raise ExportError(f"{where}: every unit group needs one cut per level and one count per bin")
            if any(b > a for a, b in zip(u["params"], u["params"][1:])) or u["params"][0] > u["dense_params"]:
                raise ExportError(f"{where}: the shrunk model cannot grow as more units are removed")
        xs = [pt["sparsity"] for pt in m["curve"]]
        if xs != sorted(set(xs)):
            raise ExportError(f"{where}: curve points need increasing sparsity (fraction of units removed)")
        if any("params_ratio" in pt for pt in m["curve"]) and "units" not in m:
            raise ExportError(f"{where}: a curve of unit-eval results on a method without hidden units")
        if any(t not in training for t in m["training"]):
            raise ExportError(f"{where}: names unknown training frames")
        if set(m["pruned_at"]) != set(params):
            raise ExportError(f"{where}: pruned_at must cover exactly the exported matrices")
        for name, b in m["pruned_at"].items():
            if _nbytes(b, f"{where}.{name}") != params[name]["rows"] * params[name]["cols"]:
                raise ExportError(f"{where}.{name}: pruned_at holds the wrong number of cells")
        if (
            len(m["global_threshold"]) != n_levels
            or set(m["class_threshold"]) != cls
            or any(len(v) != n_levels for v in (*m["class_threshold"].values(), *m["class_sparsity"].values()))
        ):
            raise ExportError(f"{where}: thresholds need one value per class and level")
        if any(len(s["hyps"]) != n_src for s in m["samples"]):
            raise ExportError(f"{where}: every sample level needs one hypothesis per source sentence")
    return export
