"""The ``nmtprune`` command: data | train | average | prune | retrain | export | compress | prune-units | shrink | translate | evaluate | info | sweep | report | site | video."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["main"]


def _training_vocabs(cfg):
    """The vocabularies ``train`` would build, or a ConfigError when the data leave no word in one.

    Built here, not inside ``train``, so that an empty vocabulary is explained by the settings that
    emptied it rather than by the model refusing a vocabulary of special tokens only.
    """
    from .config import ConfigError
    from .data.vocab import SPECIALS
    from .train.loop import build_vocabs

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
    from .config import load_config
    from .errors import writing
    from .train.loop import train

    from .provenance import provenance
    from .train.checkpoint import recover_checkpoints, write_json_atomic

    cfg = load_config(args.config, args.overrides)
    masks = None
    if args.mask:  # sparse from scratch: a fresh model trained under a fixed mask
        from .sparse.masks import MaskSet

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
    from .errors import writing
    from .train.average import average_checkpoints, epoch_checkpoints
    from .train.checkpoint import save_checkpoint

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


def _read_input(args) -> list[str]:
    from .data.corpora import read_lines

    if args.input:
        return read_lines(args.input)
    data = sys.stdin.buffer.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SystemExit(f"error: standard input is not valid UTF-8 ({exc.reason} at byte {exc.start})")
    # lines end at "\n" only, as in --input files: str.splitlines also breaks at form feeds, U+2028 and
    # other separators, and the output lines would no longer match the input lines
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def _check_decoding(args) -> None:
    from .config import ConfigError

    if args.beam < 1:
        raise ConfigError(f"--beam must be >= 1 (1 = greedy search), got {args.beam}")
    if getattr(args, "max_sentences", 0) < 0:
        raise ConfigError(f"--max-sentences must be >= 0 (0 = all), got {args.max_sentences}")
    if args.threads < 0:
        raise ConfigError(f"--threads must be >= 0 (0 = torch's default), got {args.threads}")


def _load_for_decoding(args):
    """(model, cfg, src_vocab, tgt_vocab) to decode with: onnxruntime for an export-onnx directory, int8 if asked."""
    from .deploy import META_FILE, load_onnx
    from .train.checkpoint import load_model

    if (Path(args.model) / META_FILE).is_file():
        if args.int8:
            from .config import ConfigError

            raise ConfigError(f"{args.model}: an export-onnx directory has its precision (export-onnx --int8)")
        return load_onnx(args.model, threads=args.threads)
    model, *rest = load_model(args.model)
    if args.int8:
        from .decode.int8 import int8_model

        model = int8_model(model)
    return (model, *rest)


def _cmd_translate(args) -> int:
    import torch
    from .data.batching import ParallelData
    from .data.tokenize import Tokenizer
    from .metrics.evaluate import translate_data

    _check_decoding(args)
    model, cfg, src_vocab, tgt_vocab = _load_for_decoding(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    lines = _read_input(args)
    tok = Tokenizer(cfg.data.src_lang, cfg.data.lowercase)
    toks = [tok.tokenize(line) for line in lines]
    # an empty or blank line has nothing to translate: it gets an empty line, not whatever the model
    # says to no input
    todo = [i for i, t in enumerate(toks) if t]
    data = ParallelData(
        [src_vocab.encode(toks[i]) for i in todo],
        [[] for _ in todo],
        [toks[i] for i in todo],
        [[] for _ in todo],
        [lines[i] for i in todo],
        ["" for _ in todo],
    )
    hyps: list[list[str]] = [[] for _ in toks]
    for i, h in zip(todo, translate_data(model, data, tgt_vocab, beam=args.beam, alpha=args.alpha)):
        hyps[i] = h
    detok = Tokenizer(cfg.data.tgt_lang, cfg.data.lowercase)
    for h in hyps:
        print(" ".join(h) if args.tokenized else detok.detokenize(h))
    return 0


def _cmd_evaluate(args) -> int:
    import torch
    from .data.batching import ParallelData, load_split
    from .metrics.evaluate import evaluate_data
    from .errors import writing

    _check_decoding(args)
    model, cfg, src_vocab, tgt_vocab = _load_for_decoding(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    corpus = args.corpus or cfg.data.corpus
    data = load_split(
        corpus, args.split, cfg.data.src_lang, cfg.data.tgt_lang, cfg.data.lowercase, src_vocab, tgt_vocab
    )
    if args.max_sentences:
        data = ParallelData(*(v[: args.max_sentences] for v in vars(data).values()))
    metrics, hyps = evaluate_data(model, data, tgt_vocab, cfg.data.tgt_lang, beam=args.beam, alpha=args.alpha)
    metrics = {"corpus": corpus, "split": args.split, **metrics}
    if args.hyps:
        with writing(args.hyps):
            Path(args.hyps).write_text("".join(" ".join(h) + "\n" for h in hyps), encoding="utf-8")
    if args.json:
        print(json.dumps(metrics))
    else:
        for k, v in metrics.items():
            print(f"{k:22s} {v}")
    return 0


def _cmd_compress(args) -> int:
    from .compress import check_options, compress_directory, format_report, training_batches
    from .errors import check_new_out, writing
    from .train.checkpoint import load_masks, load_model

    # options first: a bad one is reported before loading the model and the training data
    check_options(args.method, args.bits, args.level, args.finetune_steps, args.finetune_lr)
    # by default a fresh batch per step: cycling a few batches over-fits them (the centroids are shared
    # by the whole model, so they follow whatever those sentences want)
    n_batches = args.finetune_steps if args.finetune_batches is None else args.finetune_batches
    if args.finetune_steps and n_batches < 1:
        from .config import ConfigError

        raise ConfigError(f"--finetune-batches must be >= 1, got {args.finetune_batches}")
    src, out = Path(args.pruned), check_new_out(args.out)
    model, cfg, sv, tv = load_model(src)
    masks = load_masks(src)
    batches = (
        training_batches(cfg, sv, tv, n_batches, args.finetune_batch_size, args.seed) if args.finetune_steps else ()
    )
    with writing(out):
        report = compress_directory(
            src,
            out,
            model,
            masks,
            method=args.method,
            bits=args.bits,
            level=args.level,
            finetune_steps=args.finetune_steps,
            finetune_lr=args.finetune_lr,
            batches=batches,
        )
    if args.json:
        print(json.dumps(report))
    else:
        print(format_report(report))
        print(str(out))
    return 0


def _cmd_info(args) -> int:
    from .models.weight_classes import weight_classes
    from .train.checkpoint import load_model

    model, cfg, src_vocab, tgt_vocab = load_model(args.model)
    classes = weight_classes(model)
    named = dict(model.named_parameters())
    total_cls = sum(c.numel(model) for c in classes)
    total = sum(p.numel() for p in model.parameters())
    rows = []
    for c in classes:
        shapes = " + ".join("x".join(map(str, named[p].shape)) for p in c.params)
        rows.append(
            {"class": c.name, "paper": c.paper_name, "params": list(c.params), "shapes": shapes, "size": c.numel(model)}
        )
    if args.json:
        print(json.dumps({"classes": rows, "pruned_classes_total": total_cls, "all_parameters": total}))
        return 0
    print(f"{'class':12s} {'See et al.':18s} {'shape(s)':28s} {'size':>11s} {'share':>7s}")
    for r in rows:
        print(f"{r['class']:12s} {r['paper']:18s} {r['shapes']:28s} {r['size']:11,d} {r['size'] / total_cls:7.2%}")
    print(f"{'classes total':60s} {total_cls:11,d}")
    print(f"{'all parameters (incl. biases, never pruned)':60s} {total:11,d}")
    return 0


def _cmd_data(args) -> int:
    from .data.corpora import CORPORA

    if args.data_cmd == "list":
        for c in CORPORA.values():
            print(f"{c.name:16s} {'/'.join(c.langs):6s} splits: {', '.join(c.splits)}\n{'':16s} {c.description}")
        return 0
    if args.data_cmd == "make-tatoeba-split":
        from .data.tatoeba import write_tatoeba_split

        print(json.dumps(write_tatoeba_split(args.source, args.out, seed=args.seed)))
        return 0
    if args.data_cmd == "download":
        from .data.download import download_corpus

        download_corpus(args.corpus, base_url=args.base_url, force=args.force, allow_unverified=args.allow_unverified)
        return 0
    return 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nmtprune", description="Train LSTM attention NMT models and prune them.")
    sub = p.add_subparsers(dest="cmd", required=True)

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

    from .prune.cli import add_cli as add_prune_cli

    add_prune_cli(sub)
    from .prune.units.cli import add_cli as add_units_cli

    add_units_cli(sub)
    from .deploy import add_cli as add_deploy_cli

    add_deploy_cli(sub)

    c = sub.add_parser("compress", help="store a (pruned) model small: mask + quantised values + positions, zstd-coded")
    c.add_argument("pruned", help="a model directory (from prune, retrain, or any checkpoint)")
    c.add_argument("--out", required=True, help="new directory; evaluate and translate read it as a model")
    c.add_argument("--method", default="kmeans", help="int8 (per-row symmetric) or kmeans (default %(default)s)")
    c.add_argument("--bits", type=int, default=None, help="kmeans: 2^bits centroids per weight class (default 5)")
    c.add_argument("--level", type=int, default=19, help="zstd compression level 1..22 (default %(default)s)")
    c.add_argument("--finetune-steps", type=int, default=0, help="kmeans: Adam steps on the centroids (default 0)")
    c.add_argument("--finetune-lr", type=float, default=1e-4, help="their learning rate (default %(default)s)")
    c.add_argument(
        "--finetune-batches", type=int, default=None, help="training batches to cycle through (default: one per step)"
    )
    c.add_argument("--finetune-batch-size", type=int, default=64, help="sentences per batch (default 64)")
    c.add_argument("--seed", type=int, default=0, help="which training batches")
    c.add_argument("--json", action="store_true", help="print the report as JSON (it is also DIR/compress.json)")
    c.set_defaults(func=_cmd_compress)

    for name, func, helptext in (
        ("translate", _cmd_translate, "translate text with a model"),
        ("evaluate", _cmd_evaluate, "BLEU, perplexity and speed on a corpus split"),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("model", help="checkpoint directory (also compressed, or from export-onnx)")
        s.add_argument("--beam", type=int, default=5)
        s.add_argument("--alpha", type=float, default=1.0, help="length normalisation exponent")
        s.add_argument("--threads", type=int, default=0)
        s.add_argument("--int8", action="store_true", help="int8 weight products on the CPU (decode/int8.py)")
        s.set_defaults(func=func)
        if name == "translate":
            s.add_argument("--input", help="file to translate (default: standard input)")
            s.add_argument("--tokenized", action="store_true", help="write tokens, not detokenised text")
        else:
            s.add_argument("--corpus", help="corpus name (default: the model's training corpus)")
            s.add_argument("--split", required=True)
            s.add_argument("--json", action="store_true")
            s.add_argument("--hyps", help="write tokenised hypotheses here")
            s.add_argument("--max-sentences", type=int, default=0, help="only the split's first N sentences")

    i = sub.add_parser("info", help="weight classes of a model: shapes and sizes")
    i.add_argument("model")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=_cmd_info)

    d = sub.add_parser("data", help="corpora: list, download, make-tatoeba-split")
    dsub = d.add_subparsers(dest="data_cmd", required=True)
    dsub.add_parser("list")
    dl = dsub.add_parser("download", help="fetch a training set that is not shipped, verifying checksums")
    dl.add_argument("corpus")
    dl.add_argument("--base-url", help="mirror to fetch from instead of the official address")
    dl.add_argument("--force", action="store_true", help="fetch again even if verified files exist")
    dl.add_argument(
        "--allow-unverified",
        action="store_true",
        help="accept files with no published checksum; their sha256 is recorded in CHECKSUMS.unverified next to them",
    )
    ts = dsub.add_parser("make-tatoeba-split", help="rebuild data/tatoeba-en-fr from fra.txt(.gz)")
    ts.add_argument("source")
    ts.add_argument("--out", default="data/tatoeba-en-fr")
    ts.add_argument("--seed", type=int, default=20161)
    d.set_defaults(func=_cmd_data)

    from .experiments import add_cli as add_sweep_cli
    from .report import add_cli as add_report_cli

    add_sweep_cli(sub)
    add_report_cli(sub)
    from .site import add_cli as add_site_cli

    add_site_cli(sub)
    return p


def main(argv=None) -> int:
    from .errors import KNOWN_ERRORS

    try:  # the parsers list the registered scores: a plugin that fails to load is a one-line error here
        parser = build_parser()
    except KNOWN_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args, extra = parser.parse_known_args(argv)
    # overrides may also follow the options: `nmtprune train cfg.yaml --out d train.lr=0.5`
    if extra and args.cmd in ("train", "retrain", "greg") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        rc = args.func(args)
        sys.stdout.flush()  # a reader that left (`| head`) shows up here, in the handler below, not at exit
        return rc
    except (*KNOWN_ERRORS, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nmtprune ... | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python would complain again when flushing stdout at exit
        return 141


if __name__ == "__main__":
    sys.exit(main())
