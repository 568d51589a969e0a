from .evaluate import bleu_scores, evaluate_data, perplexity, translate_data
__all__ = ["bleu_scores", "evaluate_data", "perplexity", "translate_data"]
