"""Checkpoint averaging: the element-wise mean of the weights of several checkpoints of one run.

Averaging the last few epochs' weights (Junczys-Dowmunt et al. 2016; OpenNMT's ``average_models``)
usually gains a few tenths of BLEU for free. The checkpoints must share the architecture and the
vocabularies; pruning masks, if any, must be the same in all of them (then every pruned weight is
zero in each checkpoint and stays zero in the mean).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from ..config import config_to_dict
from .checkpoint import CheckpointError, load_masks, load_model

__all__ = ["average_checkpoints", "epoch_checkpoints"]


def epoch_checkpoints(run: str | Path, last: int) -> list[Path]:
    """The last ``last`` per-epoch checkpoints ``run/epoch-NNN`` (written with train.keep_epochs)."""
    run = Path(run)
    found = sorted(p for p in run.glob("epoch-[0-9][0-9][0-9]") if p.is_dir())
    if len(found) < last:
        raise CheckpointError(
            f"{run}: asked for the last {last} epoch checkpoints, found {len(found)} "
            f"(train with train.keep_epochs={last} to keep them)"
        )
    return found[-last:]


def average_checkpoints(paths: Sequence[str | Path]):
    """(model, cfg, src_vocab, tgt_vocab, masks) whose weights are the mean of the checkpoints' weights.

    The mean is taken in float32 and cast back to each tensor's dtype; cfg and vocabularies are the
    first checkpoint's (the others must match them).
    """
    if not paths:
        raise CheckpointError("average: no checkpoints given")
    model, cfg, src_vocab, tgt_vocab = load_model(paths[0])
    masks = load_masks(paths[0])
    total = {k: v.detach().float().clone() for k, v in model.state_dict().items()}
    for path in paths[1:]:
        other, ocfg, osrc, otgt = load_model(path)
        if config_to_dict(ocfg)["model"] != config_to_dict(cfg)["model"]:
            raise CheckpointError(f"{path}: its model config differs from {paths[0]}'s; cannot average")
        if osrc.itos != src_vocab.itos or otgt.itos != tgt_vocab.itos:
            raise CheckpointError(f"{path}: its vocabularies differ from {paths[0]}'s; cannot average")
        omasks = load_masks(path)
        if (masks is None) != (omasks is None) or (
            masks is not None
            and (
                set(masks.masks) != set(omasks.masks)
                or any(not torch.equal(masks.masks[n], omasks.masks[n]) for n in masks.masks)
            )
        ):
            raise CheckpointError(f"{path}: its pruning masks differ from {paths[0]}'s; cannot average")
        for k, v in other.state_dict().items():
            total[k] += v.float()
    state = model.state_dict()
    model.load_state_dict({k: (total[k] / len(paths)).to(state[k].dtype) for k in state})
    return model.eval(), cfg, src_vocab, tgt_vocab, masks
