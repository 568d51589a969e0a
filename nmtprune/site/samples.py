"""Sample translations of the pruned model: a few test sentences, greedy, at a few sparsities per method.

Greedy decoding of 3 short sentences costs milliseconds; the selection (O(N)) dominates, so each
score is computed once and each (method, level) costs one :func:`select` and one mask application.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from ..data.batching import ParallelData, load_split
from ..data.tokenize import Tokenizer
from ..metrics.evaluate import translate_data
from ..prune import SCHEMES, run_score, select
from ..train.checkpoint import load_model

__all__ = ["sample_translations"]


def _pick(data: ParallelData, n: int) -> list[int]:
    """The first ``n`` sentences of 4-12 tokens: short enough to read on a phone."""
    idx = [i for i, t in enumerate(data.src_tokens) if 4 <= len(t) <= 12][:n]
    return idx or list(range(min(n, len(data))))


def sample_translations(
    model_dir: str | Path,
    methods: list[dict],
    levels: list[int],
    *,
    n: int = 3,
    split: Optional[str] = None,
    seed: int = 0,
    score_fn: Optional[Callable] = None,
    progress=print,
) -> dict:
    """Fill ``methods[i]["samples"]`` with ``[{"level", "hyps"}]``; return the sources and references.

    ``score_fn(name, model)`` computes a score (default: the registry's function with ``seed``; the
    export passes its :func:`.runner.score_runner`, which also feeds data-driven scores their batches).
    A method whose builder left a pruning hook ``m["_prune"](model, level)`` (hidden-unit methods,
    :mod:`.units`) is pruned by it; other methods whose selection :func:`select` does not know get no
    samples rather than wrong ones.
    """
    score_fn = score_fn or (lambda name, m: run_score(name, m, seed=seed))
    model, cfg, src_vocab, tgt_vocab = load_model(model_dir)
    split = split or cfg.data.dev_split
    full = load_split(
        cfg.data.corpus, split, cfg.data.src_lang, cfg.data.tgt_lang, cfg.data.lowercase, src_vocab, tgt_vocab
    )
    idx = _pick(full, n)
    data = ParallelData(
        *[[getattr(full, f)[i] for i in idx] for f in ("src", "tgt", "src_tokens", "tgt_tokens", "raw_src", "raw_tgt")]
    )
    detok = Tokenizer(cfg.data.tgt_lang, cfg.data.lowercase)
    dense_state = {k: v.clone() for k, v in model.state_dict().items()}

    def decode() -> list[str]:
        return [detok.detokenize(h) for h in translate_data(model, data, tgt_vocab, beam=1)]

    dense = decode()
    scores: dict = {}
    for m in methods:
        m["samples"] = []
        hook = m.get("_prune")
        if hook is None and m["selection"] not in SCHEMES:
            continue
        if hook is None and m["score"] not in scores:  # of the dense model (the last method left a pruned one behind)
            model.load_state_dict(dense_state)
            scores = {m["score"]: score_fn(m["score"], model)}  # one score in memory at a time
        progress(f"site samples: {m['id']}")
        for lv in levels:
            if lv == 0:
                m["samples"].append({"level": 0, "hyps": dense})
                continue
            model.load_state_dict(dense_state)
            if hook is not None:
                hook(model, lv)
            else:
                select(scores[m["score"]], model, lv / 100, m["selection"]).apply(model)
            m["samples"].append({"level": lv, "hyps": decode()})
    model.load_state_dict(dense_state)
    return {
        "split": split,
        "corpus": cfg.data.corpus,
        "decoding": "greedy",
        "levels": list(levels),
        "sources": [full.raw_src[i] for i in idx],
        "references": [full.raw_tgt[i] for i in idx],
    }
