"""The ``nmtprune`` command: data | train | average | prune | retrain | export | compress | shortlist | prune-units | shrink | translate | evaluate | info | sweep | report | site | video."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["main"]


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

    from .config import ConfigError

    if args.int8 and args.sparse:
        raise ConfigError("--int8 and --sparse: choose one (int8 products are dense; CSR products are fp32)")
    if (Path(args.model) / META_FILE).is_file():
        if args.int8:
            raise ConfigError(f"{args.model}: an export-onnx directory has its precision (export-onnx --int8)")
        if args.sparse:
            raise ConfigError(f"{args.model}: an export-onnx directory decodes as exported; --sparse does not apply")
        model, *rest = load_onnx(args.model, threads=args.threads)
        return (_shortlisted(model, args.shortlist), *rest)
    if args.shortlist and args.sparse:
        raise ConfigError("--shortlist and --sparse: choose one (the shortlist slices the fp32 or int8 softmax layer)")
    model, *rest = load_model(args.model)
    if args.int8:
        from .decode.int8 import int8_model

        model = int8_model(model)
    if args.sparse:
        from .decode.sparse import describe_plan, sparse_model

        if args.threads:  # the products are timed as they will run
            import torch

            torch.set_num_threads(args.threads)
        model = sparse_model(model)
        for line in describe_plan(model.plan):
            print(f"sparse: {line}", file=sys.stderr)
    return (_shortlisted(model, args.shortlist), *rest)


def _shortlisted(model, path):
    """``model`` decoding with the shortlist file ``path`` (``--shortlist``), or as it is without one."""
    if not path:
        return model
    from .decode.shortlist import Shortlist, shortlisted

    return shortlisted(model, Shortlist.load(path), path)


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


def _cmd_shortlist(args) -> int:
    from .api import load, sentences
    from .config import ConfigError
    from .decode.shortlist import build_shortlist

    if args.per_source < 1 or args.frequent < 0:
        raise ConfigError(f"--per-source must be >= 1 and --frequent >= 0, got {args.per_source} and {args.frequent}")
    m = load(args.model)
    data = sentences(m, args.split)
    table = build_shortlist(data.src, data.tgt, len(m.src_vocab), len(m.tgt_vocab), args.per_source, args.frequent)
    table.save(args.out)
    print(
        f"{args.out}: {args.per_source} target words per source word and the {args.frequent} most frequent, "
        f"from {len(data):,d} sentence pairs of {args.split}",
        file=sys.stderr,
    )
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nmtprune", description="Train LSTM attention NMT models and prune them.")
    sub = p.add_subparsers(dest="cmd", required=True)

    from .train.cli import add_cli as add_train_cli

    add_train_cli(sub)

    from .prune.cli import add_cli as add_prune_cli

    add_prune_cli(sub)
    from .prune.units.cli import add_cli as add_units_cli

    add_units_cli(sub)
    from .deploy import add_cli as add_deploy_cli

    add_deploy_cli(sub)

    sl = sub.add_parser("shortlist", help="a target-vocabulary shortlist for --shortlist, from the training data")
    sl.add_argument("model", help="the model directory whose vocabularies it indexes")
    sl.add_argument("--out", required=True, help="the file to write (safetensors)")
    sl.add_argument("--split", default="train", help="the sentence pairs it counts (default %(default)s)")
    sl.add_argument("--per-source", type=int, default=20, help="target words kept per source word (%(default)s)")
    sl.add_argument("--frequent", type=int, default=500, help="most frequent target words always kept (%(default)s)")
    sl.set_defaults(func=_cmd_shortlist)

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
        s.add_argument(
            "--sparse",
            action="store_true",
            help="decoder products as CSR where timing them here shows it pays (decode/sparse.py)",
        )
        s.add_argument(
            "--shortlist",
            metavar="FILE",
            help="the softmax multiplies only the words this file (nmtprune shortlist) gives each batch's sources",
        )
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

    from .data.cli import add_cli as add_data_cli

    add_data_cli(sub)

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
