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

def _unit_score(label: str, symbol: str, text: str, formula: str, how: str) -> dict:
    """A unit score's entry: its one step shows each layer's unit-score histogram (``how``: what one
    number per unit is, in words)."""
    return {"label": label, "symbol": symbol, "text": text, "formula": formula, "steps": [
        _step(f"Score every hidden unit: {symbol}", "unit-histograms", how + " One number per hidden unit, not per "
              "weight; tied units (encoder and decoder layer k, which hand their states over) are scored together. "
              "Each layer's histogram has its own axis: raw scores of different layers can differ by a large factor.",
              formula, hist="score")]}


_RECONSTRUCTED = " Only the paper's abstract was readable: the formula is our reading of it (see the score's module)."
SCORE_TEXT.update({
    # the family entry: a unit score without its own entry ("units-<new score>") gets this walk-through
    "units": _unit_score(
        "Units", "sⱼ", "A score for every hidden unit (nmtprune.prune.units): lower-scoring units are removed "
        "first, each with all its weights.", r"\mathrm{score}(j) \text{ for every hidden unit } j",
        "The unit score of every hidden unit."),
    "units-l1": _unit_score(
        "Units · L1", "‖Wⱼ‖₁",
        "Structured pruning of whole hidden units (Li et al. 2017, for LSTM units): each unit's score is the L1 norm "
        "of its incoming weights, its four gate rows (i, f, g, o) of W_ih and W_hh (row j of W_c for the attentional "
        "layer); tied layers add their scores. Units with the smallest norm are removed first.",
        r"\mathrm{score}(j) = \sum_{g \in i,f,g,o} \left( |W^{ih}_{g,j}|_1 + |W^{hh}_{g,j}|_1 \right)",
        "The summed |w| of the unit's four gate rows of W_ih and W_hh (the attentional layer: its row of W_c)."),
    "units-l1-out": _unit_score(
        "Units · L1 (outgoing)", "‖W·ⱼ‖₁",
        "The L1 norm of the weights a unit sends (ablation of Li et al.): its recurrent column of W_hh, the next "
        "layer's W_ih column, the attention's W_a row and W_c column at the top; for the attentional layer the "
        "softmax and input-feeding columns.",
        r"\mathrm{score}(j) = \sum_{k} |W_{k,j}| \text{ over every weight that reads unit } j",
        "The summed |w| of every column that reads the unit."),
    "units-taylor-unit": _unit_score(
        "Units · Taylor", "(∂E/∂zⱼ)²",
        "Taylor importance of a unit (Molchanov et al. 2019): a gate z_j = 1 multiplies the unit's output "
        "wherever it is read; the squared first-order estimate of the loss change when z_j goes to 0, squared per "
        "training minibatch and averaged.",
        r"\mathrm{score}(j) = \frac{1}{B} \sum_b \left( \sum_t h_{t,j} \frac{\partial E_b}{\partial h_{t,j}} \right)^2",
        "The gradient of the minibatch loss with respect to the unit's gate, squared per minibatch and averaged "
        "over 16 training minibatches."),
    "units-taylor-unit-2": _unit_score(
        "Units · Taylor (2nd order)", "(gⱼ − ½(Hz)ⱼ)²",
        "Second-order Taylor importance (Molchanov et al. 2019): the first-order term corrected by the Hessian of "
        "the loss over all unit gates, times the gate vector.",
        r"\mathrm{score}(j) = \frac{1}{B} \sum_b \left( \frac{\partial E_b}{\partial z_j} - \frac{1}{2} (H_b z)_j \right)^2",
        "The gate gradient minus half the Hessian-gate product, squared per minibatch and averaged."),
    "units-n2ps": _unit_score(
        "Units · N2PS", "Aⱼ·Σₖ|wₖⱼ|",
        "Significance of a hidden neuron (Augasta & Kathirvalavakumar 2011): its mean absolute activation over the "
        "training tokens times the summed |w| of its outgoing connections." + _RECONSTRUCTED,
        r"\mathrm{score}(j) = \frac{1}{N} \sum_t |h_{t,j}| \cdot \sum_k |W_{k,j}|",
        "Mean |activation| over the tokens of 16 training minibatches, times the unit's outgoing L1 norm."),
    "units-hagiwara-goodness": _unit_score(
        "Units · Hagiwara goodness", "Gⱼ",
        "Hagiwara's goodness factor (1994): the squared signal a unit sends forward, its mean squared activation "
        "times the squared weights of its outgoing connections." + _RECONSTRUCTED,
        r"\mathrm{score}(j) = \frac{1}{N} \sum_t h_{t,j}^2 \cdot \sum_k W_{k,j}^2",
        "Mean squared activation over the tokens of 16 training minibatches, times the unit's outgoing squared norm."),
    "units-hagiwara-energy": _unit_score(
        "Units · Hagiwara energy", "|Eⱼ|",
        "Hagiwara's consuming energy (1994): the unit's share of the forward signal energy its layer sends, cross "
        "terms with the other units included." + _RECONSTRUCTED,
        r"\mathrm{score}(j) = \left| \frac{1}{N} \sum_t h_{t,j} (V V^{\top} h_t)_j \right|",
        "The unit's activation times the signal its layer's outgoing weights V send back onto it, averaged over "
        "tokens."),
    "units-hagiwara-power": _unit_score(
        "Units · Hagiwara power", "Σₖ wₖⱼ²",
        "Hagiwara's weights power (1994), the paper's best criterion: the squared norm of a unit's outgoing "
        "weights; no data needed." + _RECONSTRUCTED,
        r"\mathrm{score}(j) = \sum_k W_{k,j}^2",
        "The summed squares of every weight that reads the unit."),
    "units-xinghu-mi": _unit_score(
        "Units · Xing & Hu MI", "Î(hⱼ; y)",
        "Relevance by mutual information (Xing & Hu 2009): how much a unit's binned activation tells about the "
        "next target word (the 100 most frequent words plus 'other'), estimated with the Miller-Madow correction; "
        "the least informative units go first." + _RECONSTRUCTED,
        r"\mathrm{score}(j) = \hat{I}(h_j; y) = \sum_{b,c} \hat{p}(b,c) \log \frac{\hat{p}(b,c)}{\hat{p}(b) \hat{p}(c)}",
        "Mutual information between the unit's activation (16 equal-count bins) and the reference next token, "
        "over the decoder positions of 16 training minibatches; a tied layer is scored by its decoder side."),
    "units-random-unit": _unit_score(
        "Units · random", "uⱼ",
        "An independent uniform random score per hidden unit: the baseline every unit criterion must beat.",
        r"\mathrm{score}(j) \sim U[0, 1)",
        "A uniform random number per unit."),
})

# the steps every hidden-unit selection shares after its own: where the pruning lands, the model shrinks
_UNIT_TAIL = [
    _step("Where the pruning lands", "class-bars", "The fraction of each weight class that goes with the removed "
          "units. A unit takes its rows and every column that reads it, so an LSTM matrix whose rows and columns "
          "both lose f loses 1 − (1 − f)² of its weights; the embeddings lose none.",
          r"s_c = 1 - \frac{\text{kept rows} \cdot \text{kept columns}}{N_c}", "class"),
    _step("Whole rows and columns leave", "matrix", "The chosen class's weights: a removed unit's gate rows and the "
          "columns that read it turn dark as whole lines, never single weights.",
          r"W \odot (m_{\text{rows}} m_{\text{cols}}^{\top})", "class")]
_UNIT_AFTER = [
    _step("The model shrinks", "shrink", "Removed units are not just zeros: deleting their rows and columns gives a "
          "smaller dense model with the same outputs as the masked one (nmtprune shrink). Its parameter count "
          "against the fraction of units removed; the marker is the slider.",
          r"N(f) = \text{parameters of the LSTM with } n_g - k_g \text{ units per layer}")]

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
            _step("Cut every layer at its own k_g-th score", "unit-histograms", "Each layer (unit group g, n_g units) "
                  "is sorted on its own and loses its k_g lowest-scoring units: each red line is that layer's cut, "
                  "moving as f grows. Scores are never compared across layers.",
                  r"k_g = \mathrm{round}(f \cdot n_g), \quad j \text{ removed} \iff \mathrm{rank}_g(j) < k_g",
                  "group", hist="compared"),
            _step("The same fraction of every layer", "units", "Every layer keeps the same share of its units. "
                  "Bars: units kept per layer.", r"n_g - k_g = n_g - \mathrm{round}(f \cdot n_g)")],
        "tail": _UNIT_TAIL,
        "after": _UNIT_AFTER},
    "global": {
        "label": "global units",
        "text": "Rank the hidden units of all layers together, after dividing each layer's scores by their ℓ2 norm "
                "(Molchanov et al. 2017), and remove the lowest fraction f of all units: layers lose different "
                "shares.",
        "formula": r"\hat{s}_j = \frac{s_j}{\|s_g\|_2}, \quad k = \mathrm{round}(f \cdot N), \quad j \text{ removed} "
                   r"\iff \hat{s}_j \le t_k",
        "steps": [
            _step("Normalise each layer's scores", "unit-histograms", "Raw unit scores of different layers are not "
                  "comparable (an attention unit's L1 sums 1,024 weights, a tied LSTM unit's eight gate rows of two "
                  "layers). Dividing each layer's scores by their ℓ2 norm puts them on one scale (drawn here on one "
                  "shared axis); it never changes the order within a layer.", r"\hat{s}_j = \frac{s_j}{\|s_g\|_2} \text{ for } j \in g",
                  hist="compared"),
            _step("One global threshold", "histogram", "Pool the normalised scores of all layers; the k lowest go. "
                  "The red line is the k-th score, t_k, moving as f grows.",
                  r"k = \mathrm{round}(f \cdot N), \quad j \text{ removed} \iff \hat{s}_j \le t_k", "global",
                  of="pooled"),
            _step("The same line cuts every layer", "unit-histograms", "Seen per layer, the threshold is the same "
                  "everywhere, so the layers whose normalised scores sit lower lose more units.",
                  r"t_g = t_k \text{ for every layer } g", "global", hist="compared"),
            _step("Layers lose different shares", "units", "Units kept per layer: global ranking decides how much "
                  "each layer gives up. A selection that would empty a layer is refused; the site then holds the "
                  "last fraction it allows.", r"k_g = |\{ j \in g : \hat{s}_j \le t_k \}|")],
        "tail": _UNIT_TAIL,
        "after": _UNIT_AFTER},
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
    if art.get("kind") == "greg":  # GReg's penalty phase (nmtprune.site.greg_frames): no mask yet, a penalty
        g = art["greg"]
        n0, n1 = f0["norms"], f1["norms"]

        def mean(fr_norms: dict, key: str) -> float:  # the groups' mean norms, averaged over the groups
            vals = [v[key] for v in fr_norms.values() if v[key] is not None]
            return sum(vals) / max(1, len(vals))
        without = g.get("ppl_pruned_without_penalty")
        return _step(
            f"Or fade them out first: {g['mode'].upper()} (growing regularization)", "training",
            f"Instead of cutting at once, {g['mode'].upper()} (Wang et al. 2021) puts a penalty λ‖w_j‖² on the "
            f"{round(100 * g['fraction'])} % of each layer's units it will remove (chosen by L1, as above) and keeps "
            f"training: λ grows by {g['delta']:g} every {g['every']} steps up to {g['ceiling']:g}, then "
            f"{g['stabilize']} more steps ({rec['steps']} real optimizer steps, {rec['optimizer']}, learning rate "
            f"{rec['lr']:g}). The chosen units' incoming rows fade towards 0 while the rest of the network adapts: "
            f"their mean L1 norm goes from {mean(n0, 'removed'):.3g} to {mean(n1, 'removed'):.3g} (the kept units': "
            f"{mean(n0, 'kept'):.3g} to {mean(n1, 'kept'):.3g}). Removing them then gives dev perplexity "
            f"{g['ppl_after_penalty_pruned']:.1f} on {rec['dev_sentences']} sentences (dense {art['dense_dev_ppl']:.1f})"
            + (f", against {without:.1f} when the same units are removed without the penalty phase." if without
               else "."),
            r"w_j \leftarrow (1 - \eta \lambda_j) w_j, \quad \lambda_j = \min\left(\tau, \delta \cdot "
            r"\mathrm{floor}(s / K)\right)", training=art["id"])
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
