from .bootstrap import paired_bootstrap, sentence_stats
from .evaluate import bleu_scores, evaluate_data, perplexity, tok_lc_texts, translate_data

__all__ = [
    "bleu_scores",
    "evaluate_data",
    "paired_bootstrap",
    "perplexity",
    "sentence_stats",
    "tok_lc_texts",
    "translate_data",
]
