"""The deployable table's variants beyond the committed model's own: the models a deploy study
(``studies/deploy.yaml``) trained, and decoding with a target-vocabulary shortlist.

The targets of the deployable table need models that take hours of training, which
``benchmarks/deployable.py`` does not do; a deploy study trains them with ``nmtprune sweep`` and keeps
each one in its cell's scratch folder (the result file's ``scratch_dir``). This module turns them into
variants the benchmark measures beside the ones it builds:

* a retrained weight-pruning cell (``retrain``): the checkpoint where training ended (``last``; a
  gradual schedule reaches the target sparsity only there), compressed as the magnitude variants are
  (``nmtprune compress``: int8 per row, k-means 4 and 5 bits), each file read back and decoded with
  ``--int8``;
* a retrained hidden-unit cell (``unit-retrain``): its best checkpoint with the removed units cut out
  (``nmtprune shrink``), decoded in fp32, with ``--int8`` and, when onnxruntime is installed, as
  onnxruntime int8 graphs (``nmtprune export-onnx --int8``).

A cell that has not run, or whose scratch folder is gone, is a one-line error naming the cell and the
command that trains it.

:func:`with_shortlist` repeats the PyTorch ``--int8`` variants of uncompressed models with a shortlist
(:mod:`nmtprune.decode.shortlist`), whose file ships with the model.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

__all__ = ["deploy_models", "trained_variants", "stored_and_int8", "with_shortlist"]


def stored_and_int8(name: str, net, shipped: str, size: int, **extra) -> list[dict]:
    """Two variants of one model: decoded as stored (fp32) and with ``--int8``."""
    from nmtprune.decode.int8 import int8_model

    return [
        {"variant": f"{name}, {label}", "shipped": shipped, "bytes": size, "model": model, **extra}
        for label, model in (("fp32", net), ("int8 (--int8)", int8_model(net)))
    ]


def deploy_models(study_path: str, results_dir: str | Path = "results") -> tuple[list[dict], list[str]]:
    """The deploy study's finished training cells, ``{"name", "kind", "dir", "result"}`` each, and a
    sentence per cell still to train (what it is for and the command that trains it).

    ``dir`` is the checkpoint the variant ships: ``last`` of a weight-pruning cell, ``best`` of a
    unit cell (as the units study evaluates it).
    """
    from nmtprune.experiments.store import ResultStore
    from nmtprune.experiments.study import load_study
    from nmtprune.experiments.sweep import plan

    study = load_study(study_path)
    store = ResultStore(Path(results_dir) / study.name)
    out, pending = [], []
    for cell in plan(study, ["retrain", "unit-retrain"]):
        res = store.read(cell)
        how = f"`nmtprune sweep {study_path} --only {cell.kind}` trains it"
        if res is None or res.get("status") != "ok":
            pending.append(f"{cell.id} has not finished training ({how})")
            continue
        scratch = Path(res["metrics"]["scratch_dir"])
        ckpt = scratch / ("best" if cell.kind == "unit-retrain" else "last")
        if not (ckpt / "model.safetensors").is_file():
            raise SystemExit(
                f"deployable.py: {study_path}: cell {cell.id}'s model {ckpt} is gone; "
                f"remove {store.root / (cell.id + '.json')} and run it again ({how})"
            )
        p = cell.params
        if cell.kind == "unit-retrain":
            name = f"units {p['fraction']:.0%} ({p['score']}) retrained, shrunk"
        else:
            name = f"{p['score']} {p['sparsity']:.0%} {p.get('schedule', 'one-shot')} retrained"
        out.append({"name": name, "kind": cell.kind, "dir": ckpt, "result": f"{store.root / cell.id}.json"})
    return out, pending


def _shrunk(src: Path, where: Path):
    """``src``'s unit-masked model with the removed units cut out by ``nmtprune shrink`` into ``where``
    (its ``units.json``, or the units whose weights are all zero); the Loaded model."""
    from nmtprune import api as nmt
    from nmtprune.cli import main

    with contextlib.redirect_stdout(sys.stderr):  # the command prints its output path; stdout is the table's
        if main(["shrink", str(src), "--out", str(where)]) != 0:
            raise SystemExit(f"deployable.py: nmtprune shrink {src} failed")
    return nmt.load(where)


def trained_variants(models: list[dict], work: Path, threads: int, onnx: bool, compressions) -> list[dict]:
    """One variant per way of shipping each trained model (``models`` from :func:`deploy_models`)."""
    from nmtprune import api as nmt
    from nmtprune.compress import COMPRESSED_FILE, compress_directory
    from nmtprune.decode.int8 import int8_model
    from nmtprune.train.checkpoint import load_masks

    out = []
    for i, m in enumerate(models):
        common = {"retrained": m["result"]}
        if m["kind"] == "unit-retrain":
            t0 = time.perf_counter()
            small = _shrunk(m["dir"], work / f"trained{i}-shrunk")
            size = (work / f"trained{i}-shrunk" / "model.safetensors").stat().st_size
            build_s = round(time.perf_counter() - t0, 1)
            out += stored_and_int8(m["name"], small.net, "model.safetensors (fp32)", size, build_s=build_s, **common)
            if onnx:
                from nmtprune.deploy import export_onnx, load_onnx
                from nmtprune.deploy.onnx_runner import ENCODER_FILE, STEP_FILE

                t0, where = time.perf_counter(), work / f"trained{i}-onnx8"
                export_onnx(small.net, work / f"trained{i}-shrunk", where, int8=True)
                out.append(
                    {
                        "variant": f"{m['name']}, onnxruntime int8",
                        "shipped": f"{ENCODER_FILE} + {STEP_FILE}",
                        "bytes": (where / ENCODER_FILE).stat().st_size + (where / STEP_FILE).stat().st_size,
                        **onnx_shortlist_files(where),
                        "model": load_onnx(where, threads=threads)[0],
                        "build_s": round(time.perf_counter() - t0, 1),
                        **common,
                    }
                )
            continue
        trained = nmt.load(m["dir"])
        masks = load_masks(m["dir"])
        for label, method, bits in compressions:
            t0, where = time.perf_counter(), work / f"trained{i}-{method}{bits or ''}"
            compress_directory(m["dir"], where, trained.net, masks, method=method, bits=bits)
            out.append(
                {
                    "variant": f"{m['name']} + {label}, --int8",
                    "shipped": COMPRESSED_FILE,
                    "bytes": (where / COMPRESSED_FILE).stat().st_size,
                    "model": int8_model(nmt.load(where).net),
                    "build_s": round(time.perf_counter() - t0, 1),
                    **common,
                }
            )
    return out


SHORTLISTS = (
    (20, 500),
    (10, 200),
)  # (words per source word, most frequent words): nmtprune shortlist's default, and a shorter one


def onnx_shortlist_files(where: Path) -> dict:
    """What an export ships when it decodes with a shortlist: the hidden-step graph and the softmax
    weights in place of the whole step graph (``shortlist_shipped``, ``shortlist_bytes``)."""
    from nmtprune.deploy.onnx_runner import ENCODER_FILE, HIDDEN_FILE, SOFTMAX_FILE

    files = (ENCODER_FILE, HIDDEN_FILE, SOFTMAX_FILE)
    return {"shortlist_shipped": " + ".join(files), "shortlist_bytes": sum((where / f).stat().st_size for f in files)}


def with_shortlist(variants: list[dict], dense, work: Path) -> list[dict]:
    """The int8 variants of uncompressed models (PyTorch's and onnxruntime's) again, decoding with a target-vocabulary shortlist
    of each size in SHORTLISTS (``nmtprune shortlist``, from the training pairs); the file ships too."""
    from nmtprune import api as nmt
    from nmtprune.decode.shortlist import build_shortlist, shortlisted

    train = nmt.sentences(dense, dense.cfg.data.train_split)
    out = []
    for per_source, frequent in SHORTLISTS:
        t0, name = time.perf_counter(), f"shortlist {per_source}/{frequent}"
        table = build_shortlist(train.src, train.tgt, len(dense.src_vocab), len(dense.tgt_vocab), per_source, frequent)
        table.save(work / f"shortlist-{per_source}-{frequent}.safetensors")
        size = (work / f"shortlist-{per_source}-{frequent}.safetensors").stat().st_size
        build_s = round(time.perf_counter() - t0, 1)
        out += [
            {
                **v,
                "variant": f"{v['variant']} + {name}",
                "shipped": f"{v.get('shortlist_shipped', v['shipped'])} + shortlist.safetensors",
                "bytes": v.get("shortlist_bytes", v["bytes"]) + size,
                "model": shortlisted(v["model"], table),
                "build_s": round(v.get("build_s", 0) + build_s, 1),
            }
            for v in variants
            if v["variant"].endswith(("int8 (--int8)", "onnxruntime int8"))
        ]
    return out
