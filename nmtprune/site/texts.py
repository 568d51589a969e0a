"""The "how it works" walk-throughs as data: each score's from its spec, one entry per selection.

A method's walk-through is its score's steps, then its selection's steps, then two shared steps
(where the pruning lands, the masks on the real matrix), then, when a retraining-frames artifact
of that method is exported (:mod:`.frames`), the retraining step. Adding a method is:

* a score: its :class:`~nmtprune.prune.spec.ScoreSpec` says it all (``site_label``, ``symbol``,
  ``text``, ``formula``; a weight score's ``steps``, e.g. OBD's curvature, w² and saliency, each a
  histogram of a ``part`` the spec computes; a unit score's ``how``); a weight score without steps
  gets one "score every weight" step, a score without words the generic ones;
* a selection: one :data:`SELECTION_TEXT` entry with its ``steps`` (optionally ``tail``, replacing the
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
from .units import UNIT_PREFIX

__all__ = ["SELECTION_TEXT", "score_text", "selection_text", "steps_for"]


def _step(title: str, viz: str, text: str, formula: str, threshold: str = "none", **extra) -> dict:
    return {"title": title, "viz": viz, "threshold": threshold, "text": text, "formula": formula, **extra}


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
            _step(
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

# the steps every hidden-unit selection shares after its own: where the pruning lands, the model shrinks
_UNIT_TAIL = [
    _step(
        "Where the pruning lands",
        "class-bars",
        "The fraction of each weight class that goes with the removed "
        "units. A unit takes its rows and every column that reads it, so an LSTM matrix whose rows and columns "
        "both lose f loses 1 − (1 − f)² of its weights; the embeddings lose none.",
        r"s_c = 1 - \frac{\text{kept rows} \cdot \text{kept columns}}{N_c}",
        "class",
    ),
    _step(
        "Whole rows and columns leave",
        "matrix",
        "The chosen class's weights: a removed unit's gate rows and the "
        "columns that read it turn dark as whole lines, never single weights.",
        r"W \odot (m_{\text{rows}} m_{\text{cols}}^{\top})",
        "class",
    ),
]
_UNIT_AFTER = [
    _step(
        "The model shrinks",
        "shrink",
        "Removed units are not just zeros: deleting their rows and columns gives a "
        "smaller dense model with the same outputs as the masked one (nmtprune shrink). Its parameter count "
        "against the fraction of units removed; the marker is the slider.",
        r"N(f) = \text{parameters of the LSTM with } n_g - k_g \text{ units per layer}",
    )
]

SELECTION_TEXT: dict[str, dict] = {
    "class-blind": {
        "label": "class-blind",
        "text": "Pool the weights of all classes and prune the lowest-scoring fraction s of the pool: one global "
        "threshold.",
        "formula": r"k = \mathrm{round}(s \cdot N), \quad w \text{ pruned} \iff \mathrm{score}(w) \le t_k",
        "steps": [
            _step(
                "One global threshold",
                "histogram",
                "Sort the pooled scores; the k lowest are pruned. The red line "
                "is the k-th score, t_k, moving as the sparsity s grows.",
                r"k = \mathrm{round}(s \cdot N), \quad w \text{ pruned} \iff \mathrm{score}(w) \le t_k",
                "global",
            ),
            _step(
                "The same line cuts every class",
                "class-histograms",
                "Seen per class, the threshold is the same "
                "everywhere, so classes with many small scores lose more weights.",
                r"t_c = t_k \text{ for every class } c",
                "class",
            ),
        ],
    },
    "class-uniform": {
        "label": "class-uniform",
        "text": "Prune the same fraction s of every class, each with its own threshold.",
        "formula": r"k_c = \mathrm{round}(s \cdot N_c), \quad w \in c \text{ pruned} \iff \mathrm{score}(w) \le t_{c}",
        "steps": [
            _step(
                "One threshold per class",
                "class-histograms",
                "Each class is sorted on its own and loses exactly a "
                "fraction s of its weights: each red line is that class's k_c-th score.",
                r"k_c = \mathrm{round}(s \cdot N_c), \quad w \in c \text{ pruned} \iff \mathrm{score}(w) \le t_{c}",
                "class",
            )
        ],
    },
    "class-distribution": {
        "label": "class-distribution",
        "text": "Prune the weights whose score is below λ times their class's standard deviation σ_c, with one λ for "
        "all classes, chosen so that s of all weights go.",
        "formula": r"w \in c \text{ pruned} \iff \mathrm{score}(w) < \lambda \cdot \sigma_c",
        "steps": [
            _step(
                "Scale by the class spread σ_c",
                "class-histograms",
                "Each class's threshold is λ·σ_c: classes whose scores spread wider are cut at a higher score.",
                r"w \in c \text{ pruned} \iff \mathrm{score}(w) < \lambda \cdot \sigma_c",
                "class",
            ),
            _step(
                "One λ for all classes",
                "class-histograms",
                "λ is the k-th smallest of score/σ_c over all weights, "
                "so exactly s of all weights are pruned: class-blind pruning of the σ-normalised scores.",
                r"\lambda = t_k\left(\frac{\mathrm{score}(w)}{\sigma_{c(w)}}\right), \quad k = \mathrm{round}(s \cdot N)",
                "class",
                readout="lambda",
            ),
        ],
    },
    "per-layer": {
        "label": "per-layer units",
        "text": "Remove the same fraction f of the hidden units of every layer, each layer's lowest-scoring first; "
        "the slider is f, the share of units removed.",
        "formula": r"k_g = \mathrm{round}(f \cdot n_g), \quad j \text{ removed} \iff \mathrm{rank}_g(j) < k_g",
        "steps": [
            _step(
                "Cut every layer at its own k_g-th score",
                "unit-histograms",
                "Each layer (unit group g, n_g units) "
                "is sorted on its own and loses its k_g lowest-scoring units: each red line is that layer's cut, "
                "moving as f grows. Scores are never compared across layers.",
                r"k_g = \mathrm{round}(f \cdot n_g), \quad j \text{ removed} \iff \mathrm{rank}_g(j) < k_g",
                "group",
                hist="compared",
            ),
            _step(
                "The same fraction of every layer",
                "units",
                "Every layer keeps the same share of its units. Bars: units kept per layer.",
                r"n_g - k_g = n_g - \mathrm{round}(f \cdot n_g)",
            ),
        ],
        "tail": _UNIT_TAIL,
        "after": _UNIT_AFTER,
    },
    "global": {
        "label": "global units",
        "text": "Rank the hidden units of all layers together, after dividing each layer's scores by their ℓ2 norm "
        "(Molchanov et al. 2017), and remove the lowest fraction f of all units: layers lose different "
        "shares.",
        "formula": r"\hat{s}_j = \frac{s_j}{\|s_g\|_2}, \quad k = \mathrm{round}(f \cdot N), \quad j \text{ removed} "
        r"\iff \hat{s}_j \le t_k",
        "steps": [
            _step(
                "Normalise each layer's scores",
                "unit-histograms",
                "Raw unit scores of different layers are not "
                "comparable (an attention unit's L1 sums 1,024 weights, a tied LSTM unit's eight gate rows of two "
                "layers). Dividing each layer's scores by their ℓ2 norm puts them on one scale (drawn here on one "
                "shared axis); it never changes the order within a layer.",
                r"\hat{s}_j = \frac{s_j}{\|s_g\|_2} \text{ for } j \in g",
                hist="compared",
            ),
            _step(
                "One global threshold",
                "histogram",
                "Pool the normalised scores of all layers; the k lowest go. "
                "The red line is the k-th score, t_k, moving as f grows.",
                r"k = \mathrm{round}(f \cdot N), \quad j \text{ removed} \iff \hat{s}_j \le t_k",
                "global",
                of="pooled",
            ),
            _step(
                "The same line cuts every layer",
                "unit-histograms",
                "Seen per layer, the threshold is the same "
                "everywhere, so the layers whose normalised scores sit lower lose more units.",
                r"t_g = t_k \text{ for every layer } g",
                "global",
                hist="compared",
            ),
            _step(
                "Layers lose different shares",
                "units",
                "Units kept per layer: global ranking decides how much "
                "each layer gives up. A selection that would empty a layer is refused; the site then holds the "
                "last fraction it allows.",
                r"k_g = |\{ j \in g : \hat{s}_j \le t_k \}|",
            ),
        ],
        "tail": _UNIT_TAIL,
        "after": _UNIT_AFTER,
    },
}

_TAIL = [
    _step(
        "Where the pruning lands",
        "class-bars",
        "The fraction of each weight class that is pruned at this sparsity.",
        r"s_c = \frac{\text{pruned in } c}{N_c}",
        "class",
    ),
    _step(
        "The masks on the real matrix",
        "matrix",
        "The chosen class's weights (red positive, blue negative); pruned "
        "weights turn dark. The mask grows as the sparsity goes from 0 to 98 %.",
        r"W \odot M",
        "class",
    ),
]


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
            _step(s.title, "histogram", s.text, s.formula, **({"of": s.part} if s.part else {})) for s in spec.steps
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


def _training_step(art: dict) -> dict:
    f0, f1 = art["frames"][0], art["frames"][-1]
    rec = art["recipe"]
    opt = r"\mathrm{" + rec["optimizer"].capitalize() + r"}\left(w_t, \nabla L(w_t)\right)"
    if art.get("kind") == "greg":  # GReg's penalty phase (nmtprune.site.greg_frames): no mask yet, a penalty
        g = art["greg"]
        n0, n1 = f0["norms"], f1["norms"]

        def mean(fr_norms: dict, key: str) -> float:  # the groups' mean norms, averaged over the groups
            vals = [v[key] for v in fr_norms.values() if v[key] is not None]
            return sum(vals) / max(1, len(vals))

        without = g.get("ppl_pruned_without_penalty")
        return _step(
            f"Or fade them out first: {g['mode'].upper()} (growing regularization)",
            "training",
            f"Instead of cutting at once, {g['mode'].upper()} (Wang et al. 2021) puts a penalty λ‖w_j‖² on the "
            f"{round(100 * g['fraction'])} % of each layer's units it will remove (chosen by L1, as above) and keeps "
            f"training: λ grows by {g['delta']:g} every {g['every']} steps up to {g['ceiling']:g}, then "
            f"{g['stabilize']} more steps ({rec['steps']} real optimizer steps, {rec['optimizer']}, learning rate "
            f"{rec['lr']:g}). The chosen units' incoming rows fade towards 0 while the rest of the network adapts: "
            f"their mean L1 norm goes from {mean(n0, 'removed'):.3g} to {mean(n1, 'removed'):.3g} (the kept units': "
            f"{mean(n0, 'kept'):.3g} to {mean(n1, 'kept'):.3g}). Removing them then gives dev perplexity "
            f"{g['ppl_after_penalty_pruned']:.1f} on {rec['dev_sentences']} sentences (dense {art['dense_dev_ppl']:.1f})"
            + (
                f", against {without:.1f} when the same units are removed without the penalty phase."
                if without
                else "."
            ),
            r"w_j \leftarrow (1 - \eta \lambda_j) w_j, \quad \lambda_j = \min\left(\tau, \delta \cdot "
            r"\mathrm{floor}(s / K)\right)",
            training=art["id"],
        )
    if art.get("kind") == "from-init":  # an at-init score: the mask was chosen before any training
        return _step(
            "Train from the initialisation under the mask",
            "training",
            f"The score saw a fresh initialisation, not the trained model, so the mask is kept and that same "
            f"initialisation trains: {rec['steps']} real optimizer steps of the reference training recipe "
            f"({rec['optimizer']}, learning rate {rec['lr']:g}, batches of {rec['batch_size']}) with "
            f"{round(100 * art['sparsity'])} % of the weights zero from the start. Every step moves the surviving "
            "weights (Δ = w_t − w_0, right) and the mask keeps the pruned ones at exactly 0 (dark). The dev "
            f"perplexity on {rec['dev_sentences']} sentences goes from {f0['dev_ppl']:.1f} at initialisation to "
            f"{f1['dev_ppl']:.1f} (the trained dense model: {art['dense_dev_ppl']:.1f}); a short run shows the start "
            "of training, not where it converges.",
            r"w_0 \sim \mathrm{init}, \quad w_{t+1} = M \odot " + opt,
            training=art["id"],
        )
    return _step(
        "Retrain under the mask",
        "training",
        f"{rec['steps']} real optimizer steps of the retraining recipe ({rec['optimizer']}, learning rate "
        f"{rec['lr']:g}, batches of {rec['batch_size']}) with {round(100 * art['sparsity'])} % pruned. Every step "
        "moves the surviving weights (Δ = w_t − w_0, right) and the mask sets the pruned ones back to exactly 0 "
        f"(dark). The dev perplexity on {rec['dev_sentences']} sentences goes from {f0['dev_ppl']:.1f} right after "
        f"pruning to {f1['dev_ppl']:.1f} (dense: {art['dense_dev_ppl']:.1f}).",
        r"w_{t+1} = M \odot " + opt,
        training=art["id"],
    )


def _retrained_step(unit: bool) -> dict:
    """The measured outcome of retraining under the mask (:mod:`.retrained`): it follows the slider."""
    what = "hidden units" if unit else "weights"
    return _step(
        "What retraining wins back",
        "retrained",
        f"Pruning alone costs BLEU. Training the network again with the removed {what} held at zero wins much "
        "of it back (See et al. 2016: 80 % of the weights pruned, then retrained, matched the dense model). "
        "The chart shows the BLEU measured after pruning only (the line) and after retraining under the mask "
        "(dots: the mean over training seeds, bars: ± one standard deviation). The read-out gives the "
        "retrained BLEU at the slider's position beside the dense model's, where a run exists there.",
        r"w_{t+1} = M \odot \left(w_t - \eta \nabla L(w_t)\right)",
    )


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
        _step(
            f"Score every weight: {score_text(score)['label']}",
            "histogram",
            score_text(score)["text"] + " The histogram pools the weights of all classes.",
            score_text(score)["formula"],
        )
    ]
    sel = SELECTION_TEXT[selection]
    steps = [*first, *sel["steps"], *sel.get("tail", _TAIL), *sel.get("after", [])]
    if training is not None:
        steps.append(_training_step(training))
    if retrained:
        steps.append(_retrained_step(score.startswith(UNIT_PREFIX)))
    return [{**s, "title": f"{i + 1}. {s['title']}"} for i, s in enumerate(steps)]
