"""The export split for the browser: a small core file first, the bulky arrays in chunks on demand.

The whole export of the real model is tens of megabytes, nearly all of it per-weight bytes: every
class's shown weights, every method's pruned-at bytes, every retraining run's frames. A page shows
one method, one class and at most one run at a time, so the core (``data/export.json``) keeps
everything else (texts, histograms, curves and their controls' curves, retraining results) and names,
on each object, the chunk that completes it and its size in bytes (``chunk``, ``chunk_bytes``; paths
relative to ``data/``):

* a class's ``c/<i>.json``: ``{"weights": {param: b64}}``;
* a method's ``m/<i>.json``: its per-level arrays and translations (:data:`METHOD_KEYS`), and a
  hidden-unit method's per-group arrays (:data:`UNIT_KEYS` of its ``units``; the rest stays, so the
  core still says which methods remove units);
* a method's pruned-at bytes per class, ``m/<i>-c<j>.json``: ``{"pruned_at": {param: b64}}``
  (the method names them in ``class_chunks`` {class: path} and ``class_chunk_bytes``);
* a retraining run's ``t/<i>.json``: ``{"w0", "keep", "deltas": [b64 per frame]}``;
* a weight score's per-cell values and class percentiles (:data:`CELL_KEYS`) per class,
  ``c/<j>-s<i>.json`` (named like a method's, in the score's ``class_chunks``): fetched only when a
  matrix read-out first asks for them.

:func:`join_export` puts them back, so the validator and the videos read the one full export.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Callable

__all__ = ["METHOD_KEYS", "UNIT_KEYS", "CELL_KEYS", "split_export", "join_export", "read_export", "dumps"]

# a method's keys that only the page showing that method needs
METHOD_KEYS = ("class_threshold", "global_threshold", "class_sparsity", "samples", "bin_pruned")
UNIT_KEYS = ("groups", "params", "pooled")  # of a hidden-unit method's ``units``
CELL_KEYS = ("score_at", "class_percentile")  # of a weight score: {param: b64} per shown cell


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def split_export(export: dict) -> tuple[dict, dict[str, dict]]:
    """``(core, {path: chunk})`` of a full export (which is left unchanged)."""
    core = copy.deepcopy(export)
    chunks: dict[str, dict] = {}

    def put(obj: dict, path: str, chunk: dict, key: str = "chunk") -> None:
        chunks[path] = chunk
        obj[key] = path
        obj[key + "_bytes"] = len(dumps(chunk).encode("utf-8"))

    cls_of = {}
    for j, c in enumerate(core["classes"]):
        put(c, f"c/{j}.json", {"weights": {p["name"]: p.pop("weights") for p in c["params"]}})
        cls_of.update({p["name"]: (j, c["name"]) for p in c["params"]})
    for i, m in enumerate(core["methods"]):
        meta = {k: m.pop(k) for k in METHOD_KEYS if k in m}
        if "units" in m:
            meta["units"] = {k: m["units"].pop(k) for k in UNIT_KEYS if k in m["units"]}
        put(m, f"m/{i}.json", meta)
        by_class: dict = {}
        for pname, q in m.pop("pruned_at").items():
            by_class.setdefault(cls_of[pname], {})[pname] = q
        m["class_chunks"], m["class_chunk_bytes"] = {}, {}
        for (j, cname), pruned_at in sorted(by_class.items()):
            path, chunk = f"m/{i}-c{j}.json", {"pruned_at": pruned_at}
            chunks[path] = chunk
            m["class_chunks"][cname] = path
            m["class_chunk_bytes"][cname] = len(dumps(chunk).encode("utf-8"))
    for i, sc in enumerate(core["scores"]):
        if CELL_KEYS[0] not in sc:
            continue  # a hidden-unit score: one number per unit, no cells
        cells = {k: sc.pop(k) for k in CELL_KEYS}
        sc["class_chunks"], sc["class_chunk_bytes"] = {}, {}
        for j, c in enumerate(core["classes"]):
            path = f"c/{j}-s{i}.json"
            chunk = {k: {p["name"]: v[p["name"]] for p in c["params"]} for k, v in cells.items()}
            chunks[path] = chunk
            sc["class_chunks"][c["name"]] = path
            sc["class_chunk_bytes"][c["name"]] = len(dumps(chunk).encode("utf-8"))
    for i, t in enumerate(core["training"]):
        put(
            t,
            f"t/{i}.json",
            {"w0": t.pop("w0"), "keep": t.pop("keep"), "deltas": [f.pop("delta") for f in t["frames"]]},
        )
    return core, chunks


def join_export(core: dict, read: Callable[[str], dict]) -> dict:
    """The full export from its core and ``read(path) -> chunk`` (the inverse of :func:`split_export`)."""
    ex = copy.deepcopy(core)
    for c in ex["classes"]:
        if "chunk" not in c:
            continue  # already whole
        w = read(c.pop("chunk"))["weights"]
        c.pop("chunk_bytes")
        for p in c["params"]:
            p["weights"] = w[p["name"]]
    for m in ex["methods"]:
        if "chunk" not in m:
            continue
        meta = read(m.pop("chunk"))
        if "units" in meta:
            m["units"].update(meta.pop("units"))
        m.update(meta)
        m.pop("chunk_bytes")
        m["pruned_at"] = {}
        for path in m.pop("class_chunks").values():
            m["pruned_at"].update(read(path)["pruned_at"])
        m.pop("class_chunk_bytes")
    for sc in ex["scores"]:
        if "class_chunks" not in sc:
            continue
        for key in CELL_KEYS:
            sc[key] = {}
        for path in sc.pop("class_chunks").values():
            for key, v in read(path).items():
                sc[key].update(v)
        sc.pop("class_chunk_bytes")
    for t in ex["training"]:
        if "chunk" not in t:
            continue
        ch = read(t.pop("chunk"))
        t.pop("chunk_bytes")
        t["w0"], t["keep"] = ch["w0"], ch["keep"]
        for f, d in zip(t["frames"], ch["deltas"]):
            f["delta"] = d
    return ex


def read_export(path: str | Path) -> dict:
    """A written export (``data/export.json`` of a built site, its chunks beside it), whole."""
    path = Path(path)
    core = json.loads(path.read_text(encoding="utf-8"))
    return join_export(core, lambda rel: json.loads((path.parent / rel).read_text(encoding="utf-8")))
