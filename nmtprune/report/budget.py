"""The same retraining cells under a longer budget, read from a ``compare_with`` study (read-only).

See et al.'s recipe retrains for a third of the reference's epochs. A study that reruns some of a
report's retrain cells with other recipe overrides (``studies/budget.yaml``: the reference's full
epochs) answers whether a gap to dense is the budget's or the sparsity's. This module pairs those
cells with the report's own and words the comparison; it never runs anything.

A longer run that still ends far from dense may have stopped for either reason, so the note also says how
each longer run ended, from its logged curves: from which epoch its dev loss stopped moving and what the
lr had decayed to by then, and how its training loss compared with its dev loss and with the dense
reference's (a sparse model whose training loss ends near its dev loss, far above the dense model's,
underfits: its lr ran out, not its capacity to fit, unless a run with a later decay says otherwise). That
verdict needs the dev loss to have levelled off only once the lr had decayed to a quarter of its start or
less; a run whose dev loss levelled off with the lr at half its start or more had stopped improving before
its schedule could stop it, and the note says that instead, with its dev loss against the dense model's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from ..config import ConfigError, load_config
from ..experiments.study_sections import Retrain
from ..prune.registry import get_schedule
from ..prune.retrain import retrain_config
from ..train.loop import learning_rate
from .collect import Collected, compared_retraining, mean_std, retrain_runs
from .sections import ms

__all__ = [
    "BudgetPair",
    "budget_pairs",
    "budget_note",
    "runs_bleu",
    "recipe_changes",
    "RunEnd",
    "run_end",
    "dense_train_loss",
]
FROZEN = 0.005  # nats per token: a dev loss this close to its final value has stopped moving
UNDERFIT = 0.5  # a train-dev gap below this share of the dense reference's is called underfitting
LR_SPENT = 0.25  # the lr at or below this share of its start when the dev loss levelled off: the schedule ended it


@dataclass(frozen=True)
class BudgetPair:
    """One (score, schedule, sparsity) retrained under both recipes. ``*_runs``: metrics per seed."""

    study: str  # the other study's name
    overrides: tuple[str, ...]  # its retraining overrides
    prune_until: float  # its scheduled runs' pruning stretch, as a share of its steps
    score: str
    schedule: str
    sparsity: float
    ours: list[dict]
    longer: list[dict]


def _epochs(runs: list[dict]) -> Optional[int]:
    got = {(r.get("train_summary") or {}).get("epochs") for r in runs} - {None}
    return got.pop() if len(got) == 1 else None


def budget_pairs(c: Collected, sparsities: Optional[Iterable[float]] = None) -> list[BudgetPair]:
    """Retrain cells of ``c`` that a ``compare_with`` study of the same model and selection reran with other
    recipe overrides, restricted to ``sparsities`` (default: all). Unreadable studies are skipped."""
    rt = c.study.retrain
    keep = None if sparsities is None else set(sparsities)
    out: list[BudgetPair] = []
    for other in compared_retraining(c):
        ort = other.study.retrain
        if ort.overrides == rt.overrides:
            continue  # the same recipe: a rerun, not a budget comparison
        for score, sched in retrain_runs(ort):
            longer = other.trained("retrain", score, sched)
            ours = c.trained("retrain", score, sched)
            for x in sorted(set(longer) & set(ours)):
                if keep is None or x in keep:
                    out.append(
                        BudgetPair(
                            other.study.name, ort.overrides, ort.prune_until, score, sched, x, ours[x], longer[x]
                        )
                    )
    return out


def recipe_changes(overrides: Iterable[str], prune_until: float, scheduled: bool) -> list[str]:
    """What a retraining recipe changes from See et al.'s, as backticked items: its overrides, and its pruning
    stretch when that differs from the default and matters (the study has iterative or gradual runs)."""
    moved = scheduled and prune_until != Retrain.prune_until
    return [f"`{o}`" for o in overrides] + ([f"`retrain.prune_until: {prune_until:g}`"] if moved else [])


@dataclass(frozen=True)
class RunEnd:
    """How one run's training ended, from its ``curve`` (losses in nats per target token)."""

    epochs: int
    frozen_from: Optional[int]  # the epoch after which the dev loss stayed within FROZEN of its last value
    lr_share: Optional[float]  # the lr then, as a share of the run's starting lr (None: recipe unknown)
    train_loss: float  # mean training loss over the last epoch
    dev_loss: float  # the last epoch's dev loss


def run_end(run: dict, model_dir: Optional[str] = None, overrides: Iterable[str] = ()) -> Optional[RunEnd]:
    """``run``'s :class:`RunEnd`; None without a dev point per epoch and training points in the last one.

    ``curve["dev"]`` is ``[[step, dev loss, dev BLEU], ...]`` (one per epoch), ``curve["train"]``
    ``[[step, loss], ...]``. ``frozen_from`` needs the last two epochs flat (None otherwise); its lr comes
    from the retraining recipe (the reference's config in ``model_dir`` with ``overrides``).
    """
    curve = run.get("curve") or {}
    dev, tr = curve.get("dev") or [], curve.get("train") or []
    if len(dev) < 2:
        return None
    last = [loss for step, loss in tr if step > dev[-2][0]]
    if not last:
        return None
    final = dev[-1][1]
    i = len(dev) - 1
    while i > 0 and abs(dev[i - 1][1] - final) <= FROZEN:
        i -= 1
    frozen = i if i <= len(dev) - 3 else None  # dev[i] ends epoch i + 1; at least two flat epochs after it
    share = None
    if frozen is not None and model_dir is not None:
        try:
            cfg = retrain_config(load_config(Path(model_dir) / "config.json"), 1, list(overrides))
        except (ConfigError, OSError, ValueError):
            cfg = None
        if cfg is not None:
            share = learning_rate(cfg, frozen + 1, 0, 1, 0) / cfg.train.lr
    return RunEnd(len(dev), None if frozen is None else frozen + 1, share, sum(last) / len(last), final)


def dense_train_loss(model_dir: str) -> Optional[tuple[float, float]]:
    """(mean training loss over the last epoch, last dev loss) of the reference's own training, from
    ``train_log.jsonl`` beside its weights; None when the log is absent or has no such points."""
    log = Path(model_dir) / "train_log.jsonl"
    try:
        recs = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines() if x.strip()]
    except (OSError, ValueError):
        return None
    dev = [r for r in recs if r.get("type") == "dev" and r.get("dev_ppl")]
    tr = [r for r in recs if r.get("type") == "train" and "loss" in r and r.get("epoch") is not None]
    if not dev or not tr:
        return None
    k = math.floor(max(r["epoch"] for r in tr) - 1e-9)  # epochs completed before the last one began
    last = [r["loss"] for r in tr if r["epoch"] > k]
    return sum(last) / len(last), math.log(dev[-1]["dev_ppl"])


def _lr_then(share: Optional[float]) -> str:
    if share is None:
        return ""
    return " (the lr then still at its start)" if share >= 1.0 else f" (the lr then 1/{1 / share:g} of its start)"


def _ending(p: BudgetPair, model_dir: str, dense: Optional[tuple[float, float]]) -> str:
    """A sentence on how the longer run(s) of ``p`` ended; "" when their curves are not logged."""
    ends = [e for e in (run_end(r, model_dir, p.overrides) for r in p.longer) if e is not None]
    if len(ends) != 1:  # one run per pair so far (n=1); a mean of several endings would need its own words
        return ""
    e = ends[0]
    text = (
        f"its dev loss stayed within {FROZEN} of its final {e.dev_loss:.3f} after epoch {e.frozen_from} of "
        f"{e.epochs}" + _lr_then(e.lr_share)
        if e.frozen_from
        else f"its dev loss was still moving in its last epoch ({e.dev_loss:.3f})"
    )
    gap = e.dev_loss - e.train_loss
    text += f"; its training loss over the last epoch was {e.train_loss:.3f}, {gap:.3f} below its dev loss"
    if dense is not None:
        dgap = dense[1] - dense[0]
        text += f" (the dense reference ended at {dense[0]:.3f}, {dgap:.3f} below its dev loss)"
        if e.frozen_from and e.lr_share is not None and dgap > 0 and gap < UNDERFIT * dgap:
            if e.lr_share <= LR_SPENT:
                text += (
                    ": it still underfit the training data when its decayed lr stopped its progress, so the "
                    "lr schedule, not a fit to the data, ended its training"
                )
            else:  # flat with most of its lr left: more epochs at this lr would not have moved it
                d = dense[1] - e.dev_loss
                text += (
                    ": its dev loss levelled off with the lr still at half its start or more, so the lr "
                    "schedule did not end its training; it fits the training data less closely than the dense "
                    f"model yet ends with a dev loss {abs(d):.3f} {'below' if d >= 0 else 'above'} the dense "
                    "reference's"
                )
    return text


def runs_bleu(runs: list[dict]) -> str:
    """BLEU of one cell's seeds: mean ± std (n=k), or the value with (n=1) for a single seed."""
    return ms([r["bleu_tok_lc"] for r in runs]) + (" (n=1)" if len(runs) == 1 else "")  # ms gives n > 1


def budget_note(c: Collected, sparsities: Optional[Iterable[float]] = None) -> str:
    """Each paired cell's BLEU and gap to dense under both recipes, and how the longer run ended: one paragraph
    for one longer recipe, a list with a bullet per recipe for several; "" when none is paired."""
    dense = c.dense()
    pairs = budget_pairs(c, sparsities)
    if not pairs or dense is None:
        return ""
    d = dense["bleu_tok_lc"]

    def gap(runs: list[dict]) -> float:
        return mean_std([r["bleu_tok_lc"] for r in runs])[0] - d

    names = sorted({(p.study, p.overrides, p.prune_until) for p in pairs})
    several = len(names) > 1  # then one bullet per study, each naming its recipe

    def recipe(name: str, overrides: tuple[str, ...], until: float) -> str:
        scheduled = any(get_schedule(p.schedule).during_training for p in pairs if p.study == name)
        return f"`{name}` study, overrides " + ", ".join(recipe_changes(overrides, until, scheduled))

    ref = dense_train_loss(c.study.model)
    parts = []
    for p in pairs:
        e_ours, e_long = _epochs(p.ours), _epochs(p.longer)
        budgets = f" ({e_ours} vs {e_long} epochs)" if e_ours and e_long else ""
        ending = _ending(p, c.study.model, ref)
        parts.append(
            (f"- {recipe(p.study, p.overrides, p.prune_until)}: " if several else "")
            + f"{p.schedule} {p.score} at {100 * p.sparsity:g} %{budgets}: {runs_bleu(p.ours)} → {runs_bleu(p.longer)}, "
            f"gap to dense {gap(p.ours):+.2f} → {gap(p.longer):+.2f}" + (f"; {ending}" if ending else "")
        )
    closed = [p for p in pairs if gap(p.longer) - gap(p.ours) >= 0.5 * -gap(p.ours) > 0]
    if several:
        text = (
            "**Longer retraining budget**: the same cells retrained with other recipes —\n\n"
            + ".\n".join(parts)
            + ".\n\n"
        )
    else:
        text = (
            f"**Longer retraining budget** ({recipe(*names[0])}): the same cells retrained for longer — "
            + "; ".join(parts)
            + ". "
        )
    if closed:
        text += (
            "Where a longer budget closes at least half of the gap ("
            + ", ".join((f"`{p.study}` " if several else "") + f"{p.schedule} {100 * p.sparsity:g} %" for p in closed)
            + "), the See recipe's short budget, more than the sparsity, limits the retrained model."
        )
    return text.rstrip()
