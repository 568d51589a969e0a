"""The "how it works" walk-throughs as data: each score's from its spec, one entry per selection.

A method's walk-through is its score's steps, then its selection's steps, then two shared steps
(where the pruning lands, the masks on the real matrix), then, when a retraining-frames artifact
of that method is exported (:mod:`.recorded_frames`), the retraining step. Adding a method is:

* a score: its :class:`~nmtprune.prune.spec.ScoreSpec` says it all (``site_label``, ``symbol``,
  ``text``, ``formula``; a weight score's ``steps``, e.g. OBD's curvature, w² and saliency, each a
  histogram of a ``part`` the spec computes; a unit score's ``how``); a weight score without steps
  gets one "score every weight" step, a score without words the generic ones;
* a selection: one :data:`.texts_selections.SELECTION_TEXT` entry with its ``steps`` (optionally ``tail``, replacing the
  shared steps, and ``after``, steps after them: hidden-unit pruning's "the model shrinks").

A step showing a part (``of``) the export did not compute for that score is left out, so a family's
steps serve all its variants (``snip-init`` scores a re-initialised copy: no |w| part, only its score).
Each step names one visualisation from a small fixed vocabulary the site knows how to draw:

* ``histogram``: the score's histogram over all classes pooled (``of``: a part's histogram instead);
  ``threshold``: ``none`` or ``global``;
* ``class-histograms``: one histogram per class with that class's threshold at the current sparsity
  (``readout: lambda`` also shows λ and each σ_c);
* ``class-bars``: the fraction of each class pruned at the current sparsity;
* ``matrix``: the chosen class's weights with the pruned ones drawn in the pruned colour;
* ``training``: frames of a real retraining run under the mask (``training``: the artifact's id);
* ``unit-histograms``: one histogram per hidden-unit group, each on its own bins (hidden-unit methods);
  ``hist``: ``score`` (the raw unit scores) or ``compared`` (what the selection compares: raw per layer,
  ℓ2-normalised globally); ``threshold``: ``none``, ``group`` (each group's own cut) or ``global``;
  ``histogram`` ``of: pooled`` is a global unit method's normalised scores pooled on shared bins;
* ``units``: kept hidden units of every layer at the current fraction (hidden-unit methods);
* ``shrink``: the parameter count of the physically smaller model against the fraction removed.

Formulas are a TeX subset (``\\frac``, ``_``, ``^``, ``\\mathrm``, ``\\text``, Greek letters,
``\\le``, ``\\iff``, ``\\cdot``, ``\\nabla``, ``|``) rendered by ``static/js/formula.js`` as MathML.
Titles are numbered here, so entries never carry numbers.
"""

from __future__ import annotations

from typing import Optional

from ..prune.registry import get_score
from ..prune.spec import ScoreSpec
from .texts_selections import SELECTION_TEXT, TAIL, step
from .texts_training import retrained_step, training_step
from .units import UNIT_PREFIX

__all__ = ["UPDATED_MATRIX", "UPDATED_SAMPLES", "score_text", "selection_text", "steps_for", "updates_weights"]


# hidden-unit scores (nmtprune.site.units): "units-<unit score>", one number per hidden unit
def _unit_score(label: str, symbol: str, text: str, formula: str, how: str) -> dict:
    """A unit score's entry: its one step shows each layer's unit-score histogram (``how``: what one
    number per unit is, in words)."""
    return {
        "label": label,
        "symbol": symbol,
        "text": text,
        "formula": formula,
        "steps": [
            step(
                f"Score every hidden unit: {symbol}",
                "unit-histograms",
                how + " One number per hidden unit, not per "
                "weight; tied units (encoder and decoder layer k, which hand their states over) are scored together. "
                "Each layer's histogram has its own axis: raw scores of different layers can differ by a large factor.",
                formula,
                hist="score",
            )
        ],
    }


_RECONSTRUCTED = " Only the paper's abstract was readable: the formula is our reading of it (see the score's module)."
# a method that updates the surviving weights (SparseGPT): the site's pictures hold trained weights only
_UPDATES = (
    " On this site the matrix and its histograms rank the trained weights by this cost before any update, "
    "which is not the method's own mask: it chooses its mask block by block while it changes the surviving "
    "weights. The BLEU and perplexity curves are the real method's, updates included; its video shows the "
    "updates on one real matrix."
)
UPDATED_MATRIX = (
    "These cells are the trained weights ranked by the method's cost before any update, not its result: it picks "
    "its mask block by block while it changes the surviving weights, so its own mask and weights differ "
    "(its video shows the updates). The curves are the real method's."
)
UPDATED_SAMPLES = (
    "No translations here: the method changes the surviving weights, and the site stores only the trained "
    "ones, so a translation of its ranking's mask on them would not be the method's."
)
# the walk-through of a unit score without words of its own
_UNITS = _unit_score(
    "Units",
    "sⱼ",
    "A score for every hidden unit (nmtprune.prune.units): lower-scoring units are removed first, each "
    "with all its weights.",
    r"\mathrm{score}(j) \text{ for every hidden unit } j",
    "The unit score of every hidden unit.",
)


def _spec(score: str) -> Optional[ScoreSpec]:
    """The spec of a site score name ("obd"; "units-l1" is the unit score "l1"), None if unknown."""
    unit = score.startswith(UNIT_PREFIX)
    try:
        return get_score(score[len(UNIT_PREFIX) :] if unit else score, kind="unit" if unit else "weight")
    except ValueError:
        return None


def _entry(score: str) -> Optional[dict]:
    """The score's walk-through entry from its spec (a variant's spec carries its family's words)."""
    spec = _spec(score)
    if score.startswith(UNIT_PREFIX) and (spec is None or spec.site_label is None):
        return {**_UNITS, "label": f"{_UNITS['label']} ({score})"}
    if spec is None or spec.site_label is None:
        return None
    text = (spec.text or "") + (_RECONSTRUCTED if spec.reconstructed else "") + (_UPDATES if spec.reconstruct else "")
    symbol, formula = spec.symbol or "score", spec.formula or rf"\mathrm{{{spec.name}}}"
    if spec.kind == "unit":
        return _unit_score(spec.site_label, symbol, text, formula, spec.how)
    return {
        "label": spec.site_label,
        "symbol": symbol,
        "text": text,
        "formula": formula,
        "steps": [
            step(s.title, "histogram", s.text, s.formula, **({"of": s.part} if s.part else {})) for s in spec.steps
        ],
    }


def updates_weights(score: str) -> bool:
    """Whether the method changes the surviving weights (its spec reconstructs, as SparseGPT)."""
    spec = _spec(score)
    return bool(spec is not None and getattr(spec, "reconstruct", None))


def score_text(score: str) -> dict:
    """The export's texts of a score (a generic entry for a score the registry does not know yet)."""
    e = _entry(score) or {
        "label": score,
        "symbol": "score",
        "text": f"The {score} score of every weight; lower scores are pruned first.",
        "formula": rf"\mathrm{{{score}}}(w)",
    }
    return {k: e[k] for k in ("label", "symbol", "text", "formula")}


def selection_text(selection: str) -> dict:
    return {k: SELECTION_TEXT[selection][k] for k in ("label", "text", "formula")}


def steps_for(
    score: str, selection: str, training: Optional[dict] = None, parts=None, retrained: bool = False
) -> list[dict]:
    """The walk-through of one method: score, selection, where it lands, the masks (, retraining frames)
    (, the retrained results).

    ``parts``: the names of the score's exported parts; steps showing another part are left out.
    ``retrained``: the study results hold retraining runs of this method (:mod:`.retrained`)."""
    st = _entry(score)
    own = (st or {}).get("steps", [])
    first = [s for s in own if "of" not in s or s["of"] in (parts or ())]
    if len(first) < len(own):  # a variant without its family's parts: the kept steps would refer to the
        first = []  # dropped ones ("their product"), so the score's own words say it in one step
    first = first or [
        step(
            f"Score every weight: {score_text(score)['label']}",
            "histogram",
            score_text(score)["text"] + " The histogram pools the weights of all classes.",
            score_text(score)["formula"],
        )
    ]
    sel = SELECTION_TEXT[selection]
    steps = [*first, *sel["steps"], *sel.get("tail", TAIL), *sel.get("after", [])]
    if training is not None:
        steps.append(training_step(training))
    if retrained:
        steps.append(retrained_step(score.startswith(UNIT_PREFIX)))
    return [{**s, "title": f"{i + 1}. {s['title']}"} for i, s in enumerate(steps)]
