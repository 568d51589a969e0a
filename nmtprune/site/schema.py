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
from .schema_training import RESULTS_OF, RETRAINED, RETRAINED_POINT, TRAINING
from .schema_views import CELLS, HIST, NUM_OR_NULL, PARAM, RATIO, STEP, STR, UNITS

__all__ = ["SCHEMA", "validate", "ExportError"]


class ExportError(ValueError):
    pass


# BLEU / perplexity measured at a sparsity (a hidden-unit method's: % of units removed, and the shrunk model's size)
CURVE = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["sparsity", "bleu", "ppl"],
        "properties": {
            "sparsity": {"type": "number", "minimum": 0, "maximum": 100},
            "bleu": NUM_OR_NULL,
            "ppl": NUM_OR_NULL,
            "n": {"type": "integer", "minimum": 1},
            "params_ratio": RATIO,
        },
    },
}

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
                    "name": STR,
                    "paper": STR,
                    "size": {"type": "integer", "minimum": 1},
                    "params": {"type": "array", "items": PARAM},
                },
            },
        },
        "scores": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "label", "text", "formula", "histogram", "parts"],
                "properties": {
                    "histogram": HIST,
                    "parts": {"type": "object"},
                    "histogram_log": HIST,
                    "score_at": CELLS,
                    "class_percentile": CELLS,
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
                    "global_threshold": {"type": "array", "items": NUM_OR_NULL},
                    "units": UNITS,
                    "training": {"type": "array", "items": STR},
                    "retrained": {"type": "array", "items": RETRAINED},
                    "steps": {"type": "array", "items": STEP},
                    "curve": CURVE,
                    # the measured curve of the score's control under the same selection (results.control_curve)
                    "control": {
                        "type": "object",
                        "required": ["score", "label", "curve"],
                        "properties": {"score": STR, "label": STR, "curve": CURVE},
                    },
                    "samples": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["level", "hyps"],
                            "properties": {
                                "level": {"type": "integer", "minimum": 0, "maximum": 99},
                                "hyps": {"type": "array", "items": STR},
                            },
                        },
                    },
                },
            },
        },
        "training": {"type": "array", "items": TRAINING},
        "results": {
            "type": "object",
            "properties": {
                "units": RESULTS_OF,
                "study_path": {"type": ["string", "null"]},
                "dense_continued": {"type": "object", "additionalProperties": RETRAINED_POINT},
            },
        },
        "samples": {
            "type": "object",
            "required": ["sources", "references", "levels"],
            "properties": {"sources": {"type": "array", "items": STR}, "references": {"type": "array", "items": STR}},
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


def _bars_sum(entry: list) -> int:
    """The weights one ``bin_pruned`` bar entry ``[q0, n_q0, ...]`` counts (``[]``: none)."""
    return sum(entry[1:]) if entry else 0


def _check_bin_pruned(bp: dict, score: dict, cls: set, where: str) -> None:
    """A per-row method's weights per bar and pruned-at byte must add up to the score's histogram it shades."""
    hist = score.get(bp.get("axis", ""))
    if not isinstance(hist, dict) or set(bp.get("bars", {})) != cls:
        raise ExportError(f"{where}: bin_pruned must name a histogram of the score and cover every class")
    for c, bars in bp["bars"].items():
        zeros = (hist.get("zeros") or {}).get(c, 0)
        if [_bars_sum(b) for b in bars] != hist["counts"][c] or _bars_sum(bp["zeros"].get(c, [])) != zeros:
            raise ExportError(
                f"{where}: bin_pruned.{c} must count the weights of every bar of the score's {bp['axis']}"
            )
        if any(b and (b[0] < 0 or b[0] + len(b) - 1 > 100) for b in [*bars, bp["zeros"].get(c, [])]):
            raise ExportError(f"{where}: bin_pruned.{c} holds a pruned-at byte outside 0..99")


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
            _check(h, HIST, f"score {s['name']}.parts.{part}")
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
    method_scores = {m["score"] for m in export["methods"]}
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
        for key, curve in (("curve", m["curve"]), ("control", m.get("control", {}).get("curve", []))):
            xs = [pt["sparsity"] for pt in curve]
            if xs != sorted(set(xs)):
                raise ExportError(f"{where}: {key} points need increasing sparsity (fraction of units removed)")
        if "control" in m and m["control"]["score"] in method_scores:
            raise ExportError(f"{where}: its control is drawn beside its curve, never a method of its own")
        if "control" in m and not m["control"]["curve"]:  # a control measured nowhere there is left out
            raise ExportError(f"{where}: a control needs measured points")
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
        if "bin_pruned" in m:
            _check_bin_pruned(m["bin_pruned"], scores[m["score"]], cls, where)
        if any(len(s["hyps"]) != n_src for s in m["samples"]):
            raise ExportError(f"{where}: every sample level needs one hypothesis per source sentence")
    return export
