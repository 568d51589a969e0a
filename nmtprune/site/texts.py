"""The "how it works" walk-throughs as data: one registry entry per score and per selection.

A method's walk-through is its score's steps, then its selection's steps, then two shared steps
(where the pruning lands, the masks on the real matrix), then, when a retraining-frames artifact
of that method is exported (:mod:`.frames`), the retraining step. Adding a method is one entry:

* a score: one :data:`SCORE_TEXT` entry (label, symbol, text, formula; optionally ``steps``, e.g. OBD's
  curvature, w² and saliency, each a histogram ``of`` a part the export computes, see
  :data:`nmtprune.site.export.SCORE_PARTS`); without ``steps`` it gets one "score every weight" step;
* a selection: one :data:`SELECTION_TEXT` entry with its ``steps`` (optionally ``tail``, replacing the
  shared steps, and ``after``, steps after them: hidden-unit pruning's "the model shrinks").

A step showing a part (``of``) the export did not compute for that score is left out, so a family's
entry serves all its variants (``snip-init`` scores a re-initialised copy: no |w| part, only its score).

Each step names one visualisation from a small fixed vocabulary the site knows how to draw:

* ``histogram``: the score's histogram over all classes pooled (``of``: a part's histogram instead);
  ``threshold``: ``none`` or ``global``;
* ``class-histograms``: one histogram per class with that class's threshold at the current sparsity
  (``readout: lambda`` also shows λ and each σ_c);
* ``class-bars``: the fraction of each class pruned at the current sparsity;
* ``matrix``: the chosen class's weights with the pruned ones drawn in the pruned colour;
* ``training``: frames of a real retraining run under the mask (``training``: the artifact's id);
* ``units``: kept hidden units of every layer at the current fraction (hidden-unit methods);
* ``shrink``: the parameter count of the physically smaller model against the fraction removed.

Formulas are a TeX subset (``\\frac``, ``_``, ``^``, ``\\mathrm``, ``\\text``, Greek letters,
``\\le``, ``\\iff``, ``\\cdot``, ``\\nabla``, ``|``) rendered by ``static/js/formula.js`` as MathML.
Titles are numbered here, so entries never carry numbers.
"""
from __future__ import annotations

from typing import Optional

__all__ = ["SCORE_TEXT", "SELECTION_TEXT", "score_text", "selection_text", "steps_for"]


def _step(title: str, viz: str, text: str, formula: str, threshold: str = "none", **extra) -> dict:
    return {"title": title, "viz": viz, "threshold": threshold, "text": text, "formula": formula, **extra}


SCORE_TEXT: dict[str, dict] = {
    "magnitude": {
        "label": "Magnitude", "symbol": "|w|",
        "text": "Each weight's score is its absolute value: small weights are assumed to matter least and are "
                "pruned first (See et al. 2016).",
        "formula": r"\mathrm{score}(w) = |w|",
        "steps": [
            _step("The trained weights", "histogram", "Every prunable weight of the trained model, with its sign, "
                  "pooled over all classes (bar heights are √count so the tails stay visible; the end bars also hold "
                  "the 0.1 % beyond them).", r"w \in W_c \text{ for every class } c", of="w"),
            _step("Score every weight: |w|", "histogram", "Folding the sign away gives the score. Small weights are "
                  "assumed to matter least and are pruned first (See et al. 2016).", r"\mathrm{score}(w) = |w|")]},
    "random": {
        "label": "Random", "symbol": "u",
        "text": "Each weight gets an independent uniform random score: the control baseline every pruning criterion "
                "must beat.",
        "formula": r"\mathrm{score}(w) \sim U[0, 1)"},
    # The data-driven scores (nmtprune.prune.scores): one entry per family; a variant such as
    # "snip-init" or "obd-empirical" uses its family's entry (see _entry). Their parts' steps show the
    # histograms nmtprune.site.parts computes (log10 x-axis: curvatures span many decades).
    "obd": {
        "label": "OBD", "symbol": "½hw²",
        "text": "Optimal Brain Damage (LeCun et al. 1990): the loss increase a second-order Taylor expansion predicts "
                "when the weight is set to 0, ½·h·w², with h the curvature of the loss along that weight (the "
                "diagonal of the Fisher information or Hessian, estimated on training batches).",
        "formula": r"\mathrm{score}(w) = \frac{1}{2} h_{ww} w^2, \quad h_{ww} \approx \frac{\partial^2 L}{\partial w^2}",
        "steps": [
            _step("The curvature along every weight", "histogram", "OBD's first ingredient: h_kk, how sharply the "
                  "training loss curves along weight k, estimated on training batches (obd: the Fisher diagonal, "
                  "squared gradients with target words sampled from the model; obd-empirical: squared per-sentence "
                  "gradients with the reference words; obd-hutchinson: z⊙Hz with random ±1 probes z). Negative "
                  "estimates are clamped to 0. The x-axis is log10 (curvatures span many decades); the zeros, e.g. "
                  "embedding rows of words no batch contains, are counted apart.",
                  r"h_{kk} \approx \mathrm{E}\left[ \left( \frac{\partial L}{\partial w_k} \right)^2 \right] "
                  r"\approx \frac{\partial^2 L}{\partial w_k^2}", of="curvature"),
            _step("The squared weights", "histogram", "The second ingredient: w², the squared distance the weight "
                  "travels when it is set to 0 (log10 x-axis).", r"w_k^2", of="w2"),
            _step("The saliency ½·h·w²", "histogram", "Their product is the loss increase a quadratic expansion "
                  "predicts when weight k alone is deleted: the saliency, OBD's score. A large weight on a flat "
                  "direction can matter less than a small one on a steep direction. (Embedding rows of words no "
                  "batch contains have h = 0; their score is |w| times the median saliency/|w| instead.)",
                  r"s_k = \frac{1}{2} h_{kk} w_k^2 \approx L(w - w_k e_k) - L(w)", of="saliency")]},
    "snip": {
        "label": "SNIP", "symbol": "|gw|",
        "text": "SNIP (Lee et al. 2019): connection sensitivity, the first-order change of the loss when the weight "
                "is removed, |∂L/∂w · w| on training batches. The -init variants score a fresh initialisation, "
                "then the model trains under that mask.",
        "formula": r"\mathrm{score}(w) = \left| \frac{\partial L}{\partial w} w \right|",
        "steps": [
            _step("The gradient of every weight", "histogram", "SNIP's first ingredient: |∂L/∂w|, the gradient of "
                  "the mean token loss accumulated over all scoring batches, then made absolute (log10 x-axis).",
                  r"|g| = \left| \frac{\partial L}{\partial w} \right|", of="abs_g"),
            _step("The size of every weight", "histogram", "The second ingredient: |w| (log10 x-axis).", r"|w|",
                  of="abs_w"),
            _step("Score every weight: |g·w|", "histogram", "Their product is the first-order change of the loss "
                  "when the connection is cut: its sensitivity. The least sensitive connections are pruned first. "
                  "(The -init variants score a re-initialised copy of the model, so only this step is shown.)",
                  r"\mathrm{score}(w) = \left| \frac{\partial L}{\partial w} w \right|")]},
    "grasp": {
        "label": "GraSP", "symbol": "w⊙Hg",
        "text": "GraSP (Wang et al. 2020): how removing the weight changes the gradient flow, w·(Hg) with H the "
                "Hessian and g the gradient; weights whose removal reduces gradient flow least go first.",
        "formula": r"\mathrm{score}(w) = w \odot (H g)"},
    "taylor": {
        "label": "Taylor", "symbol": "(gw)²",
        "text": "Taylor importance (Molchanov et al. 2019): the squared first-order estimate of the loss change "
                "when the weight is removed, averaged over training batches.",
        "formula": r"\mathrm{score}(w) = \frac{1}{B} \sum_b \left( \frac{\partial L_b}{\partial w} w \right)^2"},
}

# hidden-unit scores (nmtprune.site.units): "units-<unit score>", one number per hidden unit
_UNITS_GENERIC = {
    "label": "Units", "symbol": "s_j",
    "text": "A score for every hidden unit (nmtprune.prune.units): lower-scoring units are removed first, each "
            "with all its weights.",
    "formula": r"\mathrm{score}(j) \text{ for every hidden unit } j"}
SCORE_TEXT["units"] = _UNITS_GENERIC
SCORE_TEXT["units-l1"] = {
    "label": "Units · L1", "symbol": "‖W_j‖₁",
    "text": "Structured pruning of whole hidden units (Li et al. 2017, for LSTM units): each unit's score is the L1 "
            "norm of its incoming weights, its four gate rows (i, f, g, o) of W_ih and W_hh (row j of W_c for the "
            "attentional layer); tied layers add their scores. Units with the smallest norm are removed first.",
    "formula": r"\mathrm{score}(j) = \sum_{g} \left( |W^{ih}_{g,j}|_1 + |W^{hh}_{g,j}|_1 \right)",
    "steps": [
        _step("Score every hidden unit: the L1 norm of its incoming rows", "histogram", "One number per hidden unit, "
              "not per weight: the summed |w| of the unit's four gate rows of W_ih and W_hh (the attentional layer: "
              "its row of W_c). Tied units (encoder and decoder layer k, which hand their states over) are scored "
              "together. The histogram pools the units of all layers.",
              r"\mathrm{score}(j) = \sum_{g \in i,f,g,o} \left( |W^{ih}_{g,j}|_1 + |W^{hh}_{g,j}|_1 \right)")]}

SELECTION_TEXT: dict[str, dict] = {
    "class-blind": {
        "label": "class-blind",
        "text": "Pool the weights of all classes and prune the lowest-scoring fraction s of the pool: one global "
                "threshold.",
        "formula": r"k = \mathrm{round}(s \cdot N), \quad w \text{ pruned} \iff \mathrm{score}(w) \le t_k",
        "steps": [
            _step("One global threshold", "histogram", "Sort the pooled scores; the k lowest are pruned. The red line "
                  "is the k-th score, t_k, moving as the sparsity s grows.",
                  r"k = \mathrm{round}(s \cdot N), \quad w \text{ pruned} \iff \mathrm{score}(w) \le t_k", "global"),
            _step("The same line cuts every class", "class-histograms", "Seen per class, the threshold is the same "
                  "everywhere, so classes with many small scores lose more weights.",
                  r"t_c = t_k \text{ for every class } c", "class")]},
    "class-uniform": {
        "label": "class-uniform",
        "text": "Prune the same fraction s of every class, each with its own threshold.",
        "formula": r"k_c = \mathrm{round}(s \cdot N_c), \quad w \in c \text{ pruned} \iff \mathrm{score}(w) \le t_{c}",
        "steps": [
            _step("One threshold per class", "class-histograms", "Each class is sorted on its own and loses exactly a "
                  "fraction s of its weights: each red line is that class's k_c-th score.",
                  r"k_c = \mathrm{round}(s \cdot N_c), \quad w \in c \text{ pruned} \iff \mathrm{score}(w) \le t_{c}",
                  "class")]},
    "class-distribution": {
        "label": "class-distribution",
        "text": "Prune the weights whose score is below λ times their class's standard deviation σ_c, with one λ for "
                "all classes, chosen so that s of all weights go.",
        "formula": r"w \in c \text{ pruned} \iff \mathrm{score}(w) < \lambda \cdot \sigma_c",
        "steps": [
            _step("Scale by the class spread σ_c", "class-histograms", "Each class's threshold is λ·σ_c: classes whose "
                  "scores spread wider are cut at a higher score.",
                  r"w \in c \text{ pruned} \iff \mathrm{score}(w) < \lambda \cdot \sigma_c", "class"),
            _step("One λ for all classes", "class-histograms", "λ is the k-th smallest of score/σ_c over all weights, "
                  "so exactly s of all weights are pruned: class-blind pruning of the σ-normalised scores.",
                  r"\lambda = t_k\left(\frac{\mathrm{score}(w)}{\sigma_{c(w)}}\right), \quad k = \mathrm{round}(s \cdot N)",
                  "class", readout="lambda")]},
    "per-layer": {
        "label": "per-layer units",
        "text": "Remove the same fraction f of the hidden units of every layer, each layer's lowest-scoring first; "
                "the slider is f, the share of units removed.",
        "formula": r"k_g = \mathrm{round}(f \cdot n_g), \quad j \text{ removed} \iff \mathrm{rank}_g(j) < k_g",
        "steps": [
            _step("Remove the same fraction of every layer", "units", "Each layer (unit group g, n_g units) loses "
                  "its k_g lowest-scoring units; the slider is the fraction f removed. Bars: units kept per layer.",
                  r"k_g = \mathrm{round}(f \cdot n_g), \quad j \text{ removed} \iff \mathrm{rank}_g(j) < k_g")],
        "tail": [
            _step("Where the pruning lands", "class-bars", "The fraction of each weight class that goes with the "
                  "removed units. A unit takes its rows and every column that reads it, so an LSTM matrix whose "
                  "rows and columns both lose f loses 1 − (1 − f)² of its weights; the embeddings lose none.",
                  r"s_c = 1 - \frac{\text{kept rows} \cdot \text{kept columns}}{N_c}", "class"),
            _step("Whole rows and columns leave", "matrix", "The chosen class's weights: a removed unit's gate rows "
                  "and the columns that read it turn dark as whole lines, never single weights.",
                  r"W \odot (m_{\text{rows}} m_{\text{cols}}^{\top})", "class")],
        "after": [
            _step("The model shrinks", "shrink", "Removed units are not just zeros: deleting their rows and columns "
                  "gives a smaller dense model with the same outputs as the masked one (nmtprune shrink). Its "
                  "parameter count against the fraction of units removed; the marker is the slider.",
                  r"N(f) = \text{parameters of the LSTM with } n_g - k_g \text{ units per layer}")]},
}

_TAIL = [
    _step("Where the pruning lands", "class-bars", "The fraction of each weight class that is pruned at this "
          "sparsity.", r"s_c = \frac{\text{pruned in } c}{N_c}", "class"),
    _step("The masks on the real matrix", "matrix", "The chosen class's weights (red positive, blue negative); pruned "
          "weights turn dark. The mask grows as the sparsity goes from 0 to 98 %.", r"W \odot M", "class"),
]


def _entry(score: str) -> Optional[dict]:
    """The score's entry, else its family's ("snip-init-b10" -> "snip") labelled with the variant."""
    if score in SCORE_TEXT:
        return SCORE_TEXT[score]
    family = SCORE_TEXT.get(score.split("-")[0])  # "units-taylor-unit" -> the generic "units" entry
    return {**family, "label": f"{family['label']} ({score})"} if family else None


def score_text(score: str) -> dict:
    """The export's texts of a score (a generic entry for a score the registry does not know yet)."""
    e = _entry(score) or {"label": score, "symbol": "score", "text": f"The {score} score of every weight; "
                          "lower scores are pruned first.", "formula": rf"\mathrm{{{score}}}(w)"}
    return {k: e[k] for k in ("label", "symbol", "text", "formula")}


def selection_text(selection: str) -> dict:
    return {k: SELECTION_TEXT[selection][k] for k in ("label", "text", "formula")}


def _training_step(art: dict) -> dict:
    f0, f1 = art["frames"][0], art["frames"][-1]
    rec = art["recipe"]
    opt = r"\mathrm{" + rec["optimizer"].capitalize() + r"}\left(w_t, \nabla L(w_t)\right)"
    if art.get("kind") == "from-init":  # an at-init score: the mask was chosen before any training
        return _step(
            "Train from the initialisation under the mask", "training",
            f"The score saw a fresh initialisation, not the trained model, so the mask is kept and that same "
            f"initialisation trains: {rec['steps']} real optimizer steps of the reference training recipe "
            f"({rec['optimizer']}, learning rate {rec['lr']:g}, batches of {rec['batch_size']}) with "
            f"{round(100 * art['sparsity'])} % of the weights zero from the start. Every step moves the surviving "
            "weights (Δ = w_t − w_0, right) and the mask keeps the pruned ones at exactly 0 (dark). The dev "
            f"perplexity on {rec['dev_sentences']} sentences goes from {f0['dev_ppl']:.1f} at initialisation to "
            f"{f1['dev_ppl']:.1f} (the trained dense model: {art['dense_dev_ppl']:.1f}); a short run shows the start "
            "of training, not where it converges.",
            r"w_0 \sim \mathrm{init}, \quad w_{t+1} = M \odot " + opt, training=art["id"])
    return _step(
        "Retrain under the mask", "training",
        f"{rec['steps']} real optimizer steps of the retraining recipe ({rec['optimizer']}, learning rate "
        f"{rec['lr']:g}, batches of {rec['batch_size']}) with {round(100 * art['sparsity'])} % pruned. Every step "
        "moves the surviving weights (Δ = w_t − w_0, right) and the mask sets the pruned ones back to exactly 0 "
        f"(dark). The dev perplexity on {rec['dev_sentences']} sentences goes from {f0['dev_ppl']:.1f} right after "
        f"pruning to {f1['dev_ppl']:.1f} (dense: {art['dense_dev_ppl']:.1f}).",
        r"w_{t+1} = M \odot " + opt, training=art["id"])


def steps_for(score: str, selection: str, training: Optional[dict] = None, parts=None) -> list[dict]:
    """The walk-through of one method: score, selection, where it lands, the masks (, retraining).

    ``parts``: the names of the score's exported parts; steps showing another part are left out."""
    st = _entry(score)
    first = [s for s in (st or {}).get("steps", []) if "of" not in s or s["of"] in (parts or ())] or [
        _step(f"Score every weight ({score_text(score)['label']})", "histogram",
              score_text(score)["text"] + " The histogram pools the weights of all classes.",
              score_text(score)["formula"])]
    sel = SELECTION_TEXT[selection]
    steps = [*first, *sel["steps"], *sel.get("tail", _TAIL), *sel.get("after", [])]
    if training is not None:
        steps.append(_training_step(training))
    return [{**s, "title": f"{i + 1}. {s['title']}"} for i, s in enumerate(steps)]
