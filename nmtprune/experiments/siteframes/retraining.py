"""Frames of a real retraining run for the site: surviving weights moving under a fixed mask.

``nmtprune site-frames`` prunes a checkpoint (default: 80 % class-blind magnitude, See et al.'s
headline setting), then runs N real optimizer steps of the retraining recipe
(:func:`nmtprune.prune.retrain.retrain_config`: the reference recipe at half the learning rate)
through the ordinary training loop with the mask held fixed (``train(masks=...)`` re-applies it
after every step). Every ``every`` steps an ``after_step`` hook records, for one matrix:

* the shown cells' change since the start, Δ = w_t − w_0 (int8, one scale for all frames, so the
  frames are comparable), on the same strided grid as the site's matrix view (each cell one real
  weight, see :func:`nmtprune.experiments.sitedata.grid.display_grid`);
* the dev perplexity of the whole model on a fixed set of dev sentences (teacher-forced, eval mode),
  the training loss the loop logged over those steps, and the learning rate;
* per weight class, the RMS change of its surviving weights (how far each class moves).

An at-initialisation score (``snip-init``, ``grasp-init``: its registry entry has ``init``) scores a
variance-scaling re-initialised copy of the checkpoint, not the trained weights; retraining the trained
model under that mask would show nothing SNIP or GraSP do. So for those the run is sparse from scratch
(``kind: "from-init"``): the very copy the score saw (:func:`nmtprune.prune.scores._data.variance_scaling_copy`,
same seed), masked, trained with the reference training recipe (as
:func:`nmtprune.prune.retrain.sparse_from_scratch`, which however starts from the model's own uniform
init); frame 0 is that initialisation. Every other score gives ``kind: "retrain"``.

Pruned weights stay exactly zero in every frame (the loop zeroes them after each step), which the
tests check. The run is short by design (a few minutes on one CPU thread): it shows the *start* of
retraining, where the survivors move most, not a converged run. The artifact is a small JSON file
(format ``nmtprune-site-frames``) with its command, commit, seed and recipe; ``nmtprune site
--frames FILE_OR_DIR`` puts it into the export, and the "how it works" walk-through plays it.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from ..sitedata.encode import b64, q8
from ..sitedata.grid import display_grid, grid_blocks
from ..sitedata.runner import score_runner

__all__ = [
    "FORMAT",
    "VERSION",
    "record_retraining",
    "default_param",
    "load_for_frames",
    "train_logged",
    "encode_frames",
    "run_provenance",
    "recipe_of",
    "panel_of",
    "write_frames",
]

FORMAT = "nmtprune-site-frames"
VERSION = 1


def default_param(names: Sequence[str]) -> str:
    """The last decoder layer's recurrent matrix (its gate blocks are easy to read), else the first name."""
    rec = sorted(n for n in names if n.startswith("decoder.") and "weight_hh" in n)
    return rec[-1] if rec else names[0]


def _dev_subset(cfg, sv, tv, n: int):
    from ...data.batching import ParallelData, load_split

    d = cfg.data
    full = load_split(d.corpus, d.dev_split, d.src_lang, d.tgt_lang, d.lowercase, sv, tv)
    idx = list(range(min(n, len(full))))
    return ParallelData(
        *[[getattr(full, f)[i] for i in idx] for f in ("src", "tgt", "src_tokens", "tgt_tokens", "raw_src", "raw_tgt")]
    )


def load_for_frames(model_dir: str | Path, param: Optional[str], dev_sentences: int):
    """``(model, cfg, src_vocab, tgt_vocab, param, dev_ppl)``: the checkpoint, the recorded matrix
    (default :func:`default_param`; a name that is no prunable matrix is refused) and ``dev_ppl(m)``,
    the perplexity of ``m`` on the first ``dev_sentences`` dev sentences in eval mode (``m``'s mode is
    restored), rounded to 4 decimals."""
    from ...metrics.evaluate import perplexity
    from ...models.weight_classes import weight_classes
    from ...train.checkpoint import load_model

    model, cfg, sv, tv = load_model(model_dir)
    names = [p for c in weight_classes(model) for p in c.params]
    param = param or default_param(names)
    if param not in names:
        raise ValueError(f"{param!r} is not a prunable matrix; choose one of {names}")
    dev = _dev_subset(cfg, sv, tv, dev_sentences)

    def dev_ppl(m) -> float:
        was = m.training
        with torch.no_grad():
            v = perplexity(m.eval(), dev)
        m.train(was)
        return round(v, 4)

    dev_ppl.sentences = len(dev)
    return model, cfg, sv, tv, param, dev_ppl


def train_logged(rcfg, model, vocabs, frames: list[dict], after_step, masks=None) -> None:
    """Run ``train`` on ``model`` in a throw-away folder and give each frame the loss and learning rate
    the loop logged over the steps that end at it (``train_loss``, ``lr``; None where nothing was logged)."""
    from ...train.loop import train

    with tempfile.TemporaryDirectory(prefix="nmtprune-frames-") as tmp:
        train(
            rcfg, Path(tmp) / "run", progress=False, init_model=model, vocabs=vocabs, masks=masks, after_step=after_step
        )
        logged = [json.loads(x) for x in (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines() if x]
    by_step = {r["step"]: r for r in logged if r.get("type") == "train"}
    for f in frames:
        r = by_step.get(f["step"])
        f["train_loss"] = r["loss"] if r else None
        f["lr"] = r["lr"] if r else None


def encode_frames(
    frames: list[dict], deltas: list[np.ndarray], w0: np.ndarray, keep: np.ndarray, grid: dict, traces: int
) -> dict:
    """Quantise each frame's Δ (int8, one scale for all frames) into ``frame["delta"]``; returns the
    artifact's ``w0_scale``, ``w0``, ``keep``, ``delta_scale`` and ``traces`` (the ``traces`` kept cells
    (keep (cells,) uint8) that moved most, with their values per frame)."""
    dscale = float(max(np.abs(d).max() for d in deltas)) or 1.0
    wscale = float(np.abs(w0).max()) or 1.0
    for f, d in zip(frames, deltas):
        f["delta"] = b64(q8(d, dscale))
    moved = np.abs(deltas[-1]) * keep
    pick = [int(i) for i in np.argsort(-moved)[:traces] if moved[i] > 0]
    tr = [
        {
            "cell": i,
            "row": (i // grid["cols"]) * grid["row_stride"],
            "col": (i % grid["cols"]) * grid["col_stride"],
            "values": [round(float(w0[i] + d[i]), 6) for d in deltas],
        }
        for i in pick
    ]
    return {
        "w0_scale": wscale,
        "w0": b64(q8(w0, wscale)),
        "keep": b64(keep.astype(np.uint8)),
        "delta_scale": dscale,
        "traces": tr,
    }


def run_provenance(argv: Optional[list[str]], call: str) -> dict:
    """The artifact's provenance of the command line ``argv``; called from Python (a test, a notebook:
    ``argv`` None), the Python ``call`` stands for the command rather than the host's argv."""
    from ...provenance import provenance

    prov = provenance(argv if argv is not None else [])
    if argv is None:
        prov["command"] = call
    return prov


def recipe_of(t, *, steps: int, every: int, threads: int, dev_ppl, dev_split: str, words: str) -> dict:
    """The artifact's ``recipe``: the run's length and optimizer (``t``: its ``train`` config), the dev
    sentences its perplexity is measured on (``dev_ppl`` from :func:`load_for_frames`) and the recipe in words."""
    return {
        "steps": steps,
        "every": every,
        "optimizer": t.optimizer,
        "lr": t.lr,
        "batch_size": t.batch_size,
        "bf16": t.bf16,
        "threads": threads,
        "dev_sentences": dev_ppl.sentences,
        "dev_split": dev_split,
        "recipe": words,
    }


def panel_of(param: str, shape, grid: dict, cfg) -> dict:
    """The recorded matrix as the site's matrix view draws it: name, shape, shown grid and gate blocks."""
    return {"param": param, "shape": list(shape), **grid, "blocks": grid_blocks(param, shape, grid, cfg)}


def write_frames(art: dict, out: Optional[str | Path]) -> None:
    """Write the artifact to ``out`` (compact JSON; a NaN is an error, not a number the site cannot read)."""
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(art, separators=(",", ":"), allow_nan=False) + "\n", encoding="utf-8")


def record_retraining(
    model_dir: str | Path,
    out: Optional[str | Path] = None,
    *,
    score: str = "magnitude",
    selection: str = "class-blind",
    sparsity: float = 0.8,
    steps: int = 200,
    every: int = 10,
    param: Optional[str] = None,
    rows: int = 48,
    cols: int = 64,
    seed: int = 0,
    dev_sentences: int = 64,
    traces: int = 6,
    threads: int = 1,
    overrides: Sequence[str] = (),
    argv: Optional[list[str]] = None,
    progress=print,
) -> dict:
    """Run the short retraining (an at-init score: training from the scored initialisation) and return
    (and write to ``out``, if given) the frames artifact."""
    from ...config import with_overrides
    from ..grid import model_hash
    from ...prune import get_score, select
    from ...prune.retrain import retrain_config
    from ...prune.scores._data import variance_scaling_copy
    from ...sparse.targets import class_groups

    if steps < every or every < 1:
        raise ValueError(f"need steps >= every >= 1, got steps={steps}, every={every}")
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    from_init = get_score(score).at_init  # an unknown score fails here, before any work
    model, cfg, sv, tv, param, dev_ppl = load_for_frames(model_dir, param, dev_sentences)

    dense_ppl = dev_ppl(model)  # the trained dense model: the reference line in both kinds of run
    # scored as the study scores (seed; scoring batches for a data-driven score)
    masks = select(score_runner(cfg, sv, tv, seed)(score, model), model, sparsity, selection)
    if from_init:  # train the initialisation the score saw, not the trained weights
        model = variance_scaling_copy(model, seed)
    masks.apply(model)
    named = dict(model.named_parameters())
    grid = display_grid(tuple(named[param].shape), rows, cols)
    rs, cs = grid["row_stride"], grid["col_stride"]
    keep = masks[param][::rs, ::cs].reshape(-1).numpy()
    w0 = named[param].detach()[::rs, ::cs].reshape(-1).float().numpy().copy()
    start = {n: p.detach().clone() for _, g in class_groups(model) for n, p in g}
    groups = [(c, [n for n, _ in g]) for c, g in class_groups(model)]
    frames: list[dict] = []
    deltas: list[np.ndarray] = []

    def record(step: int) -> None:
        with torch.no_grad():
            w = named[param].detach()[::rs, ::cs].reshape(-1).float().numpy()
            drift = {}
            for c, ns in groups:
                sq = sum(float(((named[n].detach() - start[n]) * masks[n]).pow(2).sum()) for n in ns)
                kept = sum(int(masks[n].sum()) for n in ns)
                drift[c] = round((sq / max(1, kept)) ** 0.5, 7)
        deltas.append(w - w0)
        frames.append(
            {"step": step, "dev_ppl": dev_ppl(model), "drift": drift, "pruned_nonzero": int(np.count_nonzero(w[~keep]))}
        )  # must stay 0: the mask holds after every step
        progress(f"site-frames: step {step}/{steps}, dev ppl {frames[-1]['dev_ppl']}")

    calls = {"n": 0}

    def after_step(_model, _optimizer) -> None:
        calls["n"] += 1
        if calls["n"] % every == 0:
            record(calls["n"])

    record(0)
    short = [
        f"train.max_steps={steps}",
        f"train.log_every={every}",
        "train.save_every=0",
        f"train.threads={threads}",
        *overrides,
    ]
    # from init: the reference recipe (full learning rate), as sparse_from_scratch; else See et al.'s retraining
    rcfg = with_overrides(cfg, short, "training config", seed=seed) if from_init else retrain_config(cfg, seed, short)
    model.train()
    train_logged(rcfg, model, (sv, tv), frames, after_step, masks=masks)
    prov = run_provenance(
        argv,
        f"nmtprune.experiments.siteframes.retraining.record_retraining({str(model_dir)!r}, score={score!r}, "
        f"selection={selection!r}, sparsity={sparsity}, steps={steps}, every={every}, seed={seed})",
    )
    art = {
        "format": FORMAT,
        "version": VERSION,
        "id": f"{score}/{selection}@{round(sparsity * 100)}",
        "kind": "from-init" if from_init else "retrain",
        "init": {"kind": "variance-scaling", "seed": seed} if from_init else None,
        "provenance": {**prov, "seed": seed, "seconds": round(time.perf_counter() - t0, 1)},
        "model": {"dir": str(model_dir), "hash": model_hash(model_dir), "corpus": cfg.data.corpus},
        "method": f"{score}/{selection}",
        "score": score,
        "selection": selection,
        "sparsity": sparsity,
        "recipe": recipe_of(
            rcfg.train,
            steps=steps,
            every=every,
            threads=threads,
            dev_ppl=dev_ppl,
            dev_split=cfg.data.dev_split,
            words="training config (the reference recipe) from the scored variance-scaling "
            "initialisation, first `steps` steps"
            if from_init
            else "retrain_config (See et al.: half the learning rate), first `steps` steps",
        ),
        "dense_dev_ppl": dense_ppl,
        **panel_of(param, named[param].shape, grid, cfg),
        **encode_frames(frames, deltas, w0, keep, grid, traces),
        "frames": frames,
    }
    write_frames(art, out)
    return art
