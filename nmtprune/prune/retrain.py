"""Training under a fixed mask: See et al.'s retraining, sparse-from-scratch, and the dense control.

See et al. retrain the pruned model with half the starting learning rate for a third of the original
epochs (4 of 12), constant for the first half, then halving every half epoch; dropout and everything
else unchanged. :func:`retrain_config` keeps that *relative* structure for whatever recipe the
reference used (ours: Adam): lr x 0.5, epochs = max(2, round(E / 3)), halving twice per epoch from
epoch ceil(E_r / 2), no plateau decay, no early stopping. Overrides (``train.epochs=4``) win.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import torch
from safetensors.torch import save_file
from torch import nn

from ..config import ExperimentConfig, with_overrides
from ..models.seq2seq import Seq2Seq
from ..train.checkpoint import load_model
from ..train.loop import train
from .gradual import ScheduledPruner, full_masks, make_schedule
from ..sparse.masks import MaskSet
from .registry import get_score
from .scores import weight_magnitude
from .scores._data import variance_scaling_copy
from .select import class_std

__all__ = [
    "retrain_config",
    "retrain",
    "sparse_from_scratch",
    "scored_initialisation",
    "matched_init",
    "continue_dense",
    "prune_while_training",
    "FRESH_INIT_OFFSET",
]

# sparse_from_scratch(init="fresh") draws the network with seed FRESH_INIT_OFFSET + seed: a training
# seed alone would rebuild the reference's own initial weights when it equals the reference's seed
FRESH_INIT_OFFSET = 10_000


def retrain_config(cfg: ExperimentConfig, seed: int, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """The retraining recipe derived from the reference model's training config."""
    epochs = max(2, round(cfg.train.epochs / 3))
    return with_overrides(
        cfg,
        list(overrides),
        "retraining config",
        seed=seed,
        lr=cfg.train.lr * 0.5,
        epochs=epochs,
        decay_start=math.ceil(epochs / 2),
        decays_per_epoch=2,
        lr_decay=0.5,
        decay_on_plateau=False,
        early_stop_patience=0,
        max_steps=0,
    )


def retrain(
    model_dir: str | Path,
    masks: Optional[MaskSet],
    out: str | Path,
    seed: int,
    overrides: Sequence[str] = (),
    resume: bool = False,
    progress: bool = False,
) -> dict:
    """Retrain the model in ``model_dir`` with ``masks`` fixed (None: dense). Writes ``out/best``."""
    model, cfg, sv, tv = load_model(model_dir)
    model.train()
    return train(
        retrain_config(cfg, seed, overrides),
        out,
        resume=resume,
        progress=progress,
        init_model=model,
        vocabs=(sv, tv),
        masks=masks,
    )


def continue_dense(
    model_dir: str | Path,
    out: str | Path,
    seed: int,
    overrides: Sequence[str] = (),
    resume: bool = False,
    progress: bool = False,
) -> dict:
    """The control See et al. lacked: the dense model trained with the same retraining recipe."""
    return retrain(model_dir, None, out, seed, overrides, resume, progress)


def sparse_from_scratch(
    model_dir: str | Path,
    masks: Optional[MaskSet],
    out: str | Path,
    seed: int,
    overrides: Sequence[str] = (),
    resume: bool = False,
    progress: bool = False,
    init: Union[None, str, nn.Module] = None,
) -> dict:
    """A new model (the reference's architecture, vocabularies and recipe) trained under ``masks``.

    Args:
        masks: the fixed masks; None trains the dense network through the same path (the control).
        init: where training starts.
            ``None``: the model's own initialisation drawn with ``seed``, which at the reference's
            training seed *is* the reference's initial weights (a rewinding setting);
            ``"fresh"``: the model's own initialisation drawn with ``FRESH_INIT_OFFSET + seed``;
            a module: its weights (an at-initialisation score's scored copy, so its mask trains from
            the initialisation it was chosen for; see :func:`scored_initialisation`).
            Unless resuming, the starting weights are saved as ``out/init.safetensors``.
    """
    _, cfg, sv, tv = load_model(model_dir)
    cfg = with_overrides(cfg, list(overrides), "training config", seed=seed)
    if init not in (None, "fresh") and not isinstance(init, nn.Module):
        raise ValueError(f"init must be None, 'fresh' or a model to start from, got {init!r}")
    torch.manual_seed(FRESH_INIT_OFFSET + seed if init == "fresh" else seed)
    model = Seq2Seq(cfg.model)
    if isinstance(init, nn.Module):
        model.load_state_dict(init.state_dict())
    if init is not None and not resume:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / "init.safetensors.tmp"
        save_file({n: t.detach().contiguous() for n, t in model.state_dict().items()}, str(tmp))
        tmp.replace(out / "init.safetensors")
    return train(cfg, out, resume=resume, progress=progress, init_model=model, vocabs=(sv, tv), masks=masks)


def scored_initialisation(score: str, model: nn.Module, seed: int) -> nn.Module:
    """The re-initialised copy that the at-initialisation ``score`` scores with ``seed`` (its mask's start).

    Raises:
        ValueError: ``score`` scores the model as given, not a re-initialised copy.
    """
    spec = get_score(score)
    if not spec.at_init or spec.options.get("init") != "variance-scaling":
        raise ValueError(f"score {score!r} does not score a re-initialised copy of the model")
    return variance_scaling_copy(model, seed)


def matched_init(score: str) -> str:
    """Where ``score``'s mask trains from scratch when each mask starts from its own initialisation.

    ``"scored"``: the spec says the score scores a re-initialised copy (``at_init``), so its mask trains
    from that copy (:func:`scored_initialisation`); ``"fresh"``: it scores the trained model, so its mask
    trains from a fresh draw (``sparse_from_scratch(init="fresh")``), never the reference's own.
    """
    return "scored" if get_score(score).at_init else "fresh"


def prune_while_training(
    model_dir: str | Path,
    out: str | Path,
    seed: int,
    target: float,
    schedule: str = "gradual",
    scheme: str = "class-blind",
    rescore: Optional[Callable[[torch.nn.Module, int], dict]] = None,
    rounds: int = 3,
    prune_until: float = 0.5,
    overrides: Sequence[str] = (),
    resume: bool = False,
    progress: bool = False,
    events: int = 0,
) -> dict:
    """Start from the dense model in ``model_dir`` and prune on ``schedule`` within the retraining budget.

    ``gradual`` is Zhu & Gupta's cubic schedule (the strong baseline), ``iterative`` prunes in
    ``rounds`` equal steps with retraining between them (OBD as LeCun et al. ran it), ``one-shot``
    prunes at step 0 (equal to :func:`retrain` with the masks selected up front). Both reach
    ``target`` after ``prune_until`` of the run's steps; ``events`` > 0 makes gradual prune about that
    many times instead of every ~1 % of the stretch (a data-driven ``rescore`` costs scoring batches each time). ``rescore(model, step)`` gives the scores
    at each event (default: weight magnitude of the current weights). Class-distribution uses the
    dense model's σ_c throughout.
    """
    model, cfg, sv, tv = load_model(model_dir)
    model.train()
    rescore = rescore or (lambda m, _step: weight_magnitude(m))
    scale = class_std(model) if scheme == "class-distribution" else None
    pruner = ScheduledPruner.over_run(
        full_masks(model),
        lambda total: make_schedule(schedule, target, total, rounds, prune_until, events=events),
        rescore,
        scheme,
        class_scale=scale,
    )
    return train(
        retrain_config(cfg, seed, overrides),
        out,
        resume=resume,
        progress=progress,
        init_model=model,
        vocabs=(sv, tv),
        pruner=pruner,
    )
