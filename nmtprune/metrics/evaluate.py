"""Translation of a split, BLEU (two protocols) and perplexity.

* ``bleu_tok_lc``: the Multi30k protocol. Hypothesis and reference are both Moses-normalised,
  tokenised (aggressive hyphen splitting) and lowercased with :class:`nmtprune.data.Tokenizer`, then
  scored by sacreBLEU with ``tokenize='none'`` (equivalent to multi-bleu.perl).
* ``sacrebleu``: cased, detokenised output against the raw reference with sacreBLEU's defaults; its
  signature is reported. A lowercasing model loses case here by construction.
"""

from __future__ import annotations

import math
import time

import sacrebleu
import torch

from ..data.batching import ParallelData, collate, make_batches
from ..data.tokenize import Tokenizer
from ..decode.search import beam_search, greedy_search
from ..models.seq2seq import nll_loss

__all__ = ["translate_data", "perplexity", "bleu_scores", "tok_lc_texts", "evaluate_data"]


@torch.no_grad()
def translate_data(
    model, data: ParallelData, tgt_vocab, beam: int = 5, batch_size: int = 64, alpha: float = 1.0, device="cpu"
) -> list[list[str]]:
    """Decode every source of ``data``; returns token lists in the data's order."""
    model.eval()
    out: list[list[str]] = [[] for _ in range(len(data))]
    for index in make_batches(data, batch_size, shuffle=False):
        batch = collate(data, index).to(device)
        if beam == 1:
            hyps = greedy_search(model, batch.src, batch.src_len)
        else:
            hyps = beam_search(model, batch.src, batch.src_len, beam=beam, alpha=alpha)
        for i, h in zip(index, hyps):
            out[int(i)] = tgt_vocab.decode(h)
    return out


@torch.no_grad()
def perplexity(model, data: ParallelData, batch_size: int = 64, device="cpu") -> float:
    """Teacher-forced per-token perplexity (``</s>`` counted, padding not)."""
    model.eval()
    total, tokens = 0.0, 0
    for index in make_batches(data, batch_size, shuffle=False):
        b = collate(data, index).to(device)
        total += float(nll_loss(model(b.src, b.src_len, b.tgt_in), b.tgt_out))
        tokens += b.n_tokens
    return math.exp(total / max(1, tokens))


def tok_lc_texts(hyp_tokens: list[list[str]], raw_refs: list[str], tgt_lang: str) -> tuple[list[str], list[str]]:
    """Hypotheses and references as the ``bleu_tok_lc`` protocol scores them (one string per sentence)."""
    tok = Tokenizer(tgt_lang, lowercase=True)
    hyps = [" ".join(t.lower() for t in tok.tokenize(tok.detokenize(h))) for h in hyp_tokens]
    return hyps, [" ".join(tok.tokenize(r)) for r in raw_refs]


def bleu_scores(hyp_tokens: list[list[str]], raw_refs: list[str], tgt_lang: str) -> dict:
    """Both BLEU protocols for tokenised hypotheses against raw references."""
    tok = Tokenizer(tgt_lang, lowercase=True)
    hyp_tok_lc, ref_tok_lc = tok_lc_texts(hyp_tokens, raw_refs, tgt_lang)
    tok_lc = sacrebleu.corpus_bleu(hyp_tok_lc, [ref_tok_lc], tokenize="none", force=True)
    detok = [tok.detokenize(h) for h in hyp_tokens]
    metric = sacrebleu.metrics.BLEU()
    cased = metric.corpus_score(detok, [raw_refs])
    return {
        "bleu_tok_lc": round(tok_lc.score, 2),
        "sacrebleu": round(cased.score, 2),
        "sacrebleu_signature": str(metric.get_signature()),
    }


def evaluate_data(
    model,
    data: ParallelData,
    tgt_vocab,
    tgt_lang: str,
    beam: int = 5,
    alpha: float = 1.0,
    batch_size: int = 64,
    device="cpu",
    with_ppl: bool = True,
) -> tuple[dict, list[list[str]]]:
    """BLEU, perplexity (unless ``with_ppl`` is False) and decoding speed; returns (metrics, hypotheses)."""
    start = time.perf_counter()
    hyps = translate_data(model, data, tgt_vocab, beam=beam, batch_size=batch_size, alpha=alpha, device=device)
    seconds = time.perf_counter() - start
    metrics = bleu_scores(hyps, data.raw_tgt, tgt_lang)
    if with_ppl:
        metrics["ppl"] = round(perplexity(model, data, batch_size, device), 3)
    metrics.update(sentences_per_s=round(len(data) / seconds, 2), beam=beam, sentences=len(data))
    return metrics, hyps
