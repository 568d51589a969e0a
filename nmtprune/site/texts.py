"""Words and formulas of the site's "how it works" walk-throughs, as data.

Each step names one visualisation from a small fixed vocabulary the site knows how to draw:

* ``histogram``: the score's histogram over all classes pooled; ``threshold``: ``none`` or ``global``;
* ``class-histograms``: one histogram per class with that class's threshold at the current sparsity
  (``readout: lambda`` also shows λ and each σ_c);
* ``class-bars``: the fraction of each class pruned at the current sparsity;
* ``matrix``: the chosen class's weights with the pruned ones drawn in the pruned colour.

Formulas are a TeX subset (``\\frac``, ``_``, ``^``, ``\\mathrm``, ``\\text``, Greek letters,
``\\le``, ``\\iff``, ``\\cdot``, ``|``) rendered by ``site/js/formula.js`` as MathML. A new score
adds an entry to :data:`SCORE_TEXT`; the steps of a selection are shared by every score.
"""
from __future__ import annotations

__all__ = ["SCORE_TEXT", "SELECTION_TEXT", "steps_for"]

SCORE_TEXT = {
    "magnitude": {"label": "Magnitude", "symbol": "|w|",
                  "text": "Each weight's score is its absolute value: small weights are assumed to matter "
                          "least and are pruned first (See et al. 2016).",
                  "formula": r"\mathrm{score}(w) = |w|"},
    "random": {"label": "Random", "symbol": "u",
               "text": "Each weight gets an independent uniform random score: the control baseline every "
                       "pruning criterion must beat.",
               "formula": r"\mathrm{score}(w) \sim U[0, 1)"},
}

SELECTION_TEXT = {
    "class-blind": {"label": "class-blind",
                    "text": "Pool the weights of all classes and prune the lowest-scoring fraction s of the pool: "
                            "one global threshold.",
                    "formula": r"k = \mathrm{round}(s \cdot N), \quad w \text{ pruned} \iff \mathrm{score}(w) \le t_k"},
    "class-uniform": {"label": "class-uniform",
                      "text": "Prune the same fraction s of every class, each with its own threshold.",
                      "formula": r"k_c = \mathrm{round}(s \cdot N_c), \quad w \in c \text{ pruned} \iff "
                                 r"\mathrm{score}(w) \le t_{c}"},
    "class-distribution": {"label": "class-distribution",
                           "text": "Prune the weights whose score is below λ times their class's standard "
                                   "deviation σ_c, with one λ for all classes, chosen so that s of all weights go.",
                           "formula": r"w \in c \text{ pruned} \iff \mathrm{score}(w) < \lambda \cdot \sigma_c"},
}


def steps_for(score: str, selection: str) -> list[dict]:
    """The walk-through of one method: score, threshold(s), where it lands, the masks."""
    st = SCORE_TEXT.get(score, {"label": score, "text": "", "formula": ""})
    steps = [{"title": f"1. Score every weight ({st['label'].lower()})", "text": st["text"] +
              " The histogram pools the weights of all classes.", "formula": st["formula"],
              "viz": "histogram", "threshold": "none"}]
    if selection == "class-blind":
        steps += [
            {"title": "2. One global threshold", "viz": "histogram", "threshold": "global",
             "text": "Sort the pooled scores; the k lowest are pruned. The red line is the k-th score, t_k, "
                     "moving as the sparsity s grows.", "formula": SELECTION_TEXT[selection]["formula"]},
            {"title": "3. The same line cuts every class", "viz": "class-histograms", "threshold": "class",
             "text": "Seen per class, the threshold is the same everywhere, so classes with many small "
                     "scores lose more weights.", "formula": r"t_c = t_k \text{ for every class } c"}]
    elif selection == "class-uniform":
        steps += [
            {"title": "2. One threshold per class", "viz": "class-histograms", "threshold": "class",
             "text": "Each class is sorted on its own and loses exactly a fraction s of its weights: "
                     "each red line is that class's k_c-th score.", "formula": SELECTION_TEXT[selection]["formula"]}]
    else:
        steps += [
            {"title": "2. Scale by the class spread σ_c", "viz": "class-histograms", "threshold": "class",
             "text": "Each class's threshold is λ·σ_c: classes whose scores spread wider are cut at a higher "
                     "score.", "formula": SELECTION_TEXT[selection]["formula"]},
            {"title": "3. One λ for all classes", "viz": "class-histograms", "threshold": "class", "readout": "lambda",
             "text": "λ is the k-th smallest of score/σ_c over all weights, so exactly s of all weights are "
                     "pruned: class-blind pruning of the σ-normalised scores.",
             "formula": r"\lambda = t_k\left(\frac{\mathrm{score}(w)}{\sigma_{c(w)}}\right), \quad k = \mathrm{round}(s \cdot N)"}]
    n = len(steps)
    steps += [
        {"title": f"{n + 1}. Where the pruning lands", "viz": "class-bars", "threshold": "class",
         "text": "The fraction of each weight class that is pruned at this sparsity.",
         "formula": r"s_c = \frac{\text{pruned in } c}{N_c}"},
        {"title": f"{n + 2}. The masks on the real matrix", "viz": "matrix", "threshold": "class",
         "text": "The chosen class's weights (red positive, blue negative); pruned weights turn dark. "
                 "The mask grows as the sparsity goes from 0 to 98 %.", "formula": r"W \odot M"}]
    return steps
