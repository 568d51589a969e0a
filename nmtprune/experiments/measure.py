"""How a study measures a model: the same numbers for every cell kind that ends with a model."""

from __future__ import annotations

from ..metrics.evaluate import evaluate_data
from .context import Context

__all__ = ["evaluate"]


def evaluate(ctx: Context, model) -> dict:
    """Test BLEU (both protocols) and perplexity, dev perplexity, decoding speed."""
    st = ctx.study
    metrics, _ = evaluate_data(
        model, ctx.data(st.split), ctx.tgt_vocab, ctx.cfg.data.tgt_lang, beam=st.beam, batch_size=st.batch_size
    )
    metrics["dev_ppl"] = round(ctx.perplexity(model, st.dev_split), 4)
    return metrics
