"""Sparse from scratch beside the dense reference's own training, step for step (read-only).

A sparse-from-scratch cell trains the reference's recipe under a fixed mask. When it beats the
pruned + retrained rows (See et al. found it ~1 BLEU below them), two things can be at work: it trains
for more epochs (the reference's budget, not the retraining's third), and training under the mask may
itself go faster or slower than the dense training did. The second is measurable without new runs: the
reference's ``train_log.jsonl`` and each scratch cell's ``curve["dev"]`` log the dev loss at the same
epoch boundaries. This module lines them up and words the comparison; it never runs anything.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .collect import Collected, mean_std

__all__ = ["dense_dev_log", "with_dev_curves", "ScratchVsDense", "scratch_vs_dense", "scratch_note"]
AHEAD = 0.02  # nats per token: a smaller dev-loss difference is not called ahead or behind


def dense_dev_log(model_dir: str) -> list[list[float]]:
    """``[[step, dev loss, epoch], ...]`` of the reference's own training, from ``train_log.jsonl`` beside
    the weights (dev loss = ln dev perplexity, nats per target token); [] when the log is absent."""
    log = Path(model_dir) / "train_log.jsonl"
    if not log.is_file():
        return []
    recs = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines() if '"dev"' in x]
    return [
        [r["step"], math.log(r["dev_ppl"]), r.get("epoch")] for r in recs if r.get("type") == "dev" and r.get("dev_ppl")
    ]


@dataclass(frozen=True)
class ScratchVsDense:
    """Dev loss at one step both trainings logged. ``scratch``: {sparsity: (mean loss over seeds, seeds)}."""

    step: int
    epoch: Optional[int]  # the reference's epoch that ended at ``step``
    dense: float
    scratch: dict[float, tuple[float, int]]
    dense_last_change: Optional[float]  # the reference's dev-loss change over its last epoch
    same_seed: bool  # every scratch run used the reference's training seed
    random: dict[float, tuple[float, int]] = field(default_factory=dict)  # the random-mask control, same form

    def lower(self) -> list[float]:
        return [x for x, (v, _) in self.scratch.items() if v <= self.dense - AHEAD]

    def higher(self) -> list[float]:
        return [x for x, (v, _) in self.scratch.items() if v >= self.dense + AHEAD]


def _train_seed(model_dir: str) -> Optional[int]:
    try:
        cfg = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (cfg.get("train") or {}).get("seed")


def scratch_vs_dense(c: Collected) -> Optional[ScratchVsDense]:
    """Dev losses at the reference's logged step that the most sparsities reached (all their runs), the
    latest such step; sparsities whose runs did not all reach it are left out. None without a reference
    log or a scratch run with a dev curve.
    """
    dense = dense_dev_log(c.study.model)
    runs, rand = with_dev_curves(c.trained("scratch")), with_dev_curves(c.trained("scratch", score="random"))
    if not dense or not runs:
        return None
    at = {int(p[0]): p[1] for p in dense}
    epoch = {int(p[0]): p[2] for p in dense}
    logged, rand_logged = _logged(runs), _logged(rand)
    # early stopping ends runs at different epochs: compare every sparsity at one step rather than some at a later one
    steps = sorted(at, reverse=True)
    step = max(steps, key=lambda s: (sum(all(s in d for d in ds) for ds in logged.values()), s))
    scratch, random = _at(logged, step), _at(rand_logged, step)
    if not scratch:
        return None
    seed = _train_seed(c.study.model)
    last = dense[-1][1] - dense[-2][1] if len(dense) >= 2 else None
    return ScratchVsDense(
        step=step,
        epoch=epoch[step],
        dense=at[step],
        scratch=scratch,
        dense_last_change=last,
        random=random,
        same_seed=seed is not None and all(r.get("train_seed") == seed for rs in runs.values() for r in rs),
    )


def with_dev_curves(trained: dict[float, list[dict]]) -> dict[float, list[dict]]:
    """``trained`` ({sparsity: [metrics]}) without the runs that logged no dev curve, nor sparsities left empty."""
    runs = {x: [r for r in rs if (r.get("curve") or {}).get("dev")] for x, rs in trained.items()}
    return {x: rs for x, rs in runs.items() if rs}


def _logged(runs: dict[float, list[dict]]) -> dict[float, list[dict[int, float]]]:
    """{sparsity: [{step: dev loss} per run]}."""
    return {x: [{int(p[0]): p[1] for p in r["curve"]["dev"]} for r in rs] for x, rs in runs.items()}


def _at(logged: dict[float, list[dict[int, float]]], step: int) -> dict[float, tuple[float, int]]:
    """{sparsity: (mean dev loss at ``step``, runs)} of the sparsities whose every run logged ``step``."""
    return {x: (mean_std([d[step] for d in ds])[0], len(ds)) for x, ds in logged.items() if all(step in d for d in ds)}


def _pcts(xs: list[float]) -> str:
    return ", ".join(f"{100 * x:g} %" for x in xs)


def scratch_note(c: Collected) -> str:
    """What the step-for-step comparison shows, in words; "" when there is nothing to compare."""
    v = scratch_vs_dense(c)
    if v is None:
        return ""
    seed = " and training seed" if v.same_seed else ""
    changed = c.study.retrain.scratch_overrides if c.study.retrain else ()
    recipe = f"the reference's recipe with {', '.join(changed)}" if changed else "same recipe"
    text = (
        f"Sparse from scratch beside the dense reference's own training ({recipe}{seed}; the masked weights "
        f"held at zero): dev loss (nats per target token) at step {v.step:,}"
        + (f" (the end of the reference's epoch {v.epoch})" if v.epoch else "")
        + f": dense {v.dense:.3f}; "
        + "; ".join(
            f"{100 * x:g} % {m:.3f} ({m - v.dense:+.3f}{'' if n == 1 else f', n={n}'})"
            for x, (m, n) in v.scratch.items()
        )
        + "."
    )
    ahead, behind = v.lower(), v.higher()
    if ahead:
        text += f" At {_pcts(ahead)} the dev loss under the mask was lower than the dense training's at the same step"
        text += f", at {_pcts(behind)} higher." if behind else "."
    elif behind:
        text += f" At {_pcts(behind)} it was higher than the dense training's at the same step."
    if v.dense_last_change is not None:
        text += f" The reference's dev loss changed by {v.dense_last_change:+.3f} over its last epoch" + (
            " (still falling when its training ended)." if v.dense_last_change <= -AHEAD else " (no longer falling)."
        )
    if v.same_seed and ahead:
        # sparse_from_scratch seeds the fresh model with the training seed, as train() seeded the reference's:
        # the same initial weights (tests/test_prune_pipeline.py checks it), which See et al. do not state for theirs
        text += (
            " With the reference's training seed these runs start from the reference's own initial weights: "
            "under the trained model's mask that is Frankle & Carbin's (2019) lottery-ticket setting (the mask "
            "found by training, applied to the original initialisation). Whether a fresh initialisation keeps "
            "the head start is not measured here."
        )
    text += _random_control(c, v, ahead)
    return text


def _random_control(c: Collected, v: ScratchVsDense, ahead: list[float]) -> str:
    """The random-mask control's words: what it shows at the sparsities where the trained mask was ahead."""

    def bleu(score: Optional[str], x: float) -> str:
        mu = _mean_bleu(c, score, x)
        return "–" if mu is None else f"{mu:.2f}"

    text = ""
    if v.random:
        text += (
            " A random mask of the same sparsity trained from scratch (the control): "
            + "; ".join(
                f"{100 * x:g} % dev loss {m:.3f} ({m - v.dense:+.3f} vs dense), test BLEU "
                f"{bleu('random', x)} vs the trained model's mask's {bleu(None, x)}"
                for x, (m, _) in v.random.items()
            )
            + "."
        )
    checked = [x for x in ahead if x in v.random]
    also = [x for x in checked if v.random[x][0] <= v.dense - AHEAD]
    not_ = [x for x in checked if x not in also]
    if also:
        text += (
            f" At {_pcts(also)} the random mask too reached a lower dev loss than the dense training at the same "
            "step: there sparsity alone, not only what the trained model's mask carries, gives the head start."
        )
    if not_:
        text += (
            f" At {_pcts(not_)} the random mask did not reach a lower dev loss than the dense training: there "
            "the head start in dev loss comes from what the trained model's mask carries."
        )
    text += _bleu_split(c, checked)
    planned = set(c.study.retrain.scratch_random) if c.study.retrain else set()
    waiting = [x for x in ahead if x not in v.random and x in planned]
    unchecked = [x for x in ahead if x not in v.random and x not in planned]
    if waiting:
        text += (
            f" The random-mask control (`retrain.scratch_random`) at {_pcts(waiting)}, which separates what the "
            "trained model's mask carries from sparsity alone, has not run yet."
        )
    if unchecked:
        text += (
            f" At {_pcts(unchecked)} no random-mask control is planned, so why training under these masks "
            "reaches a lower dev loss at equal steps there is not measured by this study "
            "(`retrain.scratch_random` at those sparsities would separate what the trained model's mask carries "
            "from sparsity alone)."
        )
    return text


def _mean_bleu(c: Collected, score: Optional[str], x: float) -> Optional[float]:
    """Mean test BLEU of the scratch runs at sparsity ``x`` under ``score``'s mask (None: the study's); None if none."""
    return mean_std([r["bleu_tok_lc"] for r in c.trained("scratch", score=score).get(x, [])])[0]


def _bleu_split(c: Collected, checked: list[float]) -> str:
    """Test BLEU over the dense model's: the trained model's mask's gain beside the random mask's, at ``checked``.
    Dev loss and BLEU can disagree (a random mask may score above dense BLEU at a higher dev loss), so both are said."""
    dense = c.dense()
    if dense is None or dense.get("bleu_tok_lc") is None:
        return ""
    d, parts, part, all_ = dense["bleu_tok_lc"], [], [], []
    for x in checked:
        trained, random = _mean_bleu(c, None, x), _mean_bleu(c, "random", x)
        if trained is None or random is None:
            continue
        parts.append(f"at {100 * x:g} % the trained model's mask {trained - d:+.2f}, the random mask {random - d:+.2f}")
        if random > d:
            (all_ if random >= trained else part).append(x)
    if not parts:
        return ""
    text = f" In test BLEU over the dense model's {d:.2f}: " + "; ".join(parts) + "."
    if part:
        text += (
            f" So in BLEU part of the gain at {_pcts(part)} comes with sparsity alone, without the trained "
            "model's mask."
        )
    if all_:
        text += f" At {_pcts(all_)} the random mask's BLEU gain is as large: in BLEU sparsity alone gives it."
    return text
