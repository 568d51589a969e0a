"""A study: one YAML file naming a dense checkpoint, how to evaluate it, and the experiment grids.

Every section below the evaluation keys is optional; a missing section means "not part of this
study" and the report shows it as not run. Unknown keys, wrong types, unknown score or scheme names,
sparsities outside [0, 1) and a missing model directory are :class:`nmtprune.config.ConfigError`\\ s
naming the study file and the key, raised before any work starts.

Sections (See et al. 2016 figure numbers):

* ``prune_eval`` (Fig 3): every ``method`` (score x schemes x seeds) at every sparsity, no
  retraining -> test BLEU, test/dev perplexity, mask statistics. Sparsity 0 is the dense model,
  evaluated once whatever the method.
* ``class_breakdown`` (Fig 4, 5): each scheme's mask at ``sparsity``, applied one class at a time
  -> dev perplexity change, and the largest deleted |w| per class.
* ``retrain`` (Fig 6): pruned + retrained at each sparsity and seed, optionally sparse-from-scratch
  and the dense model trained for the same extra epochs (the control the paper lacked). With
  ``schedules`` other than one-shot the masks grow during the retraining budget instead (iterative
  rounds, or Zhu & Gupta's gradual cubic schedule), re-scored at each pruning event.

``class_breakdown``, ``retrain`` and ``where`` take a list of ``scores``: each score is run with the
same settings (the method-comparison studies); the report's See et al. figures use the first.
* ``loss_curve`` (Fig 7): which retraining run's loss curve to show (runs it if ``retrain`` does not).
* ``where`` (Fig 8): where the pruned weights are at ``sparsity``: per class, per LSTM gate block,
  embedding rows by word frequency. Computed from weights and masks, no decoding.
* ``storage``: dense vs compressed file size at each sparsity (fp32 and optionally fp16).
* ``calibration``: a one-shot method's calibration sentences, damping and block size, one at a time,
  against BLEU and the pruning step's wall time (see :mod:`nmtprune.experiments.calibration_study`).
* ``units_eval``, ``unit_sensitivity``, ``unit_retrain``, ``unit_greg``: hidden-unit pruning (see
  :mod:`nmtprune.experiments.unit_study`), rendered by ``report: units``.

The sections' dataclasses are in :mod:`.study_sections`; this module reads and checks the file.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Optional


from ..config import ConfigError, read_yaml
from ..prune.registry import get_schedule, get_selection, schedule_names, score_names, selection_names
from ..prune.select import SCHEMES
from .calibration_study import Calibration, validate_calibration
from .sitedata.study import SiteSection, validate_site
from .study_sections import ClassBreakdown, LossCurve, PruneEval, Retrain, Storage, Where
from .unit_study import UNIT_SECTIONS, UnitGReg, UnitRetrain, UnitSensitivity, UnitsEval, validate_units

__all__ = [
    "Study",
    "load_study",
    "study_to_dict",
    "README_TABLES",
]

REPORTS = ("see2016", "methods", "units", "none")  # none: a study whose results others read (the site's data)
# the README's generated tables a study may feed, in the order the README shows them (``readme:`` key)
README_TABLES = ("see", "oneshot", "weights", "recipes", "units")


@dataclass(frozen=True)
class Study:
    """A parsed study file; ``path`` is where it came from, ``name`` names results/ and reports/."""

    model: str
    path: str = ""
    name: str = ""
    split: str = "test"  # BLEU and test perplexity
    dev_split: str = "dev"  # perplexity breakdowns (Fig 4) and the dev perplexity of every cell
    beam: int = 5
    max_sentences: int = 0  # evaluate on the first N sentences of each split; 0 = all
    batch_size: int = 64  # decoding / perplexity batch size
    report: str = "see2016"  # which report renders it: see2016 (the paper's figures), methods, units
    compare_with: tuple[str, ...] = ()  # other study files whose results the report shows beside these (read-only)
    replications: tuple[str, ...] = ()  # the same study on other models: the report runs its checks on each
    readme: tuple[str, ...] = ()  # which of the README's generated tables show this study (README_TABLES)
    # false: every cell runs here, never copied from another study's result. A study whose product is the
    # trained models themselves (their scratch folders), not only the numbers, needs that: a copied
    # result comes without the model.
    reuse: bool = True
    prune_eval: Optional[PruneEval] = None
    class_breakdown: Optional[ClassBreakdown] = None
    retrain: Optional[Retrain] = None
    loss_curve: Optional[LossCurve] = None
    where: Optional[Where] = None
    storage: Optional[Storage] = None
    calibration: Optional[Calibration] = None  # calibration data and settings vs BLEU and pruning time
    units_eval: Optional[UnitsEval] = None  # hidden-unit sections: nmtprune.experiments.unit_study
    unit_sensitivity: Optional[UnitSensitivity] = None
    unit_retrain: Optional[UnitRetrain] = None
    unit_greg: Optional[UnitGReg] = None
    site: Optional[SiteSection] = None  # the website's data per score: nmtprune.experiments.sitedata.study


SECTIONS = ("prune_eval", "class_breakdown", "retrain", "loss_curve", "where", "storage", "calibration")
SECTIONS += UNIT_SECTIONS + ("site",)


def _fail(where: str, key: str, msg: str):
    raise ConfigError(f"{where}: key '{key}' {msg}")


def _value(where: str, key: str, value: Any, ann: Any) -> Any:
    """``value`` checked against the annotation ``ann`` (and converted: lists -> tuples, int -> float)."""
    origin = typing.get_origin(ann)
    if origin is typing.Union:  # Optional[section]: an empty section (`where:`) means all defaults
        inner = [a for a in typing.get_args(ann) if a is not type(None)][0]
        return _value(where, key, {} if value is None else value, inner)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            _fail(where, key, f"must be a list, got {value!r}")
        item = typing.get_args(ann)[0]
        return tuple(_value(where, f"{key}[{i}]", v, item) for i, v in enumerate(value))
    if dataclasses.is_dataclass(ann):
        if not isinstance(value, dict):
            _fail(where, key, f"must be a mapping, got {value!r}")
        return _build(ann, value, where, key + ".")
    if ann is bool and not isinstance(value, bool):
        _fail(where, key, f"must be true or false, got {value!r}")
    if ann is int and (isinstance(value, bool) or not isinstance(value, int)):
        _fail(where, key, f"must be an integer, got {value!r}")
    if ann is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(where, key, f"must be a number, got {value!r}")
        value = float(value)
    if ann is str and not isinstance(value, str):
        hint = " (quote an N:M pattern: '2:4'; YAML reads 2:4 unquoted as a number)" if "scheme" in key else ""
        _fail(where, key, f"must be a string, got {value!r}{hint}")
    return value


def _build(cls, raw: dict, where: str, prefix: str = ""):
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)} - {"path"}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {[prefix + k for k in unknown]}; "
            f"expected some of {sorted(prefix + n for n in names)}"
        )
    return cls(**{k: _value(where, prefix + k, v, hints[k]) for k, v in raw.items()})


def _check_sparsity(where: str, key: str, s: float) -> None:
    if not 0.0 <= s < 1.0:
        _fail(where, key, f"must be a sparsity in [0, 1) (the pruned fraction), got {s}")


def _validate(st: Study, where: str) -> None:
    """Range and name checks that types cannot express."""
    if st.report not in REPORTS:
        _fail(where, "report", f"must be one of {list(REPORTS)}, got {st.report!r}")
    for i, t in enumerate(st.readme):
        if t not in README_TABLES:
            _fail(where, f"readme[{i}]", f"must be one of {list(README_TABLES)}, got {t!r}")
    for key in ("beam", "batch_size"):
        if getattr(st, key) < 1:
            _fail(where, key, f"must be >= 1, got {getattr(st, key)}")
    for key in ("compare_with", "replications"):
        for i, other in enumerate(getattr(st, key)):
            if not Path(other).is_file():
                _fail(where, f"{key}[{i}]", f"names {other!r}, which is not a study file")
    if st.max_sentences < 0:
        _fail(where, "max_sentences", f"must be >= 0 (0 = all), got {st.max_sentences}")
    scores, schemes, sparsities = [], [], []  # (key, value) to check by name / range
    if st.prune_eval:
        sparsities += [(f"prune_eval.sparsities[{i}]", s) for i, s in enumerate(st.prune_eval.sparsities)]
        if not st.prune_eval.methods:
            _fail(where, "prune_eval.methods", "must name at least one method")
        for i, m in enumerate(st.prune_eval.methods):
            scores.append((f"prune_eval.methods[{i}].score", m.score))
            schemes += [(f"prune_eval.methods[{i}].schemes[{j}]", s) for j, s in enumerate(m.schemes)]
            if not m.seeds:
                _fail(where, f"prune_eval.methods[{i}].seeds", "must list at least one seed")
    if st.class_breakdown:
        cb = st.class_breakdown
        sparsities.append(("class_breakdown.sparsity", cb.sparsity))
        scores += [(f"class_breakdown.scores[{j}]", s) for j, s in enumerate(cb.scores)]
        schemes += [(f"class_breakdown.schemes[{j}]", s) for j, s in enumerate(cb.schemes)]
    for sec in ("retrain", "where", "storage"):
        spec = getattr(st, sec)
        if spec:
            if sec == "storage":
                scores.append((f"{sec}.score", spec.score))
            else:
                if not spec.scores:
                    _fail(where, f"{sec}.scores", "must name at least one score")
                scores += [(f"{sec}.scores[{j}]", s) for j, s in enumerate(spec.scores)]
            schemes.append((f"{sec}.scheme", spec.scheme))
            many = getattr(spec, "sparsities", None)
            sparsities += (
                [(f"{sec}.sparsities[{i}]", s) for i, s in enumerate(many)]
                if many is not None
                else [(f"{sec}.sparsity", spec.sparsity)]
            )
    if st.retrain:
        rt, schedules = st.retrain, schedule_names()
        for j, name in enumerate(rt.schedules):
            if name not in schedules:
                _fail(where, f"retrain.schedules[{j}]", f"names an unknown schedule {name!r}; known: {schedules}")
        if not rt.schedules:
            _fail(where, "retrain.schedules", "must name at least one schedule")
        for j, item in enumerate(rt.scheduled):
            sched, _, score = item.partition(":")
            if sched not in schedules or not score:
                _fail(
                    where,
                    f"retrain.scheduled[{j}]",
                    f"must be SCHEDULE:SCORE with a schedule in {schedules}, got {item!r}",
                )
            scores.append((f"retrain.scheduled[{j}]", score))
        for j, item in enumerate(rt.selected):
            score, _, scheme = item.partition("@")
            if not score or not scheme:
                _fail(where, f"retrain.selected[{j}]", f"must be SCORE@SELECTION, e.g. wanda@per-row, got {item!r}")
            scores.append((f"retrain.selected[{j}]", score))
            schemes.append((f"retrain.selected[{j}]", scheme))
        if rt.selected and not rt.selected_seeds:
            _fail(where, "retrain.selected_seeds", "must name at least one seed")
        scores += [(f"retrain.scratch_scores[{j}]", x) for j, x in enumerate(rt.scratch_scores)]
        sm = rt.scratch_matched
        if sm is not None:
            scores += [(f"retrain.scratch_matched.scores[{j}]", x) for j, x in enumerate(sm.scores)]
            sparsities += [(f"retrain.scratch_matched.sparsities[{i}]", x) for i, x in enumerate(sm.sparsities)]
            if not sm.seeds:
                _fail(where, "retrain.scratch_matched.seeds", "must name at least one seed")
        sparsities += [(f"retrain.scratch_random[{i}]", x) for i, x in enumerate(rt.scratch_random)]
        if rt.rounds < 1:
            _fail(where, "retrain.rounds", f"must be >= 1, got {rt.rounds}")
        if rt.gradual_events < 1:
            _fail(where, "retrain.gradual_events", f"must be >= 1, got {rt.gradual_events}")
        if not 0.0 < rt.prune_until <= 1.0:
            _fail(where, "retrain.prune_until", f"must be in (0, 1], got {rt.prune_until}")
        for key in ("overrides", "scratch_overrides"):
            for i, o in enumerate(getattr(st.retrain, key)):
                if "=" not in o or o.startswith("-"):
                    _fail(where, f"retrain.{key}[{i}]", f"must be section.key=value, got {o!r}")
    if st.loss_curve:
        sparsities.append(("loss_curve.sparsity", st.loss_curve.sparsity))
    if st.where and st.where.rank_bins < 1:
        _fail(where, "where.rank_bins", f"must be >= 1, got {st.where.rank_bins}")
    known = score_names("weight")
    for key, name in scores:
        if name not in known:
            _fail(where, key, f"names an unknown score {name!r}; known scores: {sorted(known)}")
    for key, name in schemes:
        try:
            selection = get_selection(name)
        except ValueError:
            _fail(
                where,
                key,
                f"names an unknown scheme {name!r}; known schemes: {selection_names()} or an N:M pattern such as 2:4",
            )
        own_point = key.startswith(("prune_eval", "retrain.selected"))  # cells at the pattern's own sparsity
        if selection.fixed_sparsity is not None and not own_point:
            _fail(where, key, f"names {name!r}, which fixes its own sparsity: only prune_eval runs it")
    if (
        st.retrain
        and st.retrain.scheme not in SCHEMES
        and (st.retrain.scheduled or any(get_schedule(s).during_training for s in st.retrain.schedules))
    ):
        _fail(
            where,
            "retrain.scheme",
            f"iterative and gradual schedules select with {list(SCHEMES)} only, got {st.retrain.scheme!r}",
        )
    for key, s in sparsities:
        _check_sparsity(where, key, s)
    validate_calibration(st, lambda key, msg: _fail(where, key, msg))
    validate_units(st, lambda key, msg: _fail(where, key, msg))
    validate_site(st, lambda key, msg: _fail(where, key, msg))


def _check_model(st: Study, where: str) -> None:
    """The checkpoint must exist, and the splits must exist in its training corpus."""
    model = Path(st.model)
    weights = any((model / f).is_file() for f in ("model.safetensors", "model.sparse.safetensors"))
    if not weights or not (model / "config.json").is_file():
        _fail(
            where,
            "model",
            f"names {st.model!r}, which is not a checkpoint directory (no model.safetensors and config.json there)",
        )
    try:
        corpus = json.loads((model / "config.json").read_text(encoding="utf-8"))["data"]["corpus"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _fail(where, "model", f"names {st.model!r}, whose config.json is unreadable ({exc})")
    from ..data.corpora import DataError, get_corpus

    try:
        splits = get_corpus(corpus).splits
    except DataError as exc:
        _fail(where, "model", f"names a model trained on a corpus this machine lacks: {exc}")
    for key in ("split", "dev_split"):
        if getattr(st, key) not in splits:
            _fail(where, key, f"names split {getattr(st, key)!r}, which corpus {corpus!r} lacks; splits: {splits}")


def load_study(path: str | Path, check_model: bool = True) -> Study:
    """Parse and validate a study file.

    Args:
        path: the YAML file.
        check_model: also require the model directory and the named splits to exist.
    Raises:
        ConfigError: naming ``path`` and the offending key.
    """
    path = Path(path)
    where = str(path)
    raw = read_yaml(path, "study")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of study keys")
    if "model" not in raw:
        raise ConfigError(f"{where}: key 'model' is missing (the dense checkpoint directory)")
    study = _build(Study, raw, where)
    study = dataclasses.replace(study, path=str(path), name=study.name or path.stem)
    if not study.name.replace("-", "").replace("_", "").isalnum():
        _fail(where, "name", f"must be letters, digits, '-' or '_' (it names folders), got {study.name!r}")
    _validate(study, where)
    if check_model:
        _check_model(study, where)
    return study


def study_to_dict(study: Study) -> dict:
    """Plain JSON-able dict of a study (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(study)))
