"""``nmtprune train | average``: the training commands (registered by nmtprune/cli.py).

``train CONFIG --out RUN`` trains a model from a YAML config (``--resume`` continues it, ``--mask``
trains under a fixed mask: sparse from scratch); under torchrun each rank joins one process group.
``average`` writes the mean of several checkpoints of one run as a new checkpoint.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["add_cli"]


def _training_vocabs(cfg):
    """The vocabularies ``train`` would build, or a ConfigError when the data leave no word in one.

    Built here, not inside ``train``, so that an empty vocabulary is explained by the settings that
    emptied it rather than by the model refusing a vocabulary of special tokens only.
    """
    from ..config import ConfigError
    from ..data.vocab import SPECIALS
    from .loop import build_vocabs

    d = cfg.data
    vocabs = build_vocabs(cfg)
    for side, lang, vocab in zip(("source", "target"), (d.src_lang, d.tgt_lang), vocabs):
        if len(vocab) <= len(SPECIALS):
            raise ConfigError(
                f"{d.corpus} {d.train_split}: the {side} ({lang}) vocabulary is empty: no word of the "
                f"pairs within data.max_len={d.max_len} tokens occurs data.min_freq={d.min_freq} "
                "times or more"
            )
    return vocabs


def _cmd_train(args) -> int:
    from ..config import load_config
    from ..errors import writing
    from .loop import train

    from ..provenance import provenance
    from .checkpoint import recover_checkpoints, write_json_atomic

    cfg = load_config(args.config, args.overrides)
    masks = None
    if args.mask:  # sparse from scratch: a fresh model trained under a fixed mask
        from ..sparse.masks import MaskSet

        masks = MaskSet.load(args.mask)
    out = Path(args.out)
    if os.environ.get("RANK", "0") == "0":  # a kill during a checkpoint swap may have hidden last/: put it back
        recover_checkpoints(out)  # first, so that this run is not taken for a fresh one
    fresh = not args.resume and not (out / "last").exists()  # else train resumes, or refuses to start over a run
    vocabs = _training_vocabs(cfg) if fresh else None
    # run.json describes the run that trains here: a fresh start rewrites what a failed one left
    if os.environ.get("RANK", "0") == "0" and fresh:
        with writing(out):
            out.mkdir(parents=True, exist_ok=True)
            write_json_atomic(
                out / "run.json", {**provenance(), "config_file": args.config, "overrides": args.overrides}
            )
    if os.environ.get("WORLD_SIZE", "1") != "1":
        import torch.distributed as dist

        if _cuda():  # NCCL collectives run on the current device: one GPU per rank, set before init
            import torch

            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group("nccl" if _cuda() else "gloo")
    try:
        with writing(out):
            summary = train(cfg, out, resume=args.resume, progress=not args.no_progress, masks=masks, vocabs=vocabs)
    finally:
        if os.environ.get("WORLD_SIZE", "1") != "1":
            import torch.distributed as dist

            dist.destroy_process_group()
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps(summary))
    return 0


def _cmd_average(args) -> int:
    from ..errors import writing
    from .average import average_checkpoints, epoch_checkpoints
    from .checkpoint import save_checkpoint

    paths = [Path(p) for p in args.checkpoints]
    if args.run:
        paths += epoch_checkpoints(args.run, args.last)
    if len(paths) < 2:
        raise SystemExit("error: average needs at least two checkpoints (CHECKPOINT... or --run RUN --last N)")
    out = Path(args.out)
    if out.exists():
        raise SystemExit(f"error: {out} already exists; not overwriting it")
    model, cfg, src_vocab, tgt_vocab, masks = average_checkpoints(paths)
    with writing(out):
        save_checkpoint(
            out, model, cfg, src_vocab, tgt_vocab, masks=masks, extra_meta={"averaged_from": [str(p) for p in paths]}
        )
    print(f"averaged {len(paths)} checkpoints -> {out}")
    return 0


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def add_cli(sub) -> None:
    t = sub.add_parser("train", help="train a model from a YAML config")
    t.add_argument("config")
    t.add_argument("overrides", nargs="*", help="section.key=value overrides, e.g. train.lr=0.5")
    t.add_argument("--out", required=True, help="run folder (checkpoints, metrics.jsonl)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out where it stopped")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--mask", help="train under this fixed mask (masks.safetensors): sparse from scratch")
    t.set_defaults(func=_cmd_train)

    a = sub.add_parser("average", help="average the weights of several checkpoints of one run")
    a.add_argument("checkpoints", nargs="*", help="checkpoint directories")
    a.add_argument("--run", help="a run folder trained with train.keep_epochs=N: use its epoch checkpoints")
    a.add_argument("--last", type=int, default=5, help="with --run: how many of the last epochs (default 5)")
    a.add_argument("--out", required=True, help="new checkpoint directory (must not exist)")
    a.set_defaults(func=_cmd_average)
