"""The short way in: load a model, see its weight classes, score, select, prune, retrain, evaluate, compress.

Each function here is a thin layer over the packages that do the work, and its docstring names the one
it calls, for when you need the options this layer leaves at their defaults::

    from nmtprune import api as nmt

    m = nmt.load("models/multi30k-en-de")
    masks = nmt.prune(m, "magnitude", 0.5)  # score, select class-blind, zero the pruned weights
    print(nmt.evaluate(m, limit=100, beam=1)["bleu_tok_lc"])

A model is passed around as a :class:`Loaded`: the network with its config and vocabularies. It unpacks
like :func:`nmtprune.train.load_model`'s tuple, ``net, cfg, src_vocab, tgt_vocab = m``.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from pathlib import Path
from typing import Mapping, NamedTuple, Optional, Sequence

import torch

from .config import ExperimentConfig
from .data import Batch, ParallelData, Vocab, get_corpus, load_split
from .metrics import evaluate_data, translate_data
from .models import Seq2Seq, weight_classes as _model_classes
from .prune import MaskSet, get_score, run_score
from .prune.registry import get_selection
from .prune.retrain import retrain_config
from .prune.scores import load_scoring_batches
from .prune.units import get_unit_score, select_units, shrink
from .sparse import save_compressed
from .train import load_model
from .train.loop import train

__all__ = [
    "Loaded",
    "load",
    "weight_classes",
    "training_batches",
    "score",
    "select",
    "prune",
    "sentences",
    "evaluate",
    "time_decoding",
    "retrain",
    "compress",
    "shrink_units",
]


class Loaded(NamedTuple):
    """A model with what it needs to translate: ``net`` (a :class:`nmtprune.models.Seq2Seq`), its
    ``cfg`` (the training config: data, model, recipe) and its two vocabularies."""

    net: Seq2Seq
    cfg: ExperimentConfig
    src_vocab: Vocab
    tgt_vocab: Vocab


def load(path: str | Path) -> Loaded:
    """Load a checkpoint directory (``models/multi30k-en-de``, a ``nmtprune prune`` output, a run's
    ``best/``) on the CPU, in eval mode. Calls :func:`nmtprune.train.load_model`."""
    return Loaded(*load_model(path))


def weight_classes(m: Loaded) -> dict[str, dict]:
    """See et al.'s weight classes of the model, in the paper's order.

    Returns:
        ``{class: {"paper": name in the paper, "params": {parameter name: shape}, "size": weights}}``,
            e.g. ``"src_layer1": {"params": {"encoder.weight_ih_l0": (2048, 512), ...}, "size": 2097152}``
            for the shipped model (LSTM matrices are ``(4·hidden, input)``, the four gates stacked). Biases
            belong to no class. Calls :func:`nmtprune.models.weight_classes`.
    """
    named = dict(m.net.named_parameters())
    return {
        c.name: {
            "paper": c.paper_name,
            "params": {p: tuple(named[p].shape) for p in c.params},
            "size": c.numel(m.net),
        }
        for c in _model_classes(m.net)
    }


def training_batches(m: Loaded, n: int, *, batch_size: int = 64, seed: int = 0) -> list[Batch]:
    """The first ``n`` shuffled batches of the model's own training split: what data-driven scores read.

    Each :class:`nmtprune.data.Batch` holds ``src`` ``(B, S)`` and ``tgt_in`` / ``tgt_out`` ``(B, T)`` token
    ids. Loading tokenises the whole split (seconds), so load once and pass the list to several scores.
    Calls :func:`nmtprune.prune.scores.load_scoring_batches`.
    """
    return load_scoring_batches(m.cfg, m.src_vocab, m.tgt_vocab, n, batch_size, seed)


def _batches(m: Loaded, spec, batches: int | list[Batch] | None, seed: int):
    if not spec.needs_data:
        return None
    if batches is None or isinstance(batches, int):
        return training_batches(m, spec.n_batches if batches is None else batches, seed=seed)
    return batches


def score(m: Loaded, method: str = "magnitude", *, batches: int | list[Batch] | None = None, seed: int = 0) -> dict:
    """One number per weight: low means prune first.

    Args:
        method: a weight score's name (``magnitude``, ``random``, ``obd``, ``snip``, ``taylor``, ...;
            :func:`nmtprune.prune.score_names`).
        batches: the training batches a data-driven score reads: a :func:`training_batches` list or how
            many to load (default: the score's own number); ignored by scores that need no data.
    Returns:
        ``{parameter name: FloatTensor shaped like the parameter}``. Calls :func:`nmtprune.prune.run_score`.
    """
    spec = get_score(method, kind="weight")
    return run_score(spec, m.net, _batches(m, spec, batches, seed), seed=seed)


def select(
    m: Loaded, scores: Mapping[str, torch.Tensor], sparsity: float, scheme: str = "class-blind", **options
) -> MaskSet:
    """Keep-masks that prune ``round(sparsity · N)`` of the weight classes' N weights by their scores.

    Args:
        scheme: ``class-blind`` (one threshold over all classes: See et al.'s best), ``class-uniform``
            (the same fraction of every class), ``class-distribution``, ``per-row`` or an N:M pattern
            (``2:4``; it fixes the sparsity, pass its own value).
        options: passed on, e.g. ``classes=["softmax"]`` to prune only those classes.
    Returns:
        a :class:`nmtprune.prune.MaskSet`: ``{parameter name: BoolTensor shaped like it, True = keep}``.
            The model is not changed (``masks.apply(m.net)`` zeroes the pruned weights). Calls the selection
            registered under ``scheme`` (:func:`nmtprune.prune.select` for the three of See et al.).
    """
    return get_selection(scheme)(scores, m.net, sparsity, **options)


def prune(
    m: Loaded,
    method: str = "magnitude",
    sparsity: float = 0.5,
    scheme: str = "class-blind",
    *,
    batches: int | list[Batch] | None = None,
    seed: int = 0,
) -> MaskSet:
    """Score, select and zero the pruned weights of ``m.net`` in place: ``nmtprune prune`` in one call.

    Methods that also correct the kept weights (``sparsegpt``, ``wanda``) prune layer by layer on
    calibration batches. Returns the masks; ``masks.stats(m.net)`` gives each class's size and sparsity.
    """
    spec = get_score(method, kind="weight")
    selection = get_selection(scheme)
    data = _batches(m, spec, batches, seed)
    if spec.reconstruct is not None:
        masks = spec.reconstruct(m.net, data, sparsity, selection, seed=seed, **spec.options)
    else:
        masks = selection(run_score(spec, m.net, data, seed=seed), m.net, sparsity)
    masks.apply(m.net)
    return masks


def sentences(m: Loaded, split: str = "", limit: Optional[int] = None) -> ParallelData:
    """A split of the model's own corpus, tokenised as it was trained (default: the corpus's first test
    split, ``test_2016_flickr`` for Multi30k), its first ``limit`` sentences. Calls :func:`nmtprune.data.load_split`."""
    d = m.cfg.data
    split = split or next((s for s in get_corpus(d.corpus).splits if s.startswith("test")), "test")
    data = load_split(d.corpus, split, d.src_lang, d.tgt_lang, d.lowercase, m.src_vocab, m.tgt_vocab)
    if limit is not None:
        data = ParallelData(*(getattr(data, f.name)[:limit] for f in dataclasses.fields(ParallelData)))
    return data


def evaluate(m: Loaded, data: ParallelData | str | None = None, *, limit: Optional[int] = None, beam: int = 5) -> dict:
    """BLEU, perplexity and decoding speed on ``data`` (a :func:`sentences` result or a split's name).

    Returns:
        a dict: ``bleu_tok_lc`` (BLEU on tokenised lowercased text, the Multi30k protocol),
            ``sacrebleu`` (cased, detokenised) with its ``sacrebleu_signature``, ``ppl`` (perplexity),
            ``sentences_per_s``, ``beam`` and ``sentences``. Calls :func:`nmtprune.metrics.evaluate_data`.
    """
    if not isinstance(data, ParallelData):
        data = sentences(m, data or "", limit)
    return evaluate_data(m.net, data, m.tgt_vocab, m.cfg.data.tgt_lang, beam=beam)[0]


def time_decoding(
    m: Loaded, data: ParallelData, *, beam: int = 5, repeats: int = 3, batch_size: int = 64
) -> dict[str, float]:
    """Sentences per second decoding ``data``, the median of ``repeats`` runs on the current torch threads.

    Returns:
        ``{"wall": by the wall clock, "cpu": by this process's CPU time}``. On a machine busy with other
            work the wall clock counts the time other processes held the cores, the CPU time only what the
            decoding itself used (over all its threads). Calls :func:`nmtprune.metrics.translate_data`;
            ``benchmarks/bench_shrink.py`` is the careful measurement, on an idle machine.
    """
    wall, cpu = [], []
    with torch.inference_mode():
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            translate_data(m.net, data, m.tgt_vocab, beam=beam, batch_size=batch_size)
            wall.append(len(data) / (time.perf_counter() - t0))
            cpu.append(len(data) / max(time.process_time() - c0, 1e-9))
    return {"wall": sorted(wall)[len(wall) // 2], "cpu": sorted(cpu)[len(cpu) // 2]}


def retrain(
    m: Loaded, masks: Optional[MaskSet], out: str | Path, *, seed: int = 1, overrides: Sequence[str] = ()
) -> Loaded:
    """Retrain ``m`` with ``masks`` held fixed (None: dense), See et al.'s recipe scaled to the model's own
    (half its learning rate, a third of its epochs); writes ``out/last`` and ``out/best``.

    Args:
        overrides: ``section.key=value`` settings that win over the recipe, e.g. ``["train.max_steps=20"]``.
    Returns:
        the best checkpoint (by dev BLEU), or the last one when the run stopped before its first epoch
            ended. Calls :func:`nmtprune.prune.retrain.retrain_config` and :func:`nmtprune.train.train`.
    """
    net = copy.deepcopy(m.net).train()  # m stays as it was
    train(retrain_config(m.cfg, seed, overrides), out, progress=False, init_model=net, vocabs=m[2:], masks=masks)
    best = Path(out) / "best"
    return load(best if best.is_dir() else Path(out) / "last")


def compress(m: Loaded, masks: MaskSet, path: str | Path, *, fp16: bool = True) -> int:
    """Write the pruned weights as a bitmask plus the kept values (``nmtprune export``); returns the file's
    bytes. A checkpoint folder holding it as ``model.sparse.safetensors`` loads like any model. Calls
    :func:`nmtprune.sparse.save_compressed`."""
    return save_compressed(m.net, masks, path, fp16=fp16)


def shrink_units(
    m: Loaded,
    method: str = "l1",
    fraction: float = 0.5,
    *,
    scope: str = "per-layer",
    batches: int | list[Batch] | None = None,
) -> Loaded:
    """Remove ``fraction`` of the hidden units (per layer, or ``global``) by a unit score and return a
    genuinely smaller dense model; ``m`` is not changed.

    The shipped model's LSTM matrices go from ``(2048, 512)`` to ``(1024, 256)`` at 0.5. Calls
    :func:`nmtprune.prune.units.select_units` and :func:`nmtprune.prune.units.shrink`.
    """
    spec = get_unit_score(method)
    data = _batches(m, spec, batches, 0)
    mask = select_units(run_score(spec, m.net, data, seed=0), m.net, fraction, scope)
    small = shrink(m.net, mask).eval()
    return Loaded(small, dataclasses.replace(m.cfg, model=small.cfg), m.src_vocab, m.tgt_vocab)
