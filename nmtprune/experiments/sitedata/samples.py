"""Sample translations of the pruned model: a few sentences of one split, greedy, at a few sparsities.

Greedy decoding of 3 short sentences costs milliseconds; the selection (O(N)) dominates, so a score
is computed once for all its methods (:mod:`.compute`) and each (method, level) costs one selection
and one mask application, always from the dense weights.
"""

from __future__ import annotations

from typing import Callable, Optional

from ...data.batching import ParallelData, load_split
from ...data.tokenize import Tokenizer
from ...metrics.evaluate import translate_data
from ...prune import SCHEMES
from ...prune.registry import get_selection
from .names import ROW_SCHEME

__all__ = ["SampleSet", "method_samples"]

SAMPLED = (*SCHEMES, ROW_SCHEME)  # the selections the site draws at a slider's sparsity


def _pick(data: ParallelData, n: int) -> list[int]:
    """The first ``n`` sentences of 4-12 tokens: short enough to read on a phone."""
    idx = [i for i, t in enumerate(data.src_tokens) if 4 <= len(t) <= 12][:n]
    return idx or list(range(min(n, len(data))))


class SampleSet:
    """The sentences the site translates and how: ``n`` sentences of ``split`` (default: the model's
    dev split), decoded greedily; ``info`` is the export's ``samples`` entry less the translations."""

    def __init__(self, cfg, src_vocab, tgt_vocab, split: Optional[str], n: int, levels):
        self.split = split or cfg.data.dev_split
        full = load_split(
            cfg.data.corpus, self.split, cfg.data.src_lang, cfg.data.tgt_lang, cfg.data.lowercase, src_vocab, tgt_vocab
        )
        idx = _pick(full, n)
        fields = ("src", "tgt", "src_tokens", "tgt_tokens", "raw_src", "raw_tgt")
        self.data = ParallelData(*[[getattr(full, f)[i] for i in idx] for f in fields])
        self.tgt_vocab = tgt_vocab
        self.detok = Tokenizer(cfg.data.tgt_lang, cfg.data.lowercase)
        self.levels = list(levels)
        self.info = {
            "split": self.split,
            "corpus": cfg.data.corpus,
            "decoding": "greedy",
            "levels": list(levels),
            "sources": [full.raw_src[i] for i in idx],
            "references": [full.raw_tgt[i] for i in idx],
        }

    def decode(self, model) -> list[str]:
        """The model's greedy translations of the sentences, detokenised."""
        return [self.detok.detokenize(h) for h in translate_data(model, self.data, self.tgt_vocab, beam=1)]


def method_samples(
    model, dense_state: dict, m: dict, scores: dict, samples: SampleSet, dense: list[str], progress: Callable = print
) -> list[dict]:
    """``[{"level", "hyps"}]`` of one method at every sample level; the model is left dense.

    A method whose builder left a pruning hook ``m["_prune"](model, level)`` (hidden-unit methods,
    :mod:`.units`) is pruned by it; other methods are selected from ``scores`` {param: (rows, cols)}
    by the registry's selection of that name (See et al.'s three or ``per-row``); any other selection
    gets no samples rather than wrong ones.
    """
    hook = m.get("_prune")
    if hook is None and m["selection"] not in SAMPLED:
        return []
    progress(f"site samples: {m['id']}")
    out = []
    for lv in samples.levels:
        if lv == 0:
            out.append({"level": 0, "hyps": dense})
            continue
        model.load_state_dict(dense_state)
        if hook is not None:
            hook(model, lv)
        else:
            get_selection(m["selection"])(scores, model, lv / 100).apply(model)
        out.append({"level": lv, "hyps": samples.decode(model)})
    model.load_state_dict(dense_state)
    return out
