"""Cells: the units of a sweep, and how a study expands into them.

A cell is one measurement with every parameter that determines its result: the dense model's
content hash, the kind of experiment, score, selection scheme, sparsity, schedule, retraining and
seed, and the evaluation settings it uses. Its id is a readable name plus a short hash of that full
parameter dict, so two cells with equal ids are the same measurement, and changing the model (or
any setting) gives new ids instead of silently reusing old results.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..prune.registry import get_schedule, get_score, get_selection
from ..prune.retrain import matched_init
from .defaults import KINDS, TRAINED_KINDS  # noqa: F401 - re-exported
from .calibration_study import expand_calibration
from .study import Study
from .sitedata.study import expand_site
from .unit_study import UNIT_SECTIONS, expand_units

__all__ = ["Cell", "KINDS", "TRAINED_KINDS", "model_hash", "expand"]

ONE_SHOT = "one-shot"  # the only schedule See et al. use; part of the cell identity for later ones


@dataclass(frozen=True)
class Cell:
    """One measurement. ``params`` is the full JSON-able parameter dict (``kind`` included)."""

    name: str
    params: dict

    @property
    def kind(self) -> str:
        return self.params["kind"]

    @property
    def digest(self) -> str:
        text = json.dumps(self.params, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]

    @property
    def id(self) -> str:
        return f"{self.name}-{self.digest}"


WEIGHT_FILES = ("model.safetensors", "model.sparse.safetensors")  # dense, or the compressed form


def model_hash(model_dir: str | Path) -> str:
    """sha256 of the checkpoint's weight file bytes (first 16 hex digits)."""
    h = hashlib.sha256()
    path = next(
        (Path(model_dir) / f for f in WEIGHT_FILES if (Path(model_dir) / f).is_file()),
        Path(model_dir) / WEIGHT_FILES[0],
    )
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _pct(s: float) -> str:
    return f"s{round(s * 100):02d}"


def _tag(scheme: str) -> str:
    """A selection's name as it appears in a cell name (a folder): ``2:4`` -> ``2of4``, no colon."""
    return scheme.replace(":", "of")


def expand(study: Study, mhash: str) -> list[Cell]:
    """Every cell of the study, deduplicated by id, in :data:`KINDS` order."""
    test = {
        "split": study.split,
        "beam": study.beam,
        "max_sentences": study.max_sentences,
        "dev_split": study.dev_split,
    }
    dev = {"dev_split": study.dev_split, "max_sentences": study.max_sentences}
    base = {"model_hash": mhash, "schedule": ONE_SHOT}
    cells: list[Cell] = []

    def add(name: str, kind: str, **params) -> None:
        # JSON round trip: the stored params must compare equal to these (tuples would come back as lists)
        cells.append(Cell(f"{kind}_{name}", json.loads(json.dumps({"kind": kind, **base, **params}))))

    def mask(score: str, scheme: str, sparsity: float, seed: int) -> dict:
        return {"score": score, "scheme": scheme, "sparsity": sparsity, "seed": seed}

    pe = study.prune_eval
    if pe:
        add("dense", "prune-eval", **mask(None, None, 0.0, 0), retraining="none", eval=test)
        for m in pe.methods:
            # A deterministic score gives the same mask for every seed: run it once.
            seeds = m.seeds if get_score(m.score).mask_per_seed else m.seeds[:1]
            for scheme in m.schemes:
                # a pattern that fixes its sparsity (N:M) is one point, whatever the sparsities listed
                fixed = get_selection(scheme).fixed_sparsity
                for s in pe.sparsities if fixed is None else (fixed,):
                    for seed in seeds:
                        if s > 0:
                            add(
                                f"{m.score}_{_tag(scheme)}_{_pct(s)}_seed{seed}",
                                "prune-eval",
                                **mask(m.score, scheme, s, seed),
                                retraining="none",
                                eval=test,
                            )
    cb = study.class_breakdown
    if cb:
        from .context import class_names_of  # reads only the config, not the weights

        for score in cb.scores:
            for scheme in cb.schemes:
                for cls in class_names_of(study.model):
                    add(
                        f"{score}_{scheme}_{_pct(cb.sparsity)}_{cls}",
                        "class-breakdown",
                        **mask(score, scheme, cb.sparsity, 0),
                        weight_class=cls,
                        retraining="none",
                        eval=dev,
                    )
    if study.where:
        w = study.where
        for score in w.scores:
            add(
                f"{score}_{w.scheme}_{_pct(w.sparsity)}",
                "where",
                **mask(score, w.scheme, w.sparsity, 0),
                rank_bins=w.rank_bins,
            )
    if study.storage:
        st = study.storage
        for s in st.sparsities:
            add(f"{st.score}_{st.scheme}_{_pct(s)}", "storage", **mask(st.score, st.scheme, s, 0), fp16=st.fp16)
    rt = study.retrain
    curve = study.loss_curve
    if rt or curve:
        rt_scores, rt_scheme = (rt.scores, rt.scheme) if rt else (("magnitude",), "class-blind")
        overrides = list(rt.overrides) if rt else []
        schedules = rt.schedules if rt else (ONE_SHOT,)
        # seed-major: a CPU session that runs a few cells gets whole curves (one seed) first
        points = [(s, seed) for seed in rt.seeds for s in rt.sparsities] if rt else []
        if curve and (curve.sparsity, curve.seed) not in points:
            points.append((curve.sparsity, curve.seed))
        runs = [(score, sched) for score in rt_scores for sched in schedules]
        runs += [(x.partition(":")[2], x.partition(":")[0]) for x in (rt.scheduled if rt else ())]
        for s, seed in points:
            for score, sched in dict.fromkeys(runs):
                if sched == ONE_SHOT:  # See et al.'s cells keep their original names and ids
                    # the random-mask control draws a new mask per seed (mask seed = training seed), so its
                    # spread covers the mask as well as the training; a scored mask is the same for every seed
                    add(
                        f"{score}_{rt_scheme}_{_pct(s)}_seed{seed}",
                        "retrain",
                        **mask(score, rt_scheme, s, seed if get_score(score).mask_per_seed else 0),
                        train_seed=seed,
                        overrides=overrides,
                        retraining="retrain",
                        eval=test,
                    )
                else:  # a data-driven gradual run prunes rt.gradual_events times (data-free: every ~1 %)
                    uses_events = "events" in get_schedule(sched).study_params and get_score(score).needs_data
                    events = {"events": rt.gradual_events} if uses_events else {}
                    add(
                        f"{score}_{sched}_{rt_scheme}_{_pct(s)}_seed{seed}",
                        "retrain",
                        **mask(score, rt_scheme, s, 0),
                        schedule=sched,
                        rounds=rt.rounds,
                        prune_until=rt.prune_until,
                        train_seed=seed,
                        overrides=overrides,
                        retraining="retrain",
                        eval=test,
                        **events,
                    )
        for item in rt.selected if rt else ():  # one-shot under another selection, e.g. wanda@per-row, sparsegpt@2:4
            score, _, scheme = item.partition("@")
            fixed = get_selection(scheme).fixed_sparsity
            for seed in rt.selected_seeds:
                for s in rt.sparsities if fixed is None else (fixed,):
                    add(
                        f"{score}_{_tag(scheme)}_{_pct(s)}_seed{seed}",
                        "retrain",
                        **mask(score, scheme, s, seed if get_score(score).mask_per_seed else 0),
                        train_seed=seed,
                        overrides=overrides,
                        retraining="retrain",
                        eval=test,
                    )

        def scratch(name: str, mask_params: dict, seed: int, **init) -> None:
            """A sparse-from-scratch cell: a new network trained under the mask (none: the dense control)."""
            add(
                name,
                "scratch",
                **mask_params,
                train_seed=seed,
                overrides=list(rt.scratch_overrides),
                retraining="scratch",
                eval=test,
                **init,
            )

        if rt and rt.scratch:
            for seed in rt.scratch_seeds:
                for s in rt.sparsities:
                    for score in rt.scratch_scores or rt_scores:
                        scratch(f"{score}_{rt_scheme}_{_pct(s)}_seed{seed}", mask(score, rt_scheme, s, 0), seed)
                for s in rt.scratch_random:  # the random-mask control (mask seed = training seed)
                    scratch(f"random_{rt_scheme}_{_pct(s)}_seed{seed}", mask("random", rt_scheme, s, seed), seed)
        sm = rt.scratch_matched if rt else None
        for seed in sm.seeds if sm else ():  # each mask from its own initialisation (study_sections.ScratchMatched)
            for s in sm.sparsities:
                for score in sm.scores:
                    spec, init = get_score(score), matched_init(score)
                    scratch(
                        f"{score}_{rt_scheme}_{_pct(s)}_seed{seed}_{init}-init",
                        mask(score, rt_scheme, s, seed if init == "scored" or spec.mask_per_seed else 0),
                        seed,
                        init=init,
                    )
            if sm.dense:  # no mask, through the same path: is the sparse network better than the dense one?
                scratch(f"dense_seed{seed}_fresh-init", mask(None, None, 0.0, 0), seed, init="fresh")
        if rt and rt.dense_continued:
            for seed in rt.dense_seeds:
                add(
                    f"seed{seed}",
                    "dense-continued",
                    **mask(None, None, 0.0, 0),
                    train_seed=seed,
                    overrides=overrides,
                    retraining="dense-continued",
                    eval=test,
                )
    if study.calibration:  # calibration sentences, damping, block size (calibration_study)
        expand_calibration(study, add, test)
    if any(getattr(study, sec) for sec in UNIT_SECTIONS):
        from .context import unit_group_names_of  # reads only the config, not the weights
        from ..config import ConfigError

        def fail(key: str, msg: str):
            raise ConfigError(f"{study.path}: key '{key}' {msg}")

        expand_units(
            study, add, unit_group_names_of(study.model), test, {**test, "split": study.dev_split}, fail
        )  # sensitivity: dev BLEU (Li et al. use validation)
    if study.site:  # the website's data: one cell per score (nmtprune.experiments.sitedata)
        expand_site(study, add)
    unique = {c.id: c for c in cells}  # e.g. the loss-curve run is also a retrain grid point
    return sorted(unique.values(), key=lambda c: KINDS.index(c.kind))
