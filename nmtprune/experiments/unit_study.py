"""The hidden-unit sections of a study (issue: structured pruning), and the cells they expand to.

* ``units_eval``: every unit score × scope × fraction of units removed, no retraining -> test BLEU,
  perplexity, parameters and decoding speed of the *shrunk* model (physically smaller; its outputs
  equal the masked model's to 1e-6, so BLEU is the masked model's), units kept per group. Fraction 0
  is the dense model (cell ``unit-eval_dense``), measured by the same code for the speed ratio.
* ``unit_sensitivity`` (Li et al. 2017 §4.2): one unit group pruned alone at each fraction -> dev BLEU;
  the curves say which layers tolerate pruning and so pick per-layer ratios.
* ``unit_retrain``: a unit-pruned model retrained under its fixed (whole-unit) masks with the See et al.
  retraining recipe, ≥ 3 seeds -> test BLEU and speed of the shrunk retrained model.

Example::

    units_eval:
      fractions: [0.1, 0.25, 0.5, 0.75]
      scores: [l1, taylor-unit, random-unit]
      scopes: [per-layer, global]
    unit_sensitivity: {fractions: [0.25, 0.5, 0.75], scores: [l1]}
    unit_retrain: {fractions: [0.5], scores: [l1], seeds: [1, 2, 3]}
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["UnitsEval", "UnitSensitivity", "UnitRetrain", "UNIT_SECTIONS", "validate_units", "expand_units"]


@dataclass(frozen=True)
class UnitsEval:
    fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75)  # of the hidden units of each group (per-layer) or all (global)
    scores: tuple[str, ...] = ("l1",)  # names in nmtprune.prune.units.UNIT_SCORES
    scopes: tuple[str, ...] = ("per-layer",)  # per-layer and/or global
    normalize: str = "l2"  # global scope: per-group score rescaling (none, l2 = Molchanov et al., mean)
    seeds: tuple[int, ...] = (0,)  # only matters for random-unit
    batches: int = 30  # training minibatches (64 sentences) for the data-driven unit scores


@dataclass(frozen=True)
class UnitSensitivity:
    fractions: tuple[float, ...] = (0.25, 0.5, 0.75)
    scores: tuple[str, ...] = ("l1",)
    batches: int = 30


@dataclass(frozen=True)
class UnitRetrain:
    fractions: tuple[float, ...] = (0.5,)
    scores: tuple[str, ...] = ("l1",)
    scope: str = "per-layer"
    seeds: tuple[int, ...] = (1, 2, 3)  # retraining seeds: mean ± std
    batches: int = 30
    overrides: tuple[str, ...] = ()  # section.key=value changes to the retraining recipe


UNIT_SECTIONS = ("units_eval", "unit_sensitivity", "unit_retrain")


def validate_units(st, fail: Callable[[str, str], None]) -> None:
    """Name and range checks of the unit sections; ``fail(key, message)`` raises."""
    from ..prune.units import SCOPES, UNIT_SCORES
    from ..prune.units.select import NORMALIZATIONS
    for sec in UNIT_SECTIONS:
        spec = getattr(st, sec)
        if spec is None:
            continue
        if not spec.scores:
            fail(f"{sec}.scores", "must name at least one unit score")
        for j, name in enumerate(spec.scores):
            if name not in UNIT_SCORES:
                fail(f"{sec}.scores[{j}]", f"names an unknown unit score {name!r}; known: {sorted(UNIT_SCORES)}")
        if not spec.fractions:
            fail(f"{sec}.fractions", "must list at least one fraction")
        for i, x in enumerate(spec.fractions):
            if not 0.0 < x < 1.0:
                fail(f"{sec}.fractions[{i}]", f"must be a fraction of units in (0, 1), got {x}")
        if spec.batches < 1:
            fail(f"{sec}.batches", f"must be >= 1, got {spec.batches}")
        scopes = getattr(spec, "scopes", None) or ((spec.scope,) if hasattr(spec, "scope") else ())
        for j, scope in enumerate(scopes):
            if scope not in SCOPES:
                fail(f"{sec}.scope" + (f"s[{j}]" if hasattr(spec, "scopes") else ""),
                     f"names an unknown scope {scope!r}; known: {list(SCOPES)}")
        if getattr(spec, "normalize", "none") not in NORMALIZATIONS:
            fail(f"{sec}.normalize", f"must be one of {list(NORMALIZATIONS)}, got {spec.normalize!r}")
        if hasattr(spec, "seeds") and not spec.seeds:
            fail(f"{sec}.seeds", "must list at least one seed")
        for i, o in enumerate(getattr(spec, "overrides", ())):
            if "=" not in o or o.startswith("-"):
                fail(f"{sec}.overrides[{i}]", f"must be section.key=value, got {o!r}")


def _pct(x: float) -> str:
    return f"u{round(x * 100):02d}"


def expand_units(st, add: Callable[..., None], groups: list[str], test: dict, dev: dict) -> None:
    """Add the unit cells of study ``st`` through ``add(name, kind, **params)``.

    ``groups``: the model's unit-group names (one sensitivity curve each); ``test``/``dev``: the
    evaluation settings that enter each cell's identity.
    """
    from ..prune.units import NEEDS_DATA

    def data(spec, score: str) -> dict:  # scoring batches only matter to data-driven scores
        return {"batches": spec.batches} if score in NEEDS_DATA else {}

    ue = st.units_eval
    if ue:
        add("dense", "unit-eval", score=None, scope=None, fraction=0.0, seed=0, eval=test)
        for score in ue.scores:
            seeds = ue.seeds if score == "random-unit" else ue.seeds[:1]
            for scope in ue.scopes:
                for x in ue.fractions:
                    for seed in seeds:
                        norm = {"normalize": ue.normalize} if scope == "global" else {}
                        add(f"{score}_{scope}_{_pct(x)}_seed{seed}", "unit-eval", score=score, scope=scope,
                            fraction=x, seed=seed, eval=test, **data(ue, score), **norm)
    us = st.unit_sensitivity
    if us:
        add("dense", "unit-sensitivity", score=None, group=None, fraction=0.0, seed=0, eval=dev)
        for score in us.scores:
            for group in groups:
                for x in us.fractions:
                    add(f"{score}_{group}_{_pct(x)}", "unit-sensitivity", score=score, group=group, fraction=x,
                        seed=0, eval=dev, **data(us, score))
    ur = st.unit_retrain
    if ur:
        for seed in ur.seeds:  # seed-major, like the weight retraining grid
            for score in ur.scores:
                for x in ur.fractions:
                    add(f"{score}_{ur.scope}_{_pct(x)}_seed{seed}", "unit-retrain", score=score, scope=ur.scope,
                        fraction=x, seed=0, train_seed=seed, overrides=list(ur.overrides), retraining="retrain",
                        eval=test, **data(ur, score))
