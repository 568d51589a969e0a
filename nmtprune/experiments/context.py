"""What the cells of one sweep share: the dense model, the evaluation data, masks and baselines.

Everything is loaded lazily and cached, so a sweep that only runs decode-free cells never tokenises
a test set, and the masks of one (score, scheme, sparsity, seed) are selected once for all the cells
that use them. Data-driven scores (``get_score(name).needs_data``) get their scoring batches from
the training split, built only when such a score is first used and deterministic given the seed;
the last score computed is kept, so a costly score runs once for all its schemes and sparsities.
Every cell starts from :meth:`Context.dense`, which restores the dense weights in place, so no cell
can see another cell's pruning. A method that updates weights (``ScoreSpec.reconstruct``, SparseGPT)
is run instead of score-then-select; its masks are cached with the updated weights, which
:meth:`Context.pruned` loads. Selections are looked up by name (:func:`nmtprune.prune.get_selection`),
so the schemes, ``per-row`` and N:M patterns (``2:4``) all go through the same path.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Optional

import torch

from ..config import config_from_dict
from ..data.batching import Batch, ParallelData, load_split
from ..metrics.evaluate import perplexity
from ..models.seq2seq import Seq2Seq
from ..models.weight_classes import class_names
from ..prune import MaskSet, get_score, get_selection, run_score
from ..prune.scores import SCORING_BATCH_SIZE, absent_row_counts, scoring_batches
from ..train.checkpoint import load_model
from .study import Study

__all__ = ["Context", "class_names_of", "unit_group_names_of", "head"]


def class_names_of(model_dir: str | Path) -> list[str]:
    """Weight-class names of a checkpoint, from its config alone (the model is built on ``meta``)."""
    raw = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    cfg = config_from_dict(raw, str(Path(model_dir) / "config.json"))
    with torch.device("meta"):
        return class_names(Seq2Seq(cfg.model))


def unit_group_names_of(model_dir: str | Path) -> list[str]:
    """Hidden-unit group names of a checkpoint (``src_layer1+tgt_layer1``, ...), from its config alone."""
    from ..prune.units import unit_groups

    raw = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    return [g.name for g in unit_groups(config_from_dict(raw, str(Path(model_dir) / "config.json")).model)]


def head(data: ParallelData, n: int) -> ParallelData:
    """The first ``n`` pairs of ``data`` (all of them for n = 0)."""
    if not n or n >= len(data):
        return data
    return ParallelData(
        data.src[:n], data.tgt[:n], data.src_tokens[:n], data.tgt_tokens[:n], data.raw_src[:n], data.raw_tgt[:n]
    )


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
        self._updated: dict[tuple, dict[str, torch.Tensor]] = {}  # the reconstructed weights of a cached mask
        self._dense_ppl: dict[str, float] = {}
        self._train: Optional[ParallelData] = None  # the training split, for scoring batches only
        self._scoring: dict[int, list[Batch]] = {}
        self._scores: tuple = (None, None)  # ((score, seed), scores): the last score computed
        self._unit_scores: tuple = (None, None)  # the same for unit scores

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

    def scoring_batches(self, seed: int, n_batches: int) -> list[Batch]:
        """The first ``n_batches`` scoring batches of the training split for ``seed`` (cached).

        Training split with the training ``max_len`` (not cut to ``max_sentences``), batches of
        :data:`SCORING_BATCH_SIZE` sentences in epoch-0 order for ``seed``; the first n batches of a
        longer list are the same, so one list per seed serves every score.
        """
        if len(self._scoring.get(seed, [])) < n_batches:
            self._scoring[seed] = scoring_batches(self.train_split(), n_batches, SCORING_BATCH_SIZE, seed)
        return self._scoring[seed][:n_batches]

    def train_split(self) -> ParallelData:
        """The training split with the training ``max_len``: what one training epoch goes through (cached)."""
        if self._train is None:
            self.model  # noqa: B018 - loads the vocabularies
            d = self.cfg.data
            self._train = load_split(
                d.corpus, d.train_split, d.src_lang, d.tgt_lang, d.lowercase, self.src_vocab, self.tgt_vocab, d.max_len
            )
        return self._train

    def rescorer(self, score: str, seed: int = 0) -> Callable[[Seq2Seq, int], dict]:
        """``(model, step) -> scores`` for scheduled pruning (:class:`nmtprune.prune.gradual.ScheduledPruner`).

        Each pruning event re-scores the model *as it is then* (OBD/SNIP/Taylor: fresh gradients or
        curvature of the retrained weights, on this context's scoring batches for ``seed``; magnitude:
        today's weights), so iterative OBD prunes, retrains and re-scores as LeCun et al. did.
        """
        spec = get_score(score)
        batches = self.scoring_batches(seed, spec.n_batches) if spec.needs_data else None

        def rescore(model: Seq2Seq, step: int) -> dict:
            return run_score(spec, model, batches, seed=seed)

        return rescore

    # ------------------------------------------------------------------ hidden units
    def unit_scores(self, score: str, seed: int = 0, n_batches: int = 0) -> dict[str, torch.Tensor]:
        """``{group: FloatTensor (n_units,)}`` of a unit score on the dense model (the last one is cached).

        Data-driven unit scores get the first ``n_batches`` scoring batches of the training split
        for ``seed`` (the same batches the weight scores use).
        """
        key = ("units", score, int(seed), int(n_batches))
        if self._unit_scores[0] != key:
            spec = get_score(score, kind="unit")
            batches = self.scoring_batches(seed, n_batches) if spec.needs_data else None
            self._unit_scores = (key, run_score(spec, self.dense(), batches, seed=seed))
        return self._unit_scores[1]

    # ------------------------------------------------------------------ masks
    def masks(self, score: str, scheme: str, sparsity: float, seed: int = 0) -> MaskSet:
        """Masks selected on the *dense* weights (σ_c for class-distribution too); a few are cached.

        Data-driven scores also get their scoring batches; ``info["scoring"]`` then records how many,
        their size and the embedding rows they never touch (the absent-row pitfall). For a method that
        updates weights the masks are its own; :meth:`pruned` applies both, :meth:`updated` gives the
        updated weights alone (a class breakdown takes them for the one class it prunes).
        """
        key = (score, scheme, float(sparsity), int(seed))
        if key not in self._masks:
            model = self.dense()
            spec, selection = get_score(score), get_selection(scheme)
            batches = self.scoring_batches(seed, spec.n_batches) if spec.needs_data else None
            if spec.reconstruct is not None:  # prunes and updates the weights: keep both
                self._masks[key] = spec.reconstruct(model, batches, sparsity, selection, seed=seed, **spec.options)
                self._updated[key] = {
                    n: p.detach().clone() for n, p in model.named_parameters() if n in self._masks[key]
                }
                model = self.dense()
            else:
                if self._scores[0] != (score, seed):
                    self._scores = (None, None)  # free the previous score's tensors first
                    self._scores = ((score, seed), run_score(spec, model, batches, seed=seed))
                self._masks[key] = selection(self._scores[1], model, sparsity)
            if batches is not None:
                self._masks[key].info["scoring"] = {
                    "n_batches": len(batches),
                    "batch_size": SCORING_BATCH_SIZE,
                    "options": dict(spec.options),
                    "absent_rows": absent_row_counts(model, batches),
                }
            while len(self._masks) > 3:  # a 21M-weight MaskSet is 21 MB of bools
                self._updated.pop(self._masks.popitem(last=False)[0], None)
        self._masks.move_to_end(key)
        return self._masks[key]

    def updated(self, score: str, scheme: str, sparsity: float, seed: int = 0) -> dict[str, torch.Tensor]:
        """The weights a reconstruction left (``{param: tensor}``); {} for a method that only removes weights."""
        self.masks(score, scheme, sparsity, seed)
        return self._updated.get((score, scheme, float(sparsity), int(seed)), {})

    def pruned(self, score: str, scheme: str, sparsity: float, seed: int = 0) -> tuple[Seq2Seq, MaskSet]:
        """The dense model with the given masks applied (and a reconstruction's updated weights), and the masks."""
        masks = self.masks(score, scheme, sparsity, seed)
        model = self.dense()
        updated = self._updated.get((score, scheme, float(sparsity), int(seed)))
        if updated is not None:
            with torch.no_grad():
                for name, p in model.named_parameters():
                    if name in updated:
                        p.copy_(updated[name])
        masks.apply(model)
        return model, masks

    def scratch(self, cell_id: str) -> Path:
        """The scratch folder of one cell (its training run lives here)."""
        return self.work_dir / cell_id
