"""The training loop (Luong/See recipe by default) with exact resume and optional DDP.

Resume is bitwise on CPU: batches depend only on (seed, epoch), the learning rate is a pure function
of the position in training (plus the count of plateau decays, which is saved), and the checkpoint
holds optimizer and RNG state. Under ``torchrun`` every rank takes its share of each global batch
and the loss is normalised by the *global* token count, so the averaged gradient equals the
single-process one.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.distributed as dist
from tqdm import tqdm

from ..config import ExperimentConfig, config_to_dict
from ..data.batching import collate, load_split, make_batches
from ..data.vocab import Vocab
from ..metrics.evaluate import evaluate_data, perplexity
from ..models.seq2seq import Seq2Seq, nll_loss, smoothed_nll_loss
from .precision import resolve_precision
from .checkpoint import (
    CheckpointError,
    load_masks,
    load_model,
    load_trainer_state,
    recover_checkpoints,
    resume_masks,
    save_checkpoint,
    write_json_atomic,
)
from .metrics_log import append_record, cut_back
from .recipe import bad_epochs, build_vocabs, learning_rate, make_optimizer
from ..errors import UserError

__all__ = [
    "train",
    "TrainingError",
    "learning_rate",
    "bad_epochs",
    "build_vocabs",
    "make_optimizer",
    "RESUME_MUTABLE_KEYS",
]

# Keys that may differ between the interrupted run's config and the resuming command.
RESUME_MUTABLE_KEYS = {
    "train.max_steps",
    "train.threads",
    "train.log_every",
    "train.save_every",
    "train.keep_epochs",
    "train.epochs",
    "train.bf16",
}
# train.bf16 is a setting of the machine, like threads: a run started on an AVX-512 bf16 CPU may resume on
# an AVX2 one (in fp32); it is then no longer bitwise equal to an uninterrupted run, and run metadata says so.
# train.epochs may grow on resume (extending a finished run): the lr schedule and the batches of each
# epoch do not depend on it, so the extended run equals one launched with the larger value. A scheduled
# pruner spreads its schedule over all epochs, so there it must not change (checked in train()).


class TrainingError(RuntimeError, UserError):
    """Training cannot go on (a diverged loss); the message says where and why."""


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _check_resume_config(cfg: ExperimentConfig, saved: ExperimentConfig, where: Path) -> None:
    a, b = config_to_dict(cfg), config_to_dict(saved)
    diff = [f"{s}.{k}" for s in a for k in a[s] if a[s][k] != b[s][k] and f"{s}.{k}" not in RESUME_MUTABLE_KEYS]
    diff = [k for k in diff if not k.endswith("_vocab_size")]
    if diff:
        raise CheckpointError(f"{where}: cannot resume, the config differs from the checkpoint's in {diff}")


def train(
    cfg: ExperimentConfig,
    out: str | Path,
    resume: bool = False,
    progress: bool = True,
    after_step: Optional[Callable[[torch.nn.Module, torch.optim.Optimizer], None]] = None,
    init_model: Optional[Seq2Seq] = None,
    vocabs: Optional[tuple[Vocab, Vocab]] = None,
    masks=None,
    pruner=None,
) -> dict:
    """Train a model; writes ``out/last`` (resumable), ``out/best`` and ``out/metrics.jsonl``.

    Args:
        after_step: called with (model, optimizer) after every optimizer step; pruning re-applies its
            masks to the weights and the optimizer state here.
        init_model, vocabs: start from these weights/vocabularies instead of a fresh model (retraining).
        masks: a :class:`nmtprune.prune.MaskSet` held fixed: applied to the starting weights and, with
            the optimizer state, after every step (retraining, sparse-from-scratch). On resume the masks
            saved with the checkpoint are used; passed again, they must equal those.
        pruner: a :class:`nmtprune.prune.gradual.ScheduledPruner` (instead of ``masks``): its masks
            grow on its schedule (iterative, gradual); they are checkpointed and reloaded on resume.
    Returns:
        summary dict (best dev BLEU, steps, wall time, ...).
    """
    out = Path(out)
    rank, world = _world()
    t = cfg.train
    if t.threads > 0:
        torch.set_num_threads(t.threads)
    last = out / "last"
    if rank == 0:  # a kill during a checkpoint swap may have left last/ (or best/) only as hidden copies
        recover_checkpoints(out)
    if world > 1:
        dist.barrier()
    if resume and not (last / "trainer.json").is_file():
        raise CheckpointError(f"{last}: nothing to resume (no resumable checkpoint)")
    if resume:
        model, saved_cfg, src_vocab, tgt_vocab = load_model(last)
        _check_resume_config(cfg, saved_cfg, last)
        if pruner is not None and cfg.train.epochs != saved_cfg.train.epochs:
            raise CheckpointError(
                f"{last}: cannot change train.epochs ({saved_cfg.train.epochs} -> "
                f"{cfg.train.epochs}) when resuming scheduled pruning: its schedule spans the epochs"
            )
        cfg = saved_cfg.__class__(data=saved_cfg.data, model=saved_cfg.model, train=cfg.train)
        if pruner is None:  # a scheduled pruner's masks are restored from the checkpoint below
            masks = resume_masks(last, masks)
    else:
        if last.exists():
            raise CheckpointError(f"{out}: already holds a training run; use --resume or another --out")
        torch.manual_seed(t.seed)
        src_vocab, tgt_vocab = vocabs if vocabs is not None else build_vocabs(cfg)
        model_cfg = cfg.model.__class__(
            **{**config_to_dict(cfg)["model"], "src_vocab_size": len(src_vocab), "tgt_vocab_size": len(tgt_vocab)}
        )
        cfg = cfg.__class__(data=cfg.data, model=model_cfg, train=cfg.train)
        model = init_model if init_model is not None else Seq2Seq(cfg.model)
    device = (
        torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if torch.cuda.is_available() else torch.device("cpu")
    )
    model.to(device)
    if pruner is not None:
        if masks is not None and masks is not pruner.masks:
            raise ValueError("train: pass either masks or a pruner (whose masks are used), not both")
        pruner.masks = masks = pruner.masks.to(device)
    if masks is not None:
        masks.apply(model)
    d = cfg.data
    train_data = load_split(
        d.corpus, d.train_split, d.src_lang, d.tgt_lang, d.lowercase, src_vocab, tgt_vocab, d.max_len
    )
    dev_data = load_split(d.corpus, d.dev_split, d.src_lang, d.tgt_lang, d.lowercase, src_vocab, tgt_vocab)
    optimizer = make_optimizer(model, cfg)
    state = {
        "epoch": 0,
        "pos": 0,
        "step": 0,
        "plateau_decays": 0,
        "best_bleu": -1.0,
        "best_ppl": float("inf"),
        "bad_epochs": 0,
        "log_lines": 0,
        "wall_s": 0.0,
        "stopped_early": False,
        "precisions": [],
        "grad_scaler": None,
        "window_loss": 0.0,
        "window_tokens": 0,
    }
    metrics_file = out / "metrics.jsonl"
    if pruner is not None:  # the schedule spans the run: epochs x batches per epoch (max_steps, a
        # stopping point that --resume may change, is deliberately not part of it)
        pruner.bind(t.epochs * len(make_batches(train_data, t.batch_size, t.seed, 0)))
    if resume:
        state.update({k: v for k, v in load_trainer_state(last, optimizer).items() if k in state})
        if rank == 0:  # drop lines written after the checkpoint
            cut_back(metrics_file, state["log_lines"])
        if pruner is not None:  # the masks in force at the checkpoint, into the pruner's MaskSet in place
            saved = load_masks(last)
            if saved is None:
                raise CheckpointError(f"{last}: cannot resume a scheduled-pruning run, the checkpoint has no masks")
            masks.masks.update({n: m.to(device) for n, m in saved.items()})
            masks.info = saved.info
            masks.apply(model)
            pruner.resume_at(state["step"])
    else:
        if rank == 0:
            out.mkdir(parents=True, exist_ok=True)
            metrics_file.write_text("", encoding="utf-8")
        if pruner is not None:
            pruner.update(model, optimizer, 0)  # one-shot and iterative's first round prune before step 0
    ddp_devices = [device.index] if device.type == "cuda" else None  # CPU (gloo): no device_ids
    net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ddp_devices) if world > 1 else model
    # the hardware decides (precision.py): bf16 autocast only where it is native, fp16 + loss scaling on a
    # GPU without bf16; the resolved choice is logged and stored with every checkpoint and the summary
    precision = resolve_precision(t.bf16, device)
    autocast, scaler = precision.autocast, precision.grad_scaler()
    if scaler is not None and state["grad_scaler"]:
        scaler.load_state_dict(state["grad_scaler"])
    if precision.name not in state["precisions"]:
        state["precisions"].append(precision.name)
    if progress and rank == 0:
        print(f"precision: {precision.name} ({precision.reason})", file=sys.stderr, flush=True)

    def log(record: dict) -> None:
        if rank == 0:
            append_record(metrics_file, record)
            state["log_lines"] += 1

    def checkpoint(path: Path, resumable: bool) -> None:
        if rank == 0:
            if scaler is not None:
                state["grad_scaler"] = scaler.state_dict()
            save_checkpoint(
                path,
                model,
                cfg,
                src_vocab,
                tgt_vocab,
                optimizer if resumable else None,
                dict(state) if resumable else None,
                extra_meta={"step": state["step"], "precision": precision.record()},
                masks=masks,
            )

    start_wall = time.time() - state["wall_s"]
    while state["epoch"] < t.epochs and not state["stopped_early"]:
        epoch = state["epoch"]
        batches = make_batches(train_data, t.batch_size, t.seed, epoch)
        bar = tqdm(
            total=len(batches),
            initial=state["pos"],
            desc=f"epoch {epoch + 1}/{t.epochs}",
            disable=not progress or rank != 0,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        # the loss logged every log_every steps averages the steps since the last line, within the epoch;
        # its sums are trainer state, so a window that spans a resume logs what an uninterrupted run does
        if state["pos"] == 0:
            state["window_loss"], state["window_tokens"] = 0.0, 0
        window_t0 = time.perf_counter()
        while state["pos"] < len(batches):
            if t.max_steps and state["step"] >= t.max_steps:
                break
            lr = learning_rate(cfg, epoch, state["pos"], len(batches), state["plateau_decays"])
            for group in optimizer.param_groups:
                group["lr"] = lr
            index = batches[state["pos"]]
            shard = index[rank::world]
            batch = collate(train_data, shard).to(device)
            n_tok = torch.tensor(float(batch.n_tokens), device=device)
            if world > 1:
                dist.all_reduce(n_tok)
            model.train()
            with autocast():
                logits = net(batch.src, batch.src_len, batch.tgt_in)
            if t.label_smoothing > 0:
                objective, loss_sum = smoothed_nll_loss(logits, batch.tgt_out, t.label_smoothing)
            else:
                objective = loss_sum = nll_loss(logits, batch.tgt_out)
            loss_value = float(loss_sum.detach())
            if not math.isfinite(loss_value):  # before any write: a diverged run never becomes best/ or last/
                raise TrainingError(
                    f"{out}: the training loss is {loss_value} at step {state['step'] + 1} (lr "
                    f"{lr:g}); the run diverged and stopped, its checkpoints are those before it"
                )
            scaled = objective * world / n_tok
            if scaler is None:
                scaled.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), t.clip_norm)
                optimizer.step()
            else:  # fp16: scaled gradients, unscaled before clipping; a step with inf gradients is skipped
                scaler.scale(scaled).backward()
                scaler.unscale_(optimizer)
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), t.clip_norm)
                scaler.step(optimizer)
                scaler.update()
            optimizer.zero_grad(set_to_none=True)
            if masks is not None:
                masks.after_step(model, optimizer)
            if after_step is not None:
                after_step(model, optimizer)
            state["step"] += 1
            state["pos"] += 1
            if pruner is not None:
                pruner.update(model, optimizer, state["step"])
            state["window_loss"] += loss_value
            state["window_tokens"] += batch.n_tokens
            bar.update(1)
            if state["step"] % t.log_every == 0:
                secs = time.perf_counter() - window_t0
                avg = state["window_loss"] / max(1, state["window_tokens"])
                tok_s = state["window_tokens"] * world / max(secs, 1e-9)
                bar.set_postfix(
                    loss=f"{avg:.3f}", ppl=f"{math.exp(min(avg, 50)):.1f}", tok_s=f"{tok_s:.0f}", lr=f"{lr:.3g}"
                )
                log(
                    {
                        "type": "train",
                        "step": state["step"],
                        "epoch": epoch + state["pos"] / len(batches),
                        "loss": round(avg, 5),
                        "ppl": round(math.exp(min(avg, 50)), 3),
                        "lr": lr,
                        "tokens_per_s": round(tok_s, 1),
                        "grad_norm": round(float(grad_norm), 4),
                    }
                )
                state["window_loss"], state["window_tokens"], window_t0 = 0.0, 0, time.perf_counter()
            if t.save_every and state["step"] % t.save_every == 0:
                state["wall_s"] = time.time() - start_wall
                checkpoint(last, True)
        bar.close()
        if state["pos"] < len(batches):  # stopped by max_steps
            break
        # ---- end of epoch: dev perplexity and BLEU, best checkpoint, plateau decay, early stop
        state["epoch"] += 1
        state["pos"] = 0
        if rank == 0:
            dev_ppl = perplexity(model, dev_data, device=device)
            dev, _ = evaluate_data(
                model, dev_data, tgt_vocab, d.tgt_lang, beam=t.dev_beam, device=device, with_ppl=False
            )  # dev_ppl above, unrounded for the plateau test
            improved = dev["bleu_tok_lc"] > state["best_bleu"]
            if t.decay_on_plateau and dev_ppl >= state["best_ppl"]:
                state["plateau_decays"] += 1
            state["best_ppl"] = min(state["best_ppl"], dev_ppl)
            state["bad_epochs"] = bad_epochs(state["bad_epochs"], state["best_bleu"], dev["bleu_tok_lc"])
            if improved:
                state["best_bleu"] = dev["bleu_tok_lc"]
            if t.early_stop_patience and state["bad_epochs"] >= t.early_stop_patience:
                state["stopped_early"] = True
            state["wall_s"] = time.time() - start_wall
            log(
                {
                    "type": "dev",
                    "epoch": state["epoch"],
                    "step": state["step"],
                    "dev_ppl": round(dev_ppl, 3),
                    "dev_bleu_tok_lc": dev["bleu_tok_lc"],
                    "dev_sacrebleu": dev["sacrebleu"],
                    "wall_s": round(state["wall_s"], 1),
                }
            )
            print(
                f"epoch {state['epoch']}: dev ppl {dev_ppl:.2f}  dev BLEU(tok-lc, beam {t.dev_beam}) "
                f"{dev['bleu_tok_lc']:.2f}{'  *best*' if improved else ''}",
                file=sys.stderr,
                flush=True,
            )
            if improved:
                checkpoint(out / "best", False)
            if t.keep_epochs > 0:  # weights only, for checkpoint averaging (nmtprune average)
                checkpoint(out / f"epoch-{state['epoch']:03d}", False)
                for old in sorted(out.glob("epoch-[0-9][0-9][0-9]"))[: -t.keep_epochs]:
                    shutil.rmtree(old)
        if world > 1:
            flags = torch.tensor([float(state["stopped_early"]), float(state["plateau_decays"])], device=device)
            dist.broadcast(flags, 0)
            state["stopped_early"], state["plateau_decays"] = bool(flags[0]), int(flags[1])
        checkpoint(last, True)
    state["wall_s"] = time.time() - start_wall
    checkpoint(last, True)
    if world > 1:
        # every rank leaves together, after rank 0's last write: a rank that tears down its process
        # group while another still works can abort at exit ("terminate called without an active exception")
        del net
        dist.barrier()
    # None (JSON null) until a dev evaluation has run: the -1 / inf placeholders are no scores, and inf is no JSON
    summary = {
        "steps": state["step"],
        "epochs": state["epoch"],
        "best_dev_bleu_tok_lc": state["best_bleu"] if state["best_bleu"] >= 0 else None,
        "best_dev_ppl": state["best_ppl"] if math.isfinite(state["best_ppl"]) else None,
        "wall_s": round(state["wall_s"], 1),
        "stopped_early": state["stopped_early"],
        "precision": precision.record(),
        "precisions_used": list(state["precisions"]),
    }
    if rank == 0:
        write_json_atomic(out / "summary.json", summary)
    return summary
