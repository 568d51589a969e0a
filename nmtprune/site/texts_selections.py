"""The selections' walk-through steps: one :data:`SELECTION_TEXT` entry per selection, built of :func:`step`.

An entry's ``steps`` follow the score's; ``tail`` replaces :data:`TAIL`, the two steps weight selections
share (where the pruning lands, the masks on the real matrix), and ``after`` comes after them: hidden-unit
pruning's "the model shrinks". The visualisations a step may name are listed in :mod:`.texts`.
"""

from __future__ import annotations

__all__ = ["SELECTION_TEXT", "TAIL", "step"]


def step(title: str, viz: str, text: str, formula: str, threshold: str = "none", **extra) -> dict:
    """One walk-through step: its title, the visualisation it names (``viz``), its words and formula."""
    return {"title": title, "viz": viz, "threshold": threshold, "text": text, "formula": formula, **extra}


# the steps every hidden-unit selection shares after its own: where the pruning lands, the model shrinks
_UNIT_TAIL = [
    step(
        "Where the pruning lands",
        "class-bars",
        "The fraction of each weight class that goes with the removed "
        "units. A unit takes its rows and every column that reads it, so an LSTM matrix whose rows and columns "
        "both lose f loses 1 − (1 − f)² of its weights; the embeddings lose none.",
        r"s_c = 1 - \frac{\text{kept rows} \cdot \text{kept columns}}{N_c}",
        "class",
    ),
    step(
        "Whole rows and columns leave",
        "matrix",
        "The chosen class's weights: a removed unit's gate rows and the "
        "columns that read it turn dark as whole lines, never single weights.",
        r"W \odot (m_{\text{rows}} m_{\text{cols}}^{\top})",
        "class",
    ),
]
_UNIT_AFTER = [
    step(
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
            step(
                "One global threshold",
                "histogram",
                "Sort the pooled scores; the k lowest are pruned. The red line "
                "is the k-th score, t_k, moving as the sparsity s grows.",
                r"k = \mathrm{round}(s \cdot N), \quad w \text{ pruned} \iff \mathrm{score}(w) \le t_k",
                "global",
            ),
            step(
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
            step(
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
            step(
                "Scale by the class spread σ_c",
                "class-histograms",
                "Each class's threshold is λ·σ_c: classes whose scores spread wider are cut at a higher score.",
                r"w \in c \text{ pruned} \iff \mathrm{score}(w) < \lambda \cdot \sigma_c",
                "class",
            ),
            step(
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
    "per-row": {
        "label": "per-row",
        "text": "Every row of every matrix keeps the same fraction of its weights: a row is one gate's weights into "
        "one unit (or one output of the attention or softmax layer, or one word's embedding), and it loses the "
        "fraction s of its own lowest scores. Scores are never compared across rows.",
        "formula": r"k = \mathrm{round}(s \cdot n_{\text{cols}}), \quad w \in \text{row } r \text{ pruned} \iff "
        r"\mathrm{rank}_r(w) < k",
        "steps": [
            step(
                "Each row is cut on its own",
                "class-histograms",
                "Each row is sorted on its own and loses its k lowest scores, so every row, and so every class, "
                "keeps the same share. Wanda's paper (Sun et al. 2023) compares this way because it takes its "
                "score |w|·‖x‖ to be comparable only among the weights of one output, not across outputs. Every "
                "row has its own cut, so no line is drawn; the dark part of a bar counts the weights pruned in it.",
                r"k = \mathrm{round}(s \cdot n_{\text{cols}}), \quad w \in \text{row } r \text{ pruned} \iff "
                r"\mathrm{rank}_r(w) < k",
                "row",
            )
        ],
    },
    "per-layer": {
        "label": "per-layer units",
        "text": "Remove the same fraction f of the hidden units of every layer, each layer's lowest-scoring first; "
        "the slider is f, the share of units removed.",
        "formula": r"k_g = \mathrm{round}(f \cdot n_g), \quad j \text{ removed} \iff \mathrm{rank}_g(j) < k_g",
        "steps": [
            step(
                "Cut every layer at its own k_g-th score",
                "unit-histograms",
                "Each layer (unit group g, n_g units) "
                "is sorted on its own and loses its k_g lowest-scoring units: each red line is that layer's cut, "
                "moving as f grows. Scores are never compared across layers.",
                r"k_g = \mathrm{round}(f \cdot n_g), \quad j \text{ removed} \iff \mathrm{rank}_g(j) < k_g",
                "group",
                hist="compared",
            ),
            step(
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
            step(
                "Normalise each layer's scores",
                "unit-histograms",
                "Raw unit scores of different layers are not "
                "comparable (an attention unit's L1 sums 1,024 weights, a tied LSTM unit's eight gate rows of two "
                "layers). Dividing each layer's scores by their ℓ2 norm puts them on one scale (drawn here on one "
                "shared axis); it never changes the order within a layer.",
                r"\hat{s}_j = \frac{s_j}{\|s_g\|_2} \text{ for } j \in g",
                hist="compared",
            ),
            step(
                "One global threshold",
                "histogram",
                "Pool the normalised scores of all layers; the k lowest go. "
                "The red line is the k-th score, t_k, moving as f grows.",
                r"k = \mathrm{round}(f \cdot N), \quad j \text{ removed} \iff \hat{s}_j \le t_k",
                "global",
                of="pooled",
            ),
            step(
                "The same line cuts every layer",
                "unit-histograms",
                "Seen per layer, the threshold is the same "
                "everywhere, so the layers whose normalised scores sit lower lose more units.",
                r"t_g = t_k \text{ for every layer } g",
                "global",
                hist="compared",
            ),
            step(
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

TAIL = [
    step(
        "Where the pruning lands",
        "class-bars",
        "The fraction of each weight class that is pruned at this sparsity.",
        r"s_c = \frac{\text{pruned in } c}{N_c}",
        "class",
    ),
    step(
        "The masks on the real matrix",
        "matrix",
        "The chosen class's weights (red positive, blue negative); pruned "
        "weights turn dark. The mask grows as the sparsity goes from 0 to 98 %.",
        r"W \odot M",
        "class",
    ),
]
