"""Frames of a real GReg penalty phase for the site: the units to remove fading out before the cut.

Growing Regularization (:mod:`nmtprune.prune.units.greg`, Wang et al. 2021) does not cut at once:
GReg-1 picks the units to remove by L1 (the same units as ``units-l1/per-layer`` at that fraction),
then trains with a penalty λ·‖w_j‖² on those units whose λ grows every K steps up to τ, so their
weights shrink towards zero while the network learns to do without them; only then are they cut.

``nmtprune site-greg`` runs that phase on a checkpoint with the schedule of a study's ``unit_greg``
section (default ``studies/units.yaml``: the very phase the units study runs) through the ordinary
training loop with :class:`~nmtprune.prune.units.greg.GrowingRegularizer` as its ``after_step``
hook, and every ``every`` steps records:

* for one matrix (default: the last decoder layer's W_hh, whose gate rows belong to units) the
  shown cells' change since the start, Δ = w_t − w_0, as a retraining-frames artifact records it
  (:mod:`.retraining`): the removed units' rows fade to 0 while the others move a little;
* λ on the removed units, the magnitude ratio (mean L1 of kept over removed units), and per unit
  group the mean incoming L1 norm of its removed and of its kept units;
* the dev perplexity of the whole (not yet pruned) model on a fixed set of dev sentences.

At the end it measures what the phase buys: the dev perplexity after removing the chosen units now,
against removing the same units from the dense model without any penalty (plain L1 pruning).

The artifact is a retraining-frames file (:data:`.retraining.FORMAT`) of ``kind: "greg"``, attached to
the method ``units-l1/per-layer`` (GReg-1 removes its units), with the extra ``greg`` block. Nothing
is masked during the phase (``keep`` is all ones).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..sitedata.encode import b64
from ..sitedata.grid import display_grid
from .retraining import (
    FORMAT,
    VERSION,
    encode_frames,
    load_for_frames,
    panel_of,
    recipe_of,
    run_provenance,
    train_logged,
    write_frames,
)

__all__ = ["record_greg", "METHOD"]

METHOD = "units-l1/per-layer"  # GReg-1 picks its units as this method does (L1, per layer)


def record_greg(
    model_dir: str | Path,
    out: Optional[str | Path] = None,
    *,
    study: str | Path = "studies/units.yaml",
    mode: str = "greg-1",
    fraction: Optional[float] = None,
    steps: Optional[int] = None,
    every: int = 25,
    param: Optional[str] = None,
    rows: int = 48,
    cols: int = 64,
    seed: int = 0,
    dev_sentences: int = 64,
    threads: int = 1,
    argv: Optional[list[str]] = None,
    progress=print,
) -> dict:
    """Run the GReg penalty phase of ``study``'s ``unit_greg`` schedule (``mode``; ``fraction``: the
    section's first by default; ``steps``: the whole phase by default) and return (and write to
    ``out``, if given) the frames artifact."""
    from ...config import with_overrides
    from ..grid import model_hash
    from ..study import load_study
    from ..unit_study import greg_config
    from ...sparse.targets import class_groups
    from ...prune.units import unit_groups
    from ...prune.units.greg import GrowingRegularizer, _l1

    st = load_study(study, check_model=False)
    spec = st.unit_greg
    if spec is None:
        raise ValueError(f"{study}: has no unit_greg section to take the GReg schedule from")
    if mode not in spec.modes:
        raise ValueError(f"{study}: unit_greg.modes is {list(spec.modes)}; {mode!r} is not among them")
    gcfg = greg_config(spec, mode)
    fraction = spec.fractions[0] if fraction is None else fraction
    total = gcfg.steps()
    steps = total if steps is None else steps
    if not 1 <= every <= steps <= total:
        raise ValueError(f"need 1 <= every ({every}) <= steps ({steps}) <= the phase's {total} steps")
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    model, cfg, sv, tv, param, dev_ppl = load_for_frames(model_dir, param, dev_sentences)

    def pruned_ppl(m, mask) -> float:  # a copy with the units removed (their weights zeroed)
        import copy

        c = copy.deepcopy(m)
        mask.maskset(c).apply(c)
        return dev_ppl(c)

    dense_ppl = dev_ppl(model)
    reg = GrowingRegularizer(model, gcfg, fraction, spec.scope)
    if reg.mask is not None:
        without = pruned_ppl(model, reg.mask)  # plain L1 pruning of the same units, no penalty phase
    named = dict(model.named_parameters())
    grid = display_grid(tuple(named[param].shape), rows, cols)
    rs, cs = grid["row_stride"], grid["col_stride"]
    w0 = named[param].detach()[::rs, ::cs].reshape(-1).float().numpy().copy()
    start = {n: p.detach().clone() for _, g in class_groups(model) for n, p in g}
    groups = [(c, [n for n, _ in g]) for c, g in class_groups(model)]
    unit_names = [g.name for g in unit_groups(model.cfg)]
    frames: list[dict] = []
    deltas: list[np.ndarray] = []

    def record(step: int) -> None:
        with torch.no_grad():
            w = named[param].detach()[::rs, ::cs].reshape(-1).float().numpy()
            drift = {
                c: round(
                    (
                        sum(float((named[n].detach() - start[n]).pow(2).sum()) for n in ns)
                        / max(1, sum(named[n].numel() for n in ns))
                    )
                    ** 0.5,
                    7,
                )
                for c, ns in groups
            }
            l1 = _l1(model)
        phase, lam = gcfg.lam(step if reg.frozen_at is None else reg.frozen_at)
        norms = {}
        for g in unit_names:
            k = reg.mask.keep[g] if reg.mask is not None else None
            norms[g] = {
                "removed": round(float(l1[g][~k].mean()), 6) if k is not None and bool((~k).any()) else None,
                "kept": round(float(l1[g][k].mean() if k is not None else l1[g].mean()), 6),
            }
        deltas.append(w - w0)
        frames.append(
            {
                "step": step,
                "dev_ppl": dev_ppl(model),
                "drift": drift,
                "pruned_nonzero": 0,
                "lam": lam,
                "phase": phase,
                "mag_ratio": reg.mag_ratio(model) if reg.mask is not None else None,
                "norms": norms,
            }
        )
        progress(
            f"site-greg: step {step}/{steps}, lambda {lam:g}, dev ppl {frames[-1]['dev_ppl']}, "
            f"mag ratio {frames[-1]['mag_ratio']}"
        )

    def after_step(m, optimizer) -> None:
        reg(m, optimizer)
        if reg.step % every == 0:
            record(reg.step)

    record(0)
    # the penalty phase as greg_prune runs it: half the reference learning rate, constant
    short = [f"train.max_steps={steps}", f"train.log_every={every}", "train.save_every=0", f"train.threads={threads}"]
    pcfg = with_overrides(
        cfg,
        short,
        "GReg penalty-phase config",
        seed=seed,
        lr=cfg.train.lr * 0.5,
        epochs=total,
        decay_start=0,
        decay_on_plateau=False,
        early_stop_patience=0,
    )
    model.train()
    train_logged(pcfg, model, (sv, tv), frames, after_step)
    model.eval()
    rows_of = np.arange(0, named[param].shape[0], rs)[: grid["rows"]]
    prov = run_provenance(
        argv,
        f"nmtprune.experiments.siteframes.greg.record_greg({str(model_dir)!r}, study={str(study)!r}, "
        f"mode={mode!r}, fraction={fraction}, steps={steps}, every={every}, seed={seed})",
    )
    removed = {g: int((~reg.mask.keep[g]).sum()) for g in unit_names}
    art = {
        "format": FORMAT,
        "version": VERSION,
        "id": f"{mode}/{spec.scope}@{round(fraction * 100)}",
        "kind": "greg",
        "init": None,
        "provenance": {**prov, "seed": seed, "seconds": round(time.perf_counter() - t0, 1)},
        "model": {"dir": str(model_dir), "hash": model_hash(model_dir), "corpus": cfg.data.corpus},
        "method": METHOD,
        "score": "units-l1",
        "selection": spec.scope,
        "sparsity": fraction,
        "recipe": recipe_of(
            pcfg.train,
            steps=steps,
            every=every,
            threads=threads,
            dev_ppl=dev_ppl,
            dev_split=cfg.data.dev_split,
            words=f"GReg penalty phase of {study} (unit_greg, {mode}): half the reference learning "
            f"rate, constant, first `steps` of its {total} steps",
        ),
        "dense_dev_ppl": dense_ppl,
        **panel_of(param, named[param].shape, grid, cfg),
        # nothing is masked during the phase: every shown cell is kept
        **encode_frames(frames, deltas, w0, np.ones(w0.size, dtype=np.uint8), grid, traces=6),
        "frames": frames,
        "greg": {
            "mode": mode,
            "fraction": fraction,
            "scope": spec.scope,
            "delta": gcfg.delta,
            "every": gcfg.every,
            "ceiling": gcfg.ceiling,
            "stabilize": gcfg.stabilize,
            "phase_steps": total,
            "frozen_at": reg.frozen_at,
            "removed": removed,
            # a row of the shown matrix belongs to unit (row mod n): 1 where that unit is removed
            "removed_rows": b64(_removed_rows(model, param, rows_of, reg.mask)),
            "ppl_pruned_without_penalty": without if reg.mask is not None and mode == "greg-1" else None,
            "ppl_after_penalty": frames[-1]["dev_ppl"],
            "ppl_after_penalty_pruned": pruned_ppl(model, reg.mask),
        },
    }
    write_frames(art, out)
    return art


def _removed_rows(model, param: str, rows_of: np.ndarray, mask) -> np.ndarray:
    """uint8 (shown rows,): 1 where the shown row is an incoming row of a removed unit."""
    from ...prune.units import axis_keeps

    rows, _ = axis_keeps(model, mask).get(param, (None, None))
    if rows is None:
        return np.zeros(len(rows_of), dtype=np.uint8)
    return (~rows.numpy()[rows_of]).astype(np.uint8)
