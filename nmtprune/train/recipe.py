"""The training recipe's pure parts: the vocabularies built from the training split, the optimizer, the
learning rate at any position in training, and the count of epochs without a dev-BLEU gain (early stopping).
Each is a function of the config and the position alone, which is what makes resume exact."""

from __future__ import annotations

import math

import torch

from ..config import ExperimentConfig
from ..data.batching import tokenize_split
from ..data.vocab import Vocab

__all__ = ["build_vocabs", "make_optimizer", "learning_rate", "bad_epochs"]


def build_vocabs(cfg: ExperimentConfig) -> tuple[Vocab, Vocab]:
    """Word vocabularies from the training split (the max_len filter is applied first)."""
    d = cfg.data
    _, _, src, tgt = tokenize_split(d.corpus, d.train_split, d.src_lang, d.tgt_lang, d.lowercase)
    keep = [i for i in range(len(src)) if 0 < len(src[i]) <= d.max_len and 0 < len(tgt[i]) <= d.max_len]
    src, tgt = [src[i] for i in keep], [tgt[i] for i in keep]
    if d.vocab == "word":
        return Vocab.build(src, d.max_vocab, d.min_freq), Vocab.build(tgt, d.max_vocab, d.min_freq)
    # subwords: the length filter above counts words; max_vocab is the sentencepiece vocabulary size
    return Vocab.build_subword(src, d.vocab, d.max_vocab), Vocab.build_subword(tgt, d.vocab, d.max_vocab)


def make_optimizer(model: torch.nn.Module, cfg: ExperimentConfig) -> torch.optim.Optimizer:
    t = cfg.train
    # One fused kernel per step instead of a loop of small ops over every tensor: the same update with less
    # per-tensor overhead (benchmarks/train_throughput.py measures the step). Other devices keep the default.
    fused = True if next(model.parameters()).device.type in ("cpu", "cuda") else None
    if t.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=t.lr, fused=fused)
    return torch.optim.SGD(model.parameters(), lr=t.lr, momentum=t.momentum, fused=fused)


def learning_rate(cfg: ExperimentConfig, epoch: int, pos: int, n_batches: int, plateau_decays: int) -> float:
    """LR for batch ``pos`` of 0-based ``epoch``.

    Scheduled decays happen at progress points p = e - 1 + k / decays_per_epoch (in epochs, k = 1..dpe)
    with p >= decay_start; so decay_start=8, dpe=1 halves after epochs 8, 9, ... (Luong), and
    decay_start=2, dpe=2 halves at 2, 2.5, 3, 3.5 epochs (See et al.'s retraining).
    """
    t = cfg.train
    n = plateau_decays
    if t.decay_start > 0:
        done = epoch + pos / max(1, n_batches)  # epochs completed so far (fractional)
        dpe = t.decays_per_epoch
        points = math.floor(done * dpe + 1e-9)  # decay points passed: k/dpe <= done
        n += max(0, points - t.decay_start * dpe + 1)
    return t.lr * t.lr_decay**n


def bad_epochs(bad: int, best_bleu: float, bleu: float) -> int:
    """Epochs in a row without a dev-BLEU gain (``train.early_stop_patience`` counts these), after an epoch that
    scored ``bleu``; ``best_bleu`` is the best before it (-1 before the first epoch).

    While the best is still 0.00 the count stays 0: a hard start (a 95 %-sparse model trained from scratch)
    decodes no matching n-gram for several epochs while its dev perplexity falls fast, and a BLEU of 0 there
    says nothing about progress; stopping on it would end such a run at BLEU 0 after ``patience + 1`` epochs.
    """
    return 0 if bleu > best_bleu or best_bleu <= 0 else bad + 1
