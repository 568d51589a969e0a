"""Growing Regularization for hidden units: Wang, Qin, Zhang & Fu (ICLR 2021), GReg-1 and GReg-2.

The algorithm is the paper's and the defaults are those of the authors' code, where GReg-1 is called
IncReg and GReg-2 AdaReg. A *weight group* is one hidden unit: its ``in``
slots (rows j, n+j, 2n+j, 3n+j of W_ih and W_hh; row j of W_c for h~), optionally its ``bias`` and
``out`` slots (``roles``), over every tied member (:mod:`.groups`). With s = optimizer steps taken
in the penalty phase, K = ``every``, δ = ``delta``, τ = ``ceiling``:

* **GReg-1**: the removed set is fixed up front by ``l1`` (Li et al.) with ``select_units``; its
  units get λ(s) = min(τ, δ·⌊s/K⌋); the kept units of the chosen groups get −``recover`` (the
  code's recovery term); after λ reaches τ, ``stabilize`` (K_s) more steps at λ = τ.
* **GReg-2**: every unit of the chosen groups gets λ(s) = min(τ', δ'·⌊s/K⌋) (τ' = ``pick_ceiling``,
  δ' = ``pick_delta``): by the paper's analysis, weights with larger curvature shrink less. At
  s = P = K·⌈τ'/δ'⌉ the removed set is picked by ``l1`` of the current weights; from then on as
  GReg-1, the removed units continuing from τ': λ(s) = min(τ, τ' + δ·⌊(s − P)/K⌋).
* **Magnitude-ratio rule** (``mag_ratio``, code default 1000): once the removed set is fixed, every
  K steps the mean L1 norm of kept units over that of removed units (pooled over the chosen
  groups) is measured; when it reaches
  ``mag_ratio`` λ stops growing (it stays at its value; the phase length is unchanged).

**Design.** :class:`GrowingRegularizer` is an ``after_step`` hook for
:func:`nmtprune.train.loop.train` (no change to the loop): after each optimizer step it applies the
penalty as *decoupled shrinkage*, w ← (1 − lr·λ_j)·w on unit j's slices, lr the optimizer's current
learning rate. This equals a gradient step on ½ λ_j ‖w_j‖² under SGD and, unlike adding λ w to
``.grad``, is neither normalised away by Adam nor scaled down by gradient clipping.
λ is recomputed from s by :meth:`GRegConfig.lam` (a pure function), so it follows the schedule
exactly. lr·λ must stay below 1 (UnitError otherwise); keep lr·τ ≤ 1e-2.

:func:`greg_prune` runs the penalty phase with ``train`` (constant LR, ``GRegConfig.steps()``
steps), then zeroes the removed units and writes the same files as ``nmtprune prune-units``; fine-
tune with ``nmtprune retrain OUT`` as for any unit-pruned model.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

import torch
from torch import nn

from .groups import Slot, UnitError, find_group, member_slots, unit_groups
from .scores.l1 import l1_unit
from .select import select_units

__all__ = ["GRegConfig", "GrowingRegularizer", "greg_prune", "MODES", "MODE_LABELS"]

MODES = ("greg-1", "greg-2")
MODE_LABELS = {"greg-1": "GReg-1 (then L1)", "greg-2": "GReg-2 (then L1)"}  # what the reports call them


def _n_updates(ceiling: float, delta: float) -> int:
    """⌈ceiling / delta⌉, robust to float noise (1.0 / 1e-4 = 10000.000000000002 -> 10000)."""
    x = ceiling / delta
    return max(1, math.ceil(x - 1e-9 * max(1.0, x)))


@dataclass(frozen=True)
class GRegConfig:
    """Schedule of the growing penalty (defaults: the official code's ImageNet settings).

    Attributes:
        mode: ``greg-1`` (L1-chosen set penalised from the start) or ``greg-2`` (uniform first).
        delta: δλ, growth of λ on the removed units (reg_granularity_prune, 1e-4).
        every: K_u, optimizer steps between λ updates (update_reg_interval, 5).
        ceiling: τ, final λ (reg_upper_limit, 1.0).
        pick_delta, pick_ceiling: GReg-2's uniform growth step and picking ceiling (1e-5, 1e-2).
        stabilize: K_s, steps at λ = τ before pruning (stabilize_reg_interval, 40,000; scale it to
            the NMT budget: 1–3 epochs for the whole phase are enough).
        recover: kept units get λ = −recover (reg_granularity_recover's magnitude, 1e-4; 0 disables).
        roles: slots penalised per unit: any of ``in`` (default), ``bias``, ``out``.
        mag_ratio: stop growing λ once mean ‖kept‖₁ / mean ‖removed‖₁ ≥ this (1000); None disables.
    """

    mode: str = "greg-1"
    delta: float = 1e-4
    every: int = 5
    ceiling: float = 1.0
    pick_delta: float = 1e-5
    pick_ceiling: float = 1e-2
    stabilize: int = 40_000
    recover: float = 1e-4
    roles: tuple[str, ...] = ("in",)
    mag_ratio: Optional[float] = 1000.0

    def __post_init__(self):
        def num(name, positive=True):
            v = getattr(self, name)
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or (v <= 0 if positive else v < 0)
            ):
                raise UnitError(f"greg: {name} must be a finite number {'> 0' if positive else '>= 0'}, got {v!r}")

        if self.mode not in MODES:
            raise UnitError(f"greg: mode must be one of {list(MODES)}, got {self.mode!r}")
        for name in ("delta", "ceiling", "pick_delta", "pick_ceiling"):
            num(name)
        num("recover", positive=False)
        for name, low in (("every", 1), ("stabilize", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise UnitError(f"greg: {name} must be an int >= {low}, got {v!r}")
        if self.delta > self.ceiling:
            raise UnitError(f"greg: delta ({self.delta}) exceeds ceiling ({self.ceiling})")
        if self.mode == "greg-2" and not (self.pick_delta <= self.pick_ceiling < self.ceiling):
            raise UnitError(
                f"greg-2 needs pick_delta <= pick_ceiling < ceiling, got {self.pick_delta}, "
                f"{self.pick_ceiling}, {self.ceiling}"
            )
        roles = tuple(self.roles)
        if not roles or len(set(roles)) != len(roles) or not set(roles) <= {"in", "bias", "out"}:
            raise UnitError(f"greg: roles must be distinct names from ['in', 'bias', 'out'], got {self.roles!r}")
        object.__setattr__(self, "roles", roles)
        if self.mag_ratio is not None:
            num("mag_ratio")

    @property
    def pick_step(self) -> int:
        """Steps before the removed set is fixed: 0 (GReg-1) or K·⌈τ'/δ'⌉ (GReg-2)."""
        return 0 if self.mode == "greg-1" else self.every * _n_updates(self.pick_ceiling, self.pick_delta)

    def steps(self) -> int:
        """Length of the penalty phase: picking (GReg-2) + growth to τ + K_s."""
        start = self.pick_ceiling if self.mode == "greg-2" else 0.0
        return self.pick_step + self.every * _n_updates(self.ceiling - start, self.delta) + self.stabilize

    def lam(self, step: int) -> tuple[str, float]:
        """``(phase, λ)`` after ``step`` optimizer steps: phase ``pick`` (λ on every unit of the chosen
        groups, GReg-2 only, step <= pick_step) or ``prune`` (λ on the removed units)."""
        p = self.pick_step
        if self.mode == "greg-2" and step <= p:
            return "pick", min(self.pick_ceiling, self.pick_delta * (step // self.every))
        base = self.pick_ceiling if self.mode == "greg-2" else 0.0
        return "prune", min(self.ceiling, base + self.delta * ((step - p) // self.every))


def _l1(model: nn.Module) -> dict[str, torch.Tensor]:
    """``l1`` unit scores on the CPU (the model may be training on a GPU)."""
    return {k: v.cpu() for k, v in l1_unit(model).items()}


def _scale(param: torch.Tensor, slot: Slot, n: int, factor: torch.Tensor) -> None:
    """param[slot positions of units 0..n-1] *= factor (n,), in place."""
    length = param.shape[slot.axis]
    full = torch.ones(length, dtype=param.dtype, device=param.device)
    full[slot.positions(torch.arange(n, device=param.device), n)] = factor.repeat(4) if slot.gates else factor
    param.mul_(full.unsqueeze(1) if slot.axis == 0 and param.dim() == 2 else full)


class GrowingRegularizer:
    """``after_step(model, optimizer)`` hook applying GReg's growing penalty (module docstring).

    Args:
        model: the Seq2Seq being trained (GReg-1 picks its removed set from it now, by L1).
        cfg: the schedule.
        fraction, scope, groups: what :func:`~.select.select_units` removes (fraction or per-layer
            ratios; ``per-layer`` or ``global``; groups, default all).
    Attributes:
        step: optimizer steps seen; ``mask``: the UnitMask to prune (None before GReg-2 picks);
        ``history``: one dict every K steps (step, phase, lam, mag_ratio); ``frozen_at``: the step
        at which the magnitude-ratio rule stopped the growth (None if it did not).
    """

    def __init__(
        self,
        model: nn.Module,
        cfg: GRegConfig,
        fraction: float | Mapping[str, float],
        scope: str = "per-layer",
        groups: Optional[Sequence[str]] = None,
    ):
        self.cfg, self.fraction, self.scope, self.groups = cfg, fraction, scope, groups
        all_groups = unit_groups(model.cfg)
        if isinstance(fraction, Mapping):
            chosen = {find_group(all_groups, name).name for name in fraction}
        else:
            chosen = {find_group(all_groups, name).name for name in groups} if groups else {g.name for g in all_groups}
        self.chosen = [g for g in all_groups if g.name in chosen]
        self.step, self.mask, self.frozen_at, self.history = 0, None, None, []
        self._slots = [
            (g.name, s, g.size)
            for g in self.chosen
            for m in g.members
            for s in member_slots(model.cfg, m)
            if s.role in cfg.roles
        ]
        if cfg.mode == "greg-1":
            self._pick(model)

    def _pick(self, model: nn.Module) -> None:
        self.mask = select_units(_l1(model), model, self.fraction, self.scope, groups=self.groups)
        self.mask.info.update(score=self.cfg.mode, picked_at=self.step)

    def lambdas(self) -> dict[str, torch.Tensor]:
        """λ per unit of every chosen group now: ``{group: FloatTensor (n,)}`` (negative = recovery)."""
        phase, lam = self.cfg.lam(self.step if self.frozen_at is None else self.frozen_at)
        if phase == "pick":
            return {g.name: torch.full((g.size,), lam, dtype=torch.float64) for g in self.chosen}
        keep = self.mask.keep
        return {g.name: torch.where(keep[g.name], -self.cfg.recover, lam).double() for g in self.chosen}

    def mag_ratio(self, model: nn.Module) -> float:
        """mean L1 (``l1``) of kept units / that of removed units, over the chosen groups (inf if 0)."""
        scores = _l1(model)
        kept = torch.cat([scores[g.name][self.mask.keep[g.name]] for g in self.chosen])
        gone = torch.cat([scores[g.name][~self.mask.keep[g.name]] for g in self.chosen])
        if len(gone) == 0 or len(kept) == 0:
            return float("inf")
        return float(kept.mean() / gone.mean()) if float(gone.mean()) > 0 else float("inf")

    @torch.no_grad()
    def __call__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.step += 1
        lr = optimizer.param_groups[0]["lr"]
        lams = self.lambdas()
        top = max(float(v.max()) for v in lams.values())
        if lr * top >= 1:
            raise UnitError(
                f"greg: lr x lambda = {lr} x {top} >= 1 would flip the weights' sign; lower "
                "ceiling or the learning rate (keep lr x ceiling <= 1e-2)"
            )
        named = dict(model.named_parameters())
        for group, slot, n in self._slots:
            p = named[slot.param]
            _scale(p.data, slot, n, (1 - lr * lams[group]).to(p.device, p.dtype))
        if self.mask is None and self.step >= self.cfg.pick_step:
            self._pick(model)
        if self.step % self.cfg.every == 0:
            phase, lam = self.cfg.lam(self.step if self.frozen_at is None else self.frozen_at)
            ratio = self.mag_ratio(model) if self.mask is not None else None
            self.history.append({"step": self.step, "phase": phase, "lam": lam, "mag_ratio": ratio})
            if (
                self.cfg.mag_ratio is not None
                and ratio is not None
                and self.frozen_at is None
                and phase == "prune"
                and ratio >= self.cfg.mag_ratio
            ):
                self.frozen_at = self.step


def greg_prune(
    model_dir: str | Path,
    out: str | Path,
    fraction: float | Mapping[str, float],
    cfg: GRegConfig,
    scope: str = "per-layer",
    groups: Optional[Sequence[str]] = None,
    seed: int = 0,
    overrides: Sequence[str] = (),
    penalty_dir: str | Path | None = None,
    progress: bool = False,
) -> dict:
    """GReg penalty phase, then pruning; writes ``out`` like ``nmtprune prune-units``.

    The phase trains the model in ``model_dir`` with ``train`` for ``cfg.steps()`` steps at a
    constant LR (default half the reference LR, as in retraining; override with ``train.lr=...``)
    into ``penalty_dir`` (default ``OUT.penalty``). Then the removed units are zeroed and ``out``
    gets the checkpoint, ``units.json``, ``masks.safetensors``, ``prune.json`` (with the schedule and
    the λ / magnitude-ratio history). Fine-tune with ``nmtprune retrain OUT``. Returns prune.json's dict.
    """
    from ...config import config_to_dict, with_overrides
    from ...provenance import provenance
    from ...train.checkpoint import load_model, save_checkpoint, write_json_atomic
    from ...train.loop import train
    from .shrink import shrink

    out = Path(out)
    penalty_dir = Path(penalty_dir) if penalty_dir is not None else out.with_name(out.name + ".penalty")
    for d in (out, penalty_dir):
        if d.exists() and any(d.iterdir()):
            raise FileExistsError(f"{d}: exists and is not empty; choose another --out")
    model, ref_cfg, sv, tv = load_model(model_dir)
    steps = cfg.steps()
    phase_cfg = with_overrides(
        ref_cfg,
        list(overrides),
        "GReg penalty-phase config",
        seed=seed,
        lr=ref_cfg.train.lr * 0.5,
        epochs=steps,
        max_steps=steps,
        decay_start=0,
        decay_on_plateau=False,
        early_stop_patience=0,
    )
    reg = GrowingRegularizer(model, cfg, fraction, scope, groups)
    model.train()
    summary = train(phase_cfg, penalty_dir, progress=progress, after_step=reg, init_model=model, vocabs=(sv, tv))
    model = model.cpu().eval()
    mask = reg.mask
    dense_params, small_params = (
        sum(p.numel() for p in model.parameters()),
        sum(p.numel() for p in shrink(model, mask).parameters()),
    )
    masks = mask.maskset(model)
    masks.apply(model)
    save_checkpoint(out, model, ref_cfg, sv, tv)
    masks.save(out / "masks.safetensors")
    mask.save(out / "units.json", model)
    info = {
        "model": str(model_dir),
        "kind": "units",
        "score": cfg.mode,
        "scope": scope,
        "fraction": dict(fraction) if isinstance(fraction, Mapping) else fraction,
        "groups": list(groups or []) or "all",
        "seed": seed,
        "greg": {
            **dataclasses.asdict(cfg),
            "steps": steps,
            "pick_step": cfg.pick_step,
            "frozen_at": reg.frozen_at,
            "lr": phase_cfg.train.lr,
        },
        "penalty_run": str(penalty_dir),
        "penalty_summary": summary,
        "history": reg.history,
        "units": {name: {"size": k.numel(), "kept": int(k.sum())} for name, k in mask.keep.items()},
        "params_dense": dense_params,
        "params_after_shrink": small_params,
        "stats": masks.stats(model),
        "penalty_train_config": config_to_dict(phase_cfg)["train"],
        "note": "penalty phase then L1 pruning (GReg); fine-tune with `nmtprune retrain`",
        **provenance(),
    }
    write_json_atomic(out / "prune.json", info)
    print(
        f"GReg ({cfg.mode}): {steps} penalty steps, last mag ratio "
        f"{reg.history[-1]['mag_ratio'] if reg.history else None}",
        file=sys.stderr,
    )
    return info
