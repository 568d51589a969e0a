"""The registry of scores, selections and schedules, and :func:`run_score`, the one way to compute a score.

Where specs come from, in this order:

1. the package: every module of :mod:`nmtprune.prune.scores` and :mod:`nmtprune.prune.units.scores`
   whose name does not start with ``_`` declares its scores in ``SPECS`` (a new score is a new
   file; a package's ``ORDER`` lists its first modules, the rest follow by name), and
   :mod:`nmtprune.prune.gradual` declares the schedules, and :mod:`nmtprune.prune.select` and
   :mod:`nmtprune.prune.rowwise` the selections;
2. installed plugins: the entry points of the groups ``nmtprune.scores``, ``nmtprune.selections`` and
   ``nmtprune.schedules``, each naming a :class:`ScoreSpec` / :class:`SelectionSpec` /
   :class:`ScheduleSpec` or a list of them, e.g. in a plugin's
   ``pyproject.toml``::

       [project.entry-points."nmtprune.scores"]
       wanda = "nmtprune_wanda:SPEC"

3. :func:`register_score` / :func:`register_selection` / :func:`register_schedule` calls of this
   process (a notebook).

A selection may stand for a family of names (``N:M``: ``2:4``, ``4:8`` ...): :func:`get_selection`
answers a name that no spec has with the first spec whose ``parse`` accepts it.

Everything is read on first use. A plugin that fails to load, or a name registered twice, is a
one-line :class:`PluginError` naming the entry point; :func:`reload_plugins` reads the entry points
again (after installing a plugin into a running process).
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from .spec import PluginError, ScheduleSpec, ScoreSpec, SelectionSpec, UnitError

__all__ = [
    "get_score",
    "score_names",
    "register_score",
    "unregister_score",
    "run_score",
    "scoring_batches_for",
    "get_schedule",
    "schedule_names",
    "register_schedule",
    "unregister_schedule",
    "reload_plugins",
    "SCORE_GROUP",
    "SCHEDULE_GROUP",
    "SELECTION_GROUP",
    "get_selection",
    "selection_names",
    "register_selection",
    "unregister_selection",
]

SCORE_GROUP, SCHEDULE_GROUP = "nmtprune.scores", "nmtprune.schedules"  # entry-point groups
SELECTION_GROUP = "nmtprune.selections"
_SCORE_PACKAGES = ("nmtprune.prune.scores", "nmtprune.prune.units.scores")
_SCHEDULE_MODULES = ("nmtprune.prune.gradual",)
_SELECTION_MODULES = ("nmtprune.prune.select", "nmtprune.prune.rowwise")
_GROUPS = {ScoreSpec: SCORE_GROUP, ScheduleSpec: SCHEDULE_GROUP, SelectionSpec: SELECTION_GROUP}
_WHAT = {ScoreSpec: "score", ScheduleSpec: "schedule", SelectionSpec: "selection"}

# {name: (spec, where it came from)}; None = not read yet
_builtin: dict[type, Optional[dict[str, tuple[Any, str]]]] = {c: None for c in _GROUPS}
_plugins: dict[type, Optional[dict[str, tuple[Any, str]]]] = {c: None for c in _GROUPS}
_registered: dict[type, dict[str, tuple[Any, str]]] = {c: {} for c in _GROUPS}

Batches = Union[Sequence, Callable[[int], Sequence], None]


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _module_specs(module: str) -> list:
    return list(getattr(importlib.import_module(module), "SPECS", ()))


def _package_specs(package: str) -> list:
    """The ``SPECS`` of every public module of ``package``: those its ``ORDER`` names first, then by name."""
    pkg = importlib.import_module(package)
    order = tuple(getattr(pkg, "ORDER", ()))
    names = sorted(
        (m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")),
        key=lambda n: (order.index(n) if n in order else len(order), n),
    )
    return [s for n in names for s in _module_specs(f"{package}.{n}")]


def _add(table: dict, spec, where: str, taken: Mapping[str, tuple[Any, str]]) -> None:
    what = _WHAT[type(spec)]
    if spec.name in table or spec.name in taken:
        first = (table.get(spec.name) or taken[spec.name])[1]
        raise PluginError(f"{what} {spec.name!r} of {where} is already registered by {first}")
    table[spec.name] = (spec, where)


def _entry_points(group: str, cls: type, taken: Mapping[str, tuple[Any, str]]) -> dict:
    """``{name: (spec, where)}`` of the entry points of ``group``; PluginError naming a broken one."""
    table: dict = {}
    for ep in entry_points(group=group):
        where = f"entry point {ep.name!r} ({ep.value}, group {group})"
        try:
            obj = ep.load()
        except Exception as exc:  # anything a third-party import can raise: say which plugin, in one line
            raise PluginError(f"{where} failed to load: {_one_line(exc)}") from exc
        specs = list(obj) if isinstance(obj, (list, tuple)) else [obj]
        for spec in specs:
            if not isinstance(spec, cls):
                raise PluginError(f"{where} gives a {type(spec).__name__}, not a {cls.__name__} or a list of them")
            _add(table, spec, where, taken)
    return table


def _table(cls: type) -> dict[str, tuple[Any, str]]:
    """Every registered spec of ``cls`` in registry order (package, plugins, this process)."""
    if _builtin[cls] is None:
        table: dict = {}
        sources = {ScoreSpec: _SCORE_PACKAGES, ScheduleSpec: _SCHEDULE_MODULES, SelectionSpec: _SELECTION_MODULES}[cls]
        for source in sources:
            for spec in _package_specs(source) if cls is ScoreSpec else _module_specs(source):
                _add(table, spec, spec.fn.__module__ if cls is ScoreSpec else source, {})
        _builtin[cls] = table
    if _plugins[cls] is None:
        _plugins[cls] = _entry_points(_GROUPS[cls], cls, _builtin[cls])
    return {**_builtin[cls], **_plugins[cls], **_registered[cls]}


def reload_plugins() -> None:
    """Forget the plugins read so far; the next lookup reads the entry points again."""
    for cls in _GROUPS:
        _plugins[cls] = None


def _register(spec, cls: type, replace: bool) -> None:
    if not isinstance(spec, cls):
        raise PluginError(f"register a {cls.__name__}, not a {type(spec).__name__}")
    table = _table(cls)
    if spec.name in table and not replace:
        raise PluginError(
            f"{spec.name!r} is already registered by {table[spec.name][1]}; pass replace=True to replace it"
        )
    _registered[cls][spec.name] = (spec, "register call")


def register_score(spec: ScoreSpec, replace: bool = False) -> ScoreSpec:
    """Make ``spec`` usable by name in this process (CLI, studies, report, site); returns it.

    A name already registered is refused unless ``replace`` (then this spec wins)."""
    _register(spec, ScoreSpec, replace)
    return spec


def unregister_score(name: str) -> None:
    """Undo :func:`register_score` for ``name`` (a spec from the package or a plugin stays)."""
    _registered[ScoreSpec].pop(name, None)


def score_names(kind: Optional[str] = None) -> list[str]:
    """Registered score names in registry order, of one ``kind`` (``weight``/``unit``) or of both."""
    return [n for n, (s, _) in _table(ScoreSpec).items() if kind is None or s.kind == kind]


def get_score(name: str, kind: Optional[str] = None) -> ScoreSpec:
    """The spec registered as ``name`` (callable like its function), of ``kind`` when given.

    Raises:
        ValueError listing the known names (:class:`~.spec.UnitError` for ``kind="unit"``).
    """
    got = _table(ScoreSpec).get(name)
    if got is None or (kind is not None and got[0].kind != kind):
        if kind == "unit":
            raise UnitError(f"unknown unit score {name!r}; known: {sorted(score_names('unit'))}")
        raise ValueError(f"unknown score {name!r}; known: {sorted(score_names(kind))}")
    return got[0]


def register_selection(spec: SelectionSpec, replace: bool = False) -> SelectionSpec:
    """Make a selection usable by name in this process (``--select``, studies' ``schemes``); returns it."""
    _register(spec, SelectionSpec, replace)
    return spec


def unregister_selection(name: str) -> None:
    """Undo :func:`register_selection` for ``name``."""
    _registered[SelectionSpec].pop(name, None)


def selection_names() -> list[str]:
    """Registered selection names in registry order (a family such as ``N:M`` under its own name)."""
    return list(_table(SelectionSpec))


def get_selection(name: str) -> SelectionSpec:
    """The selection registered as ``name``, or a family's member (``2:4``); ValueError listing the known."""
    table = _table(SelectionSpec)
    got = table.get(name)
    if got is not None and got[0].parse is None:
        return got[0]
    for spec, _ in table.values():
        params = spec.parse(name) if spec.parse is not None and isinstance(name, str) else None
        if params is not None:
            return spec.named(name, **params)
    raise ValueError(f"unknown selection {name!r}; known: {selection_names()} (N:M as e.g. '2:4')")


def register_schedule(spec: ScheduleSpec, replace: bool = False) -> ScheduleSpec:
    """Make a schedule usable by name in this process (studies, ``prune_while_training``); returns it."""
    _register(spec, ScheduleSpec, replace)
    return spec


def unregister_schedule(name: str) -> None:
    """Undo :func:`register_schedule` for ``name``."""
    _registered[ScheduleSpec].pop(name, None)


def schedule_names() -> list[str]:
    """Registered schedule names in registry order."""
    return list(_table(ScheduleSpec))


def get_schedule(name: str) -> ScheduleSpec:
    """The schedule registered as ``name``; ValueError listing the known names."""
    got = _table(ScheduleSpec).get(name)
    if got is None:
        raise ValueError(f"unknown schedule {name!r}; known: {schedule_names()}")
    return got[0]


def scoring_batches_for(spec: ScoreSpec, batches: Batches = None, n_batches: Optional[int] = None):
    """The scoring batches ``spec`` is given: None for a data-free score, else ``batches`` as given (a
    list) or ``batches(n)`` (a source, e.g. a cache) with ``n = n_batches`` or the spec's own count.

    Raises:
        ValueError: the score needs data and ``batches`` is None.
    """
    if not spec.needs_data:
        return None
    if batches is None:
        raise ValueError(
            f"score {spec.name!r} scores on training batches ({spec.n_batches} by default): "
            "pass batches= (a list, or a function n -> list)"
        )
    return batches(spec.n_batches if n_batches is None else n_batches) if callable(batches) else batches


def run_score(
    score: Union[str, ScoreSpec],
    model,
    batches: Batches = None,
    *,
    seed: int = 0,
    n_batches: Optional[int] = None,
    **options,
) -> dict:
    """Compute a score as every caller does: ``seed``, the scoring batches it needs, the caller's options.

    Args:
        score: a registered name or a spec.
        model: a Seq2Seq; not modified.
        batches: where a data-driven score's batches come from (:func:`scoring_batches_for`): a list of
            :class:`nmtprune.data.batching.Batch`, or ``n -> list`` such as
            :func:`nmtprune.prune.scores.batch_source`; a data-free score is not given any.
        seed: seeds random scores, re-initialisation, sampled targets and probes.
        n_batches: how many batches to ask ``batches(n)`` for (default: the spec's ``n_batches``).
        **options: keyword arguments for the score function; they win over the spec's ``options``.
    Returns:
        a weight score ``{param_name: FloatTensor shaped like the parameter}``; a unit score
        ``{group_name: FloatTensor (n_units,)}``.
    """
    spec = score if isinstance(score, ScoreSpec) else get_score(score)
    used = scoring_batches_for(spec, batches, n_batches)
    return spec(model, **{"seed": seed, **options, **({"batches": used} if used is not None else {})})
