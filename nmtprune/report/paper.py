"""See, Luong & Manning (2016): the paper's numbers, exact values from the figures' pgfplots data
(their Section 5; WMT'14 En-De, 4x1000 LSTM, newstest2014, tokenised cased BLEU).

Class names are this project's (:func:`nmtprune.models.weight_classes`); the paper's 4-layer model
has ``src_layer1..4`` / ``tgt_layer1..4``.
"""

from __future__ import annotations

__all__ = [
    "DENSE_BLEU",
    "DENSE_PPL",
    "FIG3",
    "FIG4",
    "FIG5_MAX_W",
    "FIG6",
    "FIG7",
    "STORAGE",
    "FIG8_WORDS",
    "PAPER_LAYERS",
    "PAPER_WEIGHTS",
    "PAPER_CLASS_NAMES",
    "paper_class",
]

DENSE_BLEU = 20.48  # newstest2014, after unk replacement
DENSE_PPL = 6.1  # test perplexity of the baseline (Luong et al. 2015)
PAPER_LAYERS = 4
PAPER_WEIGHTS = 216_000_000  # the 12 classes, from the Fig 4 caption's sizes
VOCAB = 50_000

SPARSITIES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# Fig 3: BLEU vs sparsity, no retraining.
FIG3 = {
    "class-blind": (20.48, 20.44, 20.44, 20.31, 20.15, 19.55, 18.81, 16.41, 10.99, 1.20),
    "class-uniform": (20.48, 20.45, 20.17, 20.19, 19.25, 18.05, 14.99, 9.64, 3.18, 0.35),
    "class-distribution": (20.48, 20.43, 20.19, 19.95, 19.41, 17.80, 15.02, 9.71, 3.03, 0.41),
}
FIG3 = {scheme: dict(zip(SPARSITIES, v)) for scheme, v in FIG3.items()}

_CLASSES = (
    "src_layer1",
    "src_layer2",
    "src_layer3",
    "src_layer4",
    "tgt_layer1",
    "tgt_layer2",
    "tgt_layer3",
    "tgt_layer4",
    "attention",
    "softmax",
    "src_emb",
    "tgt_emb",
)
PAPER_CLASS_NAMES = dict(
    zip(
        _CLASSES,
        (
            "source layer 1",
            "source layer 2",
            "source layer 3",
            "source layer 4",
            "target layer 1",
            "target layer 2",
            "target layer 3",
            "target layer 4",
            "attention",
            "softmax",
            "source embedding",
            "target embedding",
        ),
    )
)
# Fig 4: perplexity change when only that class's part of the 90 % mask is applied.
FIG4 = {
    "class-blind": (0.467, 0.362, 0.796, 0.795, 0.201, 0.223, -0.292, 1.108, 0.416, 7.804, 2.963, 2.351),
    "class-uniform": (0.471, 0.562, 1.830, 3.629, 0.422, 0.458, 0.474, 7.546, 6.362, 16.277, 0.336, 0.226),
    "class-distribution": (0.459, 0.544, 1.818, 3.935, 0.428, 0.467, 0.494, 8.309, 6.343, 15.723, 0.312, 0.254),
}
FIG4 = {scheme: dict(zip(_CLASSES, v)) for scheme, v in FIG4.items()}
# Fig 5: class-uniform at 90 %: the largest deleted |w| per class (its Δppl is FIG4["class-uniform"]).
FIG5_MAX_W = dict(
    zip(_CLASSES, (0.2251, 0.2445, 0.2710, 0.3307, 0.2612, 0.2658, 0.2956, 0.3361, 0.4586, 0.2575, 0.1575, 0.1419))
)
# Fig 6: class-blind BLEU: pruned only / pruned + retrained / sparse from the beginning (single runs).
FIG6 = {
    0.5: (19.55, 21.03, 19.95),
    0.6: (18.81, 21.24, 20.24),
    0.7: (16.41, 21.02, 20.13),
    0.8: (10.99, 20.91, 19.98),
    0.9: (1.20, 20.13, 19.09),
}
# Fig 7: validation loss of the baseline (at iteration 405K), just after pruning 80 %, 25K and 35K
# iterations into retraining, and the range where it ends (~540K, about 3.8 epochs later).
FIG7 = {"dense": 2.27, "pruned": 2.53, "retrained_25k": 2.22, "retrained_35k": 1.99, "final": (1.95, 2.0)}
# Storage: MATLAB file of the dense model vs the 80 %-pruned and retrained one.
STORAGE = {"dense_mb": 782, "pruned80_mb": 272, "reduction": 0.652}
# Fig 8: words whose whole embedding is pruned at 80 % class-blind, of 50K per side.
FIG8_WORDS = {"src_emb": 100, "tgt_emb": 1194, "vocab": VOCAB}


def paper_class(cls: str, layers: int | tuple[int, int]) -> str:
    """The paper's class at the same relative depth: bottom <-> layer 1, top <-> layer 4.

    Our models have fewer layers than the paper's 4, so "top target layer" (the one the paper finds
    crucial) is ``tgt_layer{layers}`` here but ``tgt_layer4`` there. ``layers``: our layer count, or
    (encoder layers, decoder layers).
    """
    enc, dec = (layers, layers) if isinstance(layers, int) else layers
    for side, n in (("src_layer", enc), ("tgt_layer", dec)):
        if cls.startswith(side):
            k = int(cls[len(side) :])
            if n <= 1:
                return f"{side}{PAPER_LAYERS}"
            return f"{side}{1 + round((k - 1) * (PAPER_LAYERS - 1) / (n - 1))}"
    return cls
