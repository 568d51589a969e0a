"""What the cells of one sweep share: the dense model, the evaluation data, masks and baselines.

Everything is loaded lazily and cached, so a sweep that only runs decode-free cells never tokenises
a test set, and the masks of one (score, scheme, sparsity, seed) are selected once for all the cells
that use them. Every cell starts from :meth:`Context.dense`, which restores the dense weights in
place, so no cell can see another cell's pruning.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Optional

import torch

from ..config import config_from_dict
from ..data.batching import ParallelData, load_split
from ..metrics.evaluate import perplexity
from ..models.seq2seq import Seq2Seq
from ..models.weight_classes import class_names
from ..prune import MaskSet, get_score, select
from ..train.checkpoint import load_model
from .study import Study

__all__ = ["Context", "class_names_of", "head"]


def class_names_of(model_dir: str | Path) -> list[str]:
    """Weight-class names of a checkpoint, from its config alone (the model is built on ``meta``)."""
    raw = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    cfg = config_from_dict(raw, str(Path(model_dir) / "config.json"))
    with torch.device("meta"):
        return class_names(Seq2Seq(cfg.model))


def head(data: ParallelData, n: int) -> ParallelData:
    """The first ``n`` pairs of ``data`` (all of them for n = 0)."""
    if not n or n >= len(data):
        return data
    return ParallelData(data.src[:n], data.tgt[:n], data.src_tokens[:n], data.tgt_tokens[:n],
                        data.raw_src[:n], data.raw_tgt[:n])


class Context:
    """Shared state of one sweep.

    Args:
        study: the parsed study.
        work_dir: scratch folder of this study (retraining runs, temporary files); never committed.
        progress: let training runs draw progress bars.
    """

    def __init__(self, study: Study, work_dir: str | Path, progress: bool = False):
        self.study = study
        self.work_dir = Path(work_dir)
        self.progress = progress
        self._model: Optional[Seq2Seq] = None
        self._dense: dict[str, torch.Tensor] = {}
        self._data: dict[str, ParallelData] = {}
        self._masks: OrderedDict[tuple, MaskSet] = OrderedDict()
        self._dense_ppl: dict[str, float] = {}

    # ------------------------------------------------------------------ model
    def _load(self) -> None:
        model, self.cfg, self.src_vocab, self.tgt_vocab = load_model(self.study.model)
        self._dense = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._model = model

    def dense(self) -> Seq2Seq:
        """The model with the dense weights restored (in place; eval mode)."""
        if self._model is None:
            self._load()
        self._model.load_state_dict(self._dense)
        return self._model.eval()

    @property
    def model(self) -> Seq2Seq:
        """The model as it is now (no restore)."""
        if self._model is None:
            self._load()
        return self._model

    # ------------------------------------------------------------------ data
    def data(self, split: str) -> ParallelData:
        """A split of the model's corpus, cut to the study's ``max_sentences``."""
        if split not in self._data:
            self.model  # noqa: B018 - loads the vocabularies
            d = self.cfg.data
            full = load_split(d.corpus, split, d.src_lang, d.tgt_lang, d.lowercase, self.src_vocab, self.tgt_vocab)
            self._data[split] = head(full, self.study.max_sentences)
        return self._data[split]

    def perplexity(self, model: Seq2Seq, split: str) -> float:
        return perplexity(model, self.data(split), batch_size=self.study.batch_size)

    def dense_perplexity(self, split: str) -> float:
        """Perplexity of the dense model on ``split`` (computed once)."""
        if split not in self._dense_ppl:
            self._dense_ppl[split] = self.perplexity(self.dense(), split)
        return self._dense_ppl[split]

    # ------------------------------------------------------------------ masks
    def masks(self, score: str, scheme: str, sparsity: float, seed: int = 0) -> MaskSet:
        """Masks selected on the *dense* weights (σ_c for class-distribution too); a few are cached."""
        key = (score, scheme, float(sparsity), int(seed))
        if key not in self._masks:
            model = self.dense()
            scores = get_score(score)(model, seed=seed)
            self._masks[key] = select(scores, model, sparsity, scheme)
            while len(self._masks) > 3:  # a 21M-weight MaskSet is 21 MB of bools
                self._masks.popitem(last=False)
        self._masks.move_to_end(key)
        return self._masks[key]

    def pruned(self, score: str, scheme: str, sparsity: float, seed: int = 0) -> tuple[Seq2Seq, MaskSet]:
        """The dense model with the given masks applied, and the masks."""
        masks = self.masks(score, scheme, sparsity, seed)
        model = self.dense()
        masks.apply(model)
        return model, masks

    def scratch(self, cell_id: str) -> Path:
        """The scratch folder of one cell (its training run lives here)."""
        return self.work_dir / cell_id
