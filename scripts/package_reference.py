"""Package a finished training run as a committed reference model under models/<name>/.

    python scripts/package_reference.py runs/multi30k_ref --name multi30k-en-de \
        --splits val test_2016_flickr test_2017_flickr test_2017_mscoco

Writes: model.safetensors (fp16, to stay small; loads into fp32), config.json, vocabularies,
metrics.json (evaluation of *these* fp16 weights on each split, beam 5, plus the training run's
provenance and dev curve), train_log.jsonl (the run's metrics.jsonl) and README.md (model card).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from nmtprune.data.batching import load_split
from nmtprune.metrics.evaluate import evaluate_data
from nmtprune.models.weight_classes import weight_classes
from nmtprune.provenance import provenance
from nmtprune.train.checkpoint import load_model, write_json_atomic


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--name", required=True)
    ap.add_argument("--splits", nargs="+", required=True)
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--models-dir", type=Path, default=Path("models"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-command", help="the training command, when the run folder has no run.json")
    ap.add_argument("--train-commit", help="the commit that trained, when the run folder has no run.json")
    ap.add_argument("--note", help="anything else about how the run went (interruptions, resumes)")
    ap.add_argument(
        "--checkpoint",
        default="best",
        help="which checkpoint of the run to package: best (default), "
        "or e.g. avg3 made by `nmtprune average --run RUN --last 3 --out RUN/avg3`",
    )
    ap.add_argument("--checkpoint-command", help="the command that made --checkpoint (recorded)")
    ap.add_argument(
        "--decode-tuning",
        type=Path,
        help="a scripts/decode_tuning.py JSON for these weights: its "
        "dev-chosen beam/alpha and test scores are added to metrics.json and the card",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    final = args.models_dir / args.name
    with tempfile.TemporaryDirectory(dir=args.models_dir) as tmp:
        tmp = Path(tmp) / args.name
        shutil.copytree(args.run / args.checkpoint, tmp, ignore=shutil.ignore_patterns("trainer.*"))
        averaged = json.loads((tmp / "meta.json").read_text()).get("averaged_from")
        state = load_file(str(tmp / "model.safetensors"))
        save_file(
            {k: v.half().contiguous() for k, v in state.items()},
            str(tmp / "model.safetensors"),
            metadata={"format": "nmtprune-checkpoint", "dtype": "float16"},
        )
        model, cfg, sv, tv = load_model(tmp)
        results = {}
        for split in args.splits:
            data = load_split(cfg.data.corpus, split, cfg.data.src_lang, cfg.data.tgt_lang, cfg.data.lowercase, sv, tv)
            results[split], _ = evaluate_data(model, data, tv, cfg.data.tgt_lang, beam=args.beam)
            print(split, json.dumps(results[split]), file=sys.stderr, flush=True)
        log = (args.run / "metrics.jsonl").read_text(encoding="utf-8")
        dev_curve = [json.loads(line) for line in log.splitlines() if '"type": "dev"' in line]
        train_run = json.loads((args.run / "run.json").read_text()) if (args.run / "run.json").exists() else {}
        if args.train_command:
            train_run.setdefault("command", args.train_command)
        if args.train_commit:
            train_run.setdefault("commit", args.train_commit)
        if args.note:
            train_run["note"] = args.note
        summary = json.loads((args.run / "summary.json").read_text()) if (args.run / "summary.json").exists() else None
        metrics = {
            "name": args.name,
            "train": {"run": train_run, "summary": summary, "seed": cfg.train.seed},
            "package": provenance(["(scripts/package_reference.py)", *sys.argv[1:]]),
            "weights_dtype": "float16",
            "parameters": sum(p.numel() for p in model.parameters()),
            "classes": {c.name: c.numel(model) for c in weight_classes(model)},
            "vocab": {"src": len(sv), "tgt": len(tv)},
            "best_dev_epoch": max(dev_curve, key=lambda r: r["dev_bleu_tok_lc"])["epoch"] if dev_curve else None,
            "dev_curve": dev_curve,
            "checkpoint": {"name": args.checkpoint, "command": args.checkpoint_command, "averaged_from": averaged},
            "eval": results,
        }
        if args.decode_tuning:
            tuning = json.loads(args.decode_tuning.read_text(encoding="utf-8"))
            metrics["decode_tuning"] = {
                "file": str(args.decode_tuning),
                "chosen": tuning["chosen"],
                "dev_split": tuning["dev_split"],
                "test": {s: v["chosen"] for s, v in tuning["test"].items()},
                "command": tuning["provenance"].get("command"),
            }
        write_json_atomic(tmp / "metrics.json", metrics)
        (tmp / "train_log.jsonl").write_text(log, encoding="utf-8")
        (tmp / "README.md").write_text(card(metrics, cfg), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    print(f"wrote {final}", file=sys.stderr)
    return 0


def card(m: dict, cfg) -> str:
    mc, tc, dc = cfg.model, cfg.train, cfg.data
    run = m["train"]["run"] or {}
    rows = "\n".join(
        f"| {s} | {r['bleu_tok_lc']} | {r['sacrebleu']} | {r['ppl']} | {r['sentences_per_s']} |"
        for s, r in m["eval"].items()
    )
    sig = next(iter(m["eval"].values()))["sacrebleu_signature"] if m["eval"] else ""
    wall = (m["train"]["summary"] or {}).get("wall_s")
    ck = m.get("checkpoint") or {}
    weights = (
        f"the average of {len(ck['averaged_from'])} checkpoints ({', '.join(Path(p).name for p in ck['averaged_from'])}), "
        f"made by `{ck.get('command')}`"
        if ck.get("averaged_from")
        else f"the `{ck.get('name', 'best')}` checkpoint"
    )
    return f"""# {m["name"]}

An LSTM encoder-decoder with global attention and input feeding (Luong et al. 2015; the architecture
pruned by See, Luong & Manning 2016), trained with nmtprune. This is the dense reference model the
pruning studies start from.

* Data: `{dc.corpus}` {dc.src_lang}->{dc.tgt_lang}, Moses-tokenised, lowercase={dc.lowercase}, {dc.vocab}-level
  vocabularies ({m["vocab"]["src"]:,} source / {m["vocab"]["tgt"]:,} target entries, min count {dc.min_freq}).
* Model: {mc.enc_layers}+{mc.dec_layers} LSTM layers, hidden {mc.hidden}, embeddings {mc.emb_dim}, `{mc.attention}`
  attention, input feeding {mc.input_feed}, source reversed {mc.reverse_source}, dropout {mc.dropout};
  {m["parameters"]:,} parameters (stored as float16; they load into float32).
* Training: {tc.optimizer} lr {tc.lr}, batch {tc.batch_size} sentences, clip {tc.clip_norm}, bf16 autocast {tc.bf16},
  up to {tc.epochs} epochs, lr x{tc.lr_decay} on dev-perplexity plateau={tc.decay_on_plateau}, early stop after
  {tc.early_stop_patience} epochs without dev BLEU gain; best dev epoch {m["best_dev_epoch"]}; seed {tc.seed}.
  Wall time {wall} s on: {(run.get("machine") or {}).get("cpu", "see metrics.json")}.
* Command: `{run.get("command", "see metrics.json")}` (commit `{run.get("commit")}`). Weights: {weights}.{chr(10) + "* Note: " + run["note"] if run.get("note") else ""}

## Results (beam 5, length-normalised)

| split | BLEU tok-lc | sacreBLEU (cased, detok) | perplexity | sentences/s |
|---|---|---|---|---|
{rows}

{_tuning_rows(m)}BLEU tok-lc is the Multi30k protocol (hypothesis and reference Moses-normalised, tokenised, lowercased).
sacreBLEU signature: `{sig}`. The model writes lowercase text, so the cased score is low by construction.
Speeds were measured on the packaging machine while other work may have been running; see BENCHMARKS.md
for controlled numbers.

## Use

```
nmtprune translate models/{m["name"]} < input.txt
nmtprune evaluate models/{m["name"]} --split {next(iter(m["eval"]), "test")} --json
nmtprune info models/{m["name"]}
```

Limitations: trained on short image captions ({dc.corpus}); expect poor output on other domains.
Data licences: see `data/*/SOURCE.md`.
"""


def _tuning_rows(m: dict) -> str:
    t = m.get("decode_tuning")
    if not t:
        return ""
    c = t["chosen"]
    rows = "\n".join(f"| {s} | {r['bleu_tok_lc']} | {r['sacrebleu']} |" for s, r in t["test"].items())
    return (
        f"With decoding settings chosen on `{t['dev_split']}` only (beam {c['beam']}, alpha {c['alpha']}; "
        f"`{t['file']}`, made by `{t['command']}`):\n\n| split | BLEU tok-lc | sacreBLEU |\n|---|---|---|\n"
        f"{rows}\n\nThe pruning studies decode with beam 5, alpha 1.0 (the table above).\n\n"
    )


if __name__ == "__main__":
    sys.exit(main())
