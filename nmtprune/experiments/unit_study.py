"""The hidden-unit sections of a study (structured pruning), and the cells they expand to.

* ``units_eval``: every unit score × scope × fraction of units removed, no retraining -> test BLEU,
  perplexity, parameters and decoding speed of the *shrunk* model (physically smaller; its outputs
  equal the masked model's to 1e-6, so BLEU is the masked model's), units kept per group. Fraction 0
  is the dense model (cell ``unit-eval_dense``), measured by the same code for the speed ratio.
* ``unit_sensitivity`` (Li et al. 2017 §4.2): one unit group pruned alone at each fraction -> dev BLEU;
  the curves say which layers tolerate pruning and so pick per-layer ratios.
* ``unit_retrain``: a unit-pruned model retrained under its fixed (whole-unit) masks with the See et al.
  retraining recipe, ≥ 3 seeds -> test BLEU and speed of the shrunk retrained model.
* ``unit_greg``: GReg-1/2 (Wang et al. 2021): a growing-penalty training phase, L1 pruning (the
  pruned-only point), then the same retraining.

``units_eval`` and ``unit_retrain`` also take one set of per-layer ``ratios`` (``GROUP=F``; a member
name such as ``tgt_layer2`` picks its tied group), Li et al.'s way of using the sensitivity curves;
``unit_retrain.ratio_scores`` limits the ratio runs to some of its scores (retraining is the expensive part).

Example::

    units_eval:
      fractions: [0.1, 0.25, 0.5, 0.75]
      scores: [l1, taylor-unit, random-unit]
      scopes: [per-layer, global]
    unit_sensitivity: {fractions: [0.25, 0.5, 0.75], scores: [l1]}
    unit_retrain: {fractions: [0.5], scores: [l1], seeds: [1, 2, 3]}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

__all__ = [
    "UnitsEval",
    "UnitSensitivity",
    "UnitRetrain",
    "UnitGReg",
    "greg_config",
    "UNIT_SECTIONS",
    "validate_units",
    "expand_units",
    "parse_ratios",
]


@dataclass(frozen=True)
class UnitsEval:
    fractions: tuple[float, ...] = (
        0.1,
        0.25,
        0.5,
        0.75,
    )  # of the hidden units of each group (per-layer) or all (global)
    scores: tuple[str, ...] = ("l1",)  # registered unit scores (nmtprune.prune.score_names("unit"))
    scopes: tuple[str, ...] = ("per-layer",)  # per-layer and/or global
    normalize: str = "l2"  # global scope: per-group score rescaling (none, l2 = Molchanov et al., mean)
    seeds: tuple[int, ...] = (0,)  # only matters for a score that draws a mask per seed (random-unit)
    batches: int = 30  # training minibatches (64 sentences) for the data-driven unit scores
    ratios: tuple[str, ...] = ()  # one set of per-layer ratios "GROUP=F" (e.g. read off the sensitivity curves)


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
    ratios: tuple[str, ...] = ()  # also retrain with these per-layer ratios "GROUP=F" (Li et al.'s choice)
    ratio_scores: tuple[str, ...] = ()  # the scores that run with ``ratios`` too (empty: every score)

    def runs_ratios(self, score: str) -> bool:
        """Whether ``score`` is also retrained with the per-layer ``ratios`` (the planner and reports agree)."""
        return bool(self.ratios) and (not self.ratio_scores or score in self.ratio_scores)


@dataclass(frozen=True)
class UnitGReg:
    """GReg (Wang et al. 2021): growing L2 penalty phase, L1 pruning, then See et al.'s retraining.

    The defaults shrink the official ImageNet schedule to a CPU budget (1–3 epochs for
    the whole phase): λ grows by ``delta`` every ``every`` steps to ``ceiling``, then ``stabilize``
    steps; GReg-2 first grows a uniform λ by ``pick_delta`` to ``pick_ceiling`` and picks by L1 then.
    """

    modes: tuple[str, ...] = ("greg-1", "greg-2")
    fractions: tuple[float, ...] = (0.5,)
    scope: str = "per-layer"
    seeds: tuple[int, ...] = (1,)
    delta: float = 0.01
    every: int = 5
    ceiling: float = 1.0
    stabilize: int = 500
    pick_delta: float = 1e-4
    pick_ceiling: float = 1e-2
    overrides: tuple[str, ...] = ()  # retraining recipe (the penalty phase uses half the reference lr)


UNIT_SECTIONS = ("units_eval", "unit_sensitivity", "unit_retrain", "unit_greg")


def validate_units(st, fail: Callable[[str, str], None]) -> None:
    """Name and range checks of the unit sections; ``fail(key, message)`` raises."""
    from ..prune.registry import score_names
    from ..prune.units import SCOPES
    from ..prune.units.select import NORMALIZATIONS

    known = score_names("unit")
    for sec in UNIT_SECTIONS:
        spec = getattr(st, sec)
        if spec is None:
            continue
        if sec == "unit_greg":
            _validate_greg(spec, fail)
            continue
        if not spec.scores:
            fail(f"{sec}.scores", "must name at least one unit score")
        for j, name in enumerate(spec.scores):
            if name not in known:
                fail(f"{sec}.scores[{j}]", f"names an unknown unit score {name!r}; known: {sorted(known)}")
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
                fail(
                    f"{sec}.scope" + (f"s[{j}]" if hasattr(spec, "scopes") else ""),
                    f"names an unknown scope {scope!r}; known: {list(SCOPES)}",
                )
        if getattr(spec, "normalize", "none") not in NORMALIZATIONS:
            fail(f"{sec}.normalize", f"must be one of {list(NORMALIZATIONS)}, got {spec.normalize!r}")
        if hasattr(spec, "seeds") and not spec.seeds:
            fail(f"{sec}.seeds", "must list at least one seed")
        for i, item in enumerate(getattr(spec, "ratios", ())):
            group, sep, value = item.partition("=")
            try:
                ok = bool(sep and group) and 0.0 <= float(value) < 1.0
            except ValueError:
                ok = False
            if not ok:
                fail(f"{sec}.ratios[{i}]", f"must be GROUP=F with F in [0, 1), e.g. attention=0.3, got {item!r}")
        for j, name in enumerate(getattr(spec, "ratio_scores", ())):
            if name not in spec.scores:
                fail(f"{sec}.ratio_scores[{j}]", f"names {name!r}, which is not in {sec}.scores {list(spec.scores)}")
        for i, o in enumerate(getattr(spec, "overrides", ())):
            if "=" not in o or o.startswith("-"):
                fail(f"{sec}.overrides[{i}]", f"must be section.key=value, got {o!r}")


def greg_config(spec: UnitGReg, mode: str):
    """The :class:`~nmtprune.prune.units.greg.GRegConfig` of one mode of the section."""
    from ..prune.units.greg import GRegConfig

    return GRegConfig(
        mode=mode,
        delta=spec.delta,
        every=spec.every,
        ceiling=spec.ceiling,
        stabilize=spec.stabilize,
        pick_delta=spec.pick_delta,
        pick_ceiling=spec.pick_ceiling,
    )


def _validate_greg(spec: UnitGReg, fail: Callable[[str, str], None]) -> None:
    from ..prune.units import SCOPES, UnitError

    if not spec.modes:
        fail("unit_greg.modes", "must name at least one of greg-1, greg-2")
    for j, mode in enumerate(spec.modes):
        try:
            greg_config(spec, mode)
        except UnitError as exc:
            fail(f"unit_greg.modes[{j}]", f"gives an invalid schedule: {exc}")
    for i, x in enumerate(spec.fractions):
        if not 0.0 < x < 1.0:
            fail(f"unit_greg.fractions[{i}]", f"must be a fraction of units in (0, 1), got {x}")
    if spec.scope not in SCOPES:
        fail("unit_greg.scope", f"names an unknown scope {spec.scope!r}; known: {list(SCOPES)}")
    if not spec.seeds:
        fail("unit_greg.seeds", "must list at least one seed")


def _pct(x: float) -> str:
    return f"u{round(x * 100):02d}"


def parse_ratios(items: tuple[str, ...], groups: list[str], fail: Callable[[str, str], None], key: str) -> dict:
    """``("GROUP=F", ...)`` -> ``{group: F}``; a group may be named by one of its members (``tgt_layer2``)."""
    out = {}
    for i, item in enumerate(items):
        name, _, value = item.partition("=")
        match = [g for g in groups if name == g or name in g.split("+")]
        if not match:
            fail(f"{key}[{i}]", f"names no unit group of the model: {name!r}; groups: {groups}")
        out[match[0]] = float(value)
    return out


def expand_units(
    st, add: Callable[..., None], groups: list[str], test: dict, dev: dict, fail: Callable[[str, str], None]
) -> None:
    """Add the unit cells of study ``st`` through ``add(name, kind, **params)``.

    ``groups``: the model's unit-group names (one sensitivity curve each); ``test``/``dev``: the
    evaluation settings that enter each cell's identity; ``fail(key, message)`` raises (bad ratios).
    Cells with per-layer ``ratios`` have ``fraction`` None and are named ``..._ratios_...``.
    """
    from ..prune.registry import get_score

    def data(spec, score: str) -> dict:  # scoring batches only matter to data-driven scores
        return {"batches": spec.batches} if get_score(score, kind="unit").needs_data else {}

    ue = st.units_eval
    if ue:
        add("dense", "unit-eval", score=None, scope=None, fraction=0.0, seed=0, eval=test)
        for score in ue.scores:
            seeds = ue.seeds if get_score(score, kind="unit").mask_per_seed else ue.seeds[:1]
            for scope in ue.scopes:
                for x in ue.fractions:
                    for seed in seeds:
                        norm = {"normalize": ue.normalize} if scope == "global" else {}
                        add(
                            f"{score}_{scope}_{_pct(x)}_seed{seed}",
                            "unit-eval",
                            score=score,
                            scope=scope,
                            fraction=x,
                            seed=seed,
                            eval=test,
                            **data(ue, score),
                            **norm,
                        )
            if ue.ratios:
                add(
                    f"{score}_ratios_seed{seeds[0]}",
                    "unit-eval",
                    score=score,
                    scope="per-layer",
                    fraction=None,
                    ratios=parse_ratios(ue.ratios, groups, fail, "units_eval.ratios"),
                    seed=seeds[0],
                    eval=test,
                    **data(ue, score),
                )
    us = st.unit_sensitivity
    if us:
        add("dense", "unit-sensitivity", score=None, group=None, fraction=0.0, seed=0, eval=dev)
        for score in us.scores:
            for group in groups:
                for x in us.fractions:
                    add(
                        f"{score}_{group}_{_pct(x)}",
                        "unit-sensitivity",
                        score=score,
                        group=group,
                        fraction=x,
                        seed=0,
                        eval=dev,
                        **data(us, score),
                    )
    ur = st.unit_retrain
    if ur:
        for seed in ur.seeds:  # seed-major, like the weight retraining grid
            for score in ur.scores:
                for x in ur.fractions:
                    add(
                        f"{score}_{ur.scope}_{_pct(x)}_seed{seed}",
                        "unit-retrain",
                        score=score,
                        scope=ur.scope,
                        fraction=x,
                        # the random control draws a new mask per seed (mask seed = training seed)
                        seed=seed if get_score(score, kind="unit").mask_per_seed else 0,
                        train_seed=seed,
                        overrides=list(ur.overrides),
                        retraining="retrain",
                        eval=test,
                        **data(ur, score),
                    )
                if ur.runs_ratios(score):
                    add(
                        f"{score}_ratios_seed{seed}",
                        "unit-retrain",
                        score=score,
                        scope="per-layer",
                        fraction=None,
                        ratios=parse_ratios(ur.ratios, groups, fail, "unit_retrain.ratios"),
                        seed=0,
                        train_seed=seed,
                        overrides=list(ur.overrides),
                        retraining="retrain",
                        eval=test,
                        **data(ur, score),
                    )
    ug = st.unit_greg
    if ug:
        for seed in ug.seeds:
            for mode in ug.modes:
                for x in ug.fractions:
                    add(
                        f"{mode}_{ug.scope}_{_pct(x)}_seed{seed}",
                        "unit-greg",
                        score=mode,
                        scope=ug.scope,
                        fraction=x,
                        seed=seed,
                        train_seed=seed,
                        greg=dataclasses.asdict(greg_config(ug, mode)),
                        overrides=list(ug.overrides),
                        retraining="retrain",
                        eval=test,
                    )
