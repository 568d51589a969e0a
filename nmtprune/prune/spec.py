"""What a method declares about itself, next to its function: :class:`ScoreSpec` and :class:`ScheduleSpec`.

A score file ends with ``SPECS = (...)``: one :class:`ScoreSpec` per name a study, the CLI or a result
cell can say (a variant such as ``snip-init-b1`` is a spec of its own, made with :meth:`ScoreSpec.variant`).
The spec is everything the rest of the project knows about the score: how to call it, the data it
needs, what it costs, its paper, the label the report prints, and the text, formula, walk-through
steps and animated parts the site shows. Nothing downstream keeps a table of its own;
:mod:`nmtprune.prune.registry` collects the specs (and those of installed plugins).

This module holds plain data only: it imports no model code, so a score file (or a plugin) can
import it without pulling in the rest of the package.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from ..config import ConfigError
from ..errors import UserError

__all__ = [
    "ScoreSpec",
    "ScheduleSpec",
    "SelectionSpec",
    "Paper",
    "Step",
    "Part",
    "PluginError",
    "UnitError",
    "KINDS",
    "RECONSTRUCT_AS",
]

KINDS = ("weight", "unit")  # one value per weight (shaped like the parameter) or one per hidden unit
# how a method that updates weights (ScoreSpec.reconstruct) reads a selection: "counts" takes the number of
# weights to prune in each matrix from the selection run on |w|; "row" prunes a fraction of every row;
# "nm" keeps N of every M consecutive inputs of every row
RECONSTRUCT_AS = ("counts", "row", "nm")


class UnitError(ValueError, UserError):
    """A bad unit-pruning request (unknown unit score or group, every unit of a group removed, bad fraction ...)."""


class PluginError(ConfigError):
    """A score or schedule could not be registered (a plugin that fails to load, a name already taken)."""


@dataclass(frozen=True)
class Paper:
    """Where a method comes from, as the methods report's table of papers prints it.

    Attributes:
        method: the method and its citation, e.g. ``"SNIP (Lee et al. 2019)"``.
        criterion: the criterion in one line.
        headline: the paper's own headline result (other models and data: context only); empty for a
            paper cited without one.
    """

    method: str
    criterion: str = ""
    headline: str = ""


@dataclass(frozen=True)
class Step:
    """One step of the site's walk-through of a weight score: a histogram with its words and formula.

    ``part`` names the :class:`Part` whose histogram the step shows; None shows the score itself.
    A step whose part was not computed for a score (a variant without that part) is left out.
    """

    title: str
    text: str
    formula: str
    part: Optional[str] = None


@dataclass(frozen=True)
class Part:
    """An intermediate quantity of a score that the site animates (OBD's curvature, SNIP's |g|).

    ``fn(model, scores, ctx) -> {param_name: tensor}``: each tensor shaped like its parameter or any
    1-D selection of its values (a quantity defined only on some weights). ``ctx["record"]`` is the
    dict the score was given as ``record=`` (what it chose to keep, e.g. OBD's curvature diagonal),
    ``ctx["batches"]`` its scoring batches (None for a data-free score), so a part never costs a
    second scoring pass. ``log``: binned over log10 of the positive values (zeros counted apart),
    for quantities spanning decades. ``label`` names the quantity in the picture.
    """

    name: str
    label: str
    fn: Callable[..., Mapping[str, Any]]
    log: bool = False


@dataclass(frozen=True, eq=False)  # one spec is one registration: compared by identity
class ScoreSpec:
    """A registered score: its function and everything the sweep, the report and the site say about it.

    Calling the spec calls ``fn(model, **{**options, **kwargs})``: the caller's keywords win.

    Attributes:
        name: what studies, the CLI and result cells say (unique over both kinds).
        fn: ``fn(model, batches=None, seed=0, **options) -> {name: FloatTensor}``; a weight score
            returns one value per weight for every prunable parameter (shaped like it), a unit score
            one value per hidden unit of every unit group, ``(n_units,)``. Lower = pruned first.
            It keeps no state and ignores keywords it does not use.
        kind: ``"weight"`` or ``"unit"``.
        options: the fixed keyword arguments that make this variant (JSON-able: stored in results).
        n_batches: scoring batches of the training split it is given by default; 0 = needs no data.
        at_init: it scores a re-initialised copy of the model (its mask then trains from scratch).
        mask_per_seed: each seed draws a different mask (the random controls), so studies run it
            for every seed; every other score gives one mask whatever the seed and runs once.
        baseline: a reference the other scores are compared against (See et al.'s magnitude, random).
        shown: the site always shows it, whether a study ran it or not.
        cost: the cost in words (one forward+backward per batch, ...).
        paper: where it comes from.
        reconstructed: the formula is our reading of the paper's abstract (the full text was not at hand).
        label: the report's name for it (default: ``name``).
        site_label, symbol, text, formula: the site's words; None leaves the site's generic ones.
        steps: the weight score's walk-through on the site (default: one "score every weight" step).
        how: a unit score's one number per unit, in words (its walk-through step).
        parts: the quantities the steps show.
        reconstruct: for a method that also *updates* the surviving weights (SparseGPT), the way to
            run it: ``reconstruct(model, batches, sparsity, selection, *, classes=None, seed=0,
            **options) -> MaskSet``, changing ``model``'s weights in place (pruned ones to 0) and
            returning the masks; ``selection`` is a :class:`SelectionSpec`. The CLI and the sweep
            call it instead of scoring and selecting; ``fn`` stays a plain score for everything else.
        control_of: the name of the score this one is a control of (``sparsegpt-mask``: SparseGPT's masks
            without its updates); None for a method of its own. A control qualifies the other score's
            curves: the site draws it beside them, never as a method of its own. A variant keeps it
            unless its changes say otherwise.
    """

    name: str
    fn: Callable[..., Mapping[str, Any]]
    kind: str = "weight"
    options: Mapping[str, Any] = field(default_factory=dict)
    n_batches: int = 0
    at_init: bool = False
    mask_per_seed: bool = False
    baseline: bool = False
    shown: bool = False
    cost: str = ""
    paper: Optional[Paper] = None
    reconstructed: bool = False
    label: str = ""
    site_label: Optional[str] = None
    symbol: Optional[str] = None
    text: Optional[str] = None
    formula: Optional[str] = None
    steps: tuple[Step, ...] = ()
    how: str = ""
    parts: tuple[Part, ...] = ()
    reconstruct: Optional[Callable[..., Any]] = None
    control_of: Optional[str] = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or self.name != self.name.strip():
            raise PluginError(f"a score needs a name without surrounding blanks, got {self.name!r}")
        if self.kind not in KINDS:
            raise PluginError(f"score {self.name!r}: kind must be one of {list(KINDS)}, got {self.kind!r}")
        if not callable(self.fn):
            raise PluginError(f"score {self.name!r}: fn must be callable, got {type(self.fn).__name__}")
        if isinstance(self.n_batches, bool) or not isinstance(self.n_batches, int) or self.n_batches < 0:
            raise PluginError(f"score {self.name!r}: n_batches must be an int >= 0, got {self.n_batches!r}")
        if self.reconstruct is not None and not callable(self.reconstruct):
            raise PluginError(f"score {self.name!r}: reconstruct must be callable or None")
        if self.control_of is not None and (not isinstance(self.control_of, str) or self.control_of in ("", self.name)):
            raise PluginError(f"score {self.name!r}: control_of must name another score, got {self.control_of!r}")
        if not self.label:
            object.__setattr__(self, "label", self.name)

    def __call__(self, model, **kwargs) -> Mapping[str, Any]:
        return self.fn(model, **{**self.options, **kwargs})

    @property
    def needs_data(self) -> bool:
        """Whether the score must be given scoring batches (``n_batches > 0``)."""
        return self.n_batches > 0

    def variant(self, name: str, **changes) -> "ScoreSpec":
        """The same score under another name with some fields changed (``options``, ``n_batches`` ...).

        A variant keeps the site's words and steps, its site label becoming ``"<label> (<name>)"``, and the
        score it is a control of (``control_of``); its report label is its name and it cites no paper of its
        own, unless ``changes`` say so.
        """
        site_label = f"{self.site_label} ({name})" if self.site_label is not None else None
        return dataclasses.replace(
            self, **{"name": name, "label": "", "paper": None, "site_label": site_label, **changes}
        )


@dataclass(frozen=True, eq=False)
class ScheduleSpec:
    """A sparsity schedule: how to build its ``step -> sparsity`` function over a run, and its words.

    Attributes:
        name: what studies say (``retrain.schedules``, ``retrain.scheduled``).
        make: ``make(target, span, rounds=..., every=..., events=...) -> step -> sparsity``, where
            ``span`` is the number of steps by which the target is reached (>= 1); it ignores the
            keywords it does not use and raises ValueError naming a bad one.
        label: the report's name for it; ``{rounds}`` is replaced by the study's rounds.
        paper: where it comes from.
        during_training: True when masks change while the model retrains (the run re-scores the current
            model at each pruning event and is evaluated where it ended, at the target); False when the
            whole target is pruned before the first step and the masks stay fixed (one-shot), so the run
            is an ordinary retraining from masks selected up front.
        study_params: which of the study's ``retrain`` keys ``make`` reads beside the target and span:
            ``rounds`` and/or ``events`` (``retrain.gradual_events``, passed to data-driven scores only,
            whose every event costs scoring batches).
    """

    name: str
    make: Callable[..., Callable[[int], float]]
    label: str = ""
    paper: Optional[Paper] = None
    during_training: bool = True
    study_params: tuple[str, ...] = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise PluginError(f"a schedule needs a name, got {self.name!r}")
        if not callable(self.make):
            raise PluginError(f"schedule {self.name!r}: make must be callable")
        unknown = sorted(set(self.study_params) - {"rounds", "events"})
        if unknown:
            raise PluginError(f"schedule {self.name!r}: study_params {unknown} not among ['events', 'rounds']")
        if not self.label:
            object.__setattr__(self, "label", self.name)


@dataclass(frozen=True, eq=False)
class SelectionSpec:
    """A selection: how per-weight scores become keep-masks at a sparsity, and its words.

    Calling the spec calls ``fn(scores, model, sparsity, **{**params, **kwargs})``.

    Attributes:
        name: what the CLI (``--select``), studies (``schemes``) and result cells say.
        fn: ``fn(scores, model, sparsity, *, classes=None, **params) -> MaskSet``; ``scores`` as a
            weight score returns them (lower = pruned first); the masks' ``info`` holds at least
            ``scheme``, ``sparsity``, ``n_total``, ``n_pruned``, ``class_pruned``,
            ``class_threshold`` and ``max_pruned_abs_weight`` (as :func:`nmtprune.prune.select.select`).
        params: fixed keyword arguments of this variant (``{"n": 2, "m": 4}`` for ``2:4``).
        label: the report's name (default: ``name``).
        text: what it does, in one or two sentences (the site's words).
        paper: where it comes from.
        notes: anything a reader must know beside accuracy (e.g. which hardware runs it faster).
        reconstruct_as: how a weight-updating method reads it (:data:`RECONSTRUCT_AS`).
        parse: for a family of names (``N:M``): ``parse(name) -> params`` or None when the name is not
            one of them; the registry then answers ``name`` with this spec and those params.
        sparsity_of: for a selection whose pattern fixes the sparsity: ``sparsity_of(**params)``.
    """

    name: str
    fn: Callable[..., Any]
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    text: str = ""
    paper: Optional[Paper] = None
    notes: str = ""
    reconstruct_as: str = "counts"
    parse: Optional[Callable[[str], Optional[Mapping[str, Any]]]] = None
    sparsity_of: Optional[Callable[..., float]] = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or self.name != self.name.strip():
            raise PluginError(f"a selection needs a name without surrounding blanks, got {self.name!r}")
        if not callable(self.fn):
            raise PluginError(f"selection {self.name!r}: fn must be callable")
        if self.reconstruct_as not in RECONSTRUCT_AS:
            raise PluginError(
                f"selection {self.name!r}: reconstruct_as must be one of {list(RECONSTRUCT_AS)}, "
                f"got {self.reconstruct_as!r}"
            )
        if not self.label:
            object.__setattr__(self, "label", self.name)

    def __call__(self, scores, model, sparsity, **kwargs):
        return self.fn(scores, model, sparsity, **{**self.params, **kwargs})

    @property
    def fixed_sparsity(self) -> Optional[float]:
        """The sparsity the pattern itself gives (N:M: 1 - N/M); None when the caller chooses it."""
        if self.sparsity_of is None or (self.parse is not None and not self.params):
            return None
        return float(self.sparsity_of(**self.params))

    def named(self, name: str, **params) -> "SelectionSpec":
        """This family's member ``name`` with ``params`` (what the registry returns for ``2:4``)."""
        return dataclasses.replace(self, name=name, label=name, params={**self.params, **params})
