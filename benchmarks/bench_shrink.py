"""CPU decoding speed of a dense model and of its unit-pruned, physically shrunk version, in one run.

The project's target: removing 50 % of the hidden units gives >= 1.8x CPU decoding speed. The shrunk
model is built here from the dense one (unit score ``--score``, ``--fraction`` of every unit group
removed: both tied encoder/decoder layers and the attentional layer h~, see
``nmtprune.prune.units``) and checked to give the masked model's log-probabilities before timing.

Both models decode the same sentences (the first ``--limit`` of ``--split``, or all) exactly as
``nmtprune evaluate`` does (``translate_data``: batches of 64 in length order, fp32), greedy and
beam 5, after one untimed warm-up batch each. Passes alternate dense/shrunk in ABBA order; each
figure is the median of ``--repeats`` passes, the ratio is shrunk / dense.

Two ratios are reported. ``sentences_per_s`` is the end-to-end figure, but a pruned model that was
not retrained writes longer (worse) translations, so it runs more decoder steps for the same
sentences. ``decoder_steps_per_s`` (calls of ``decode_step``, one per batch and time step) measures
the cost of one step at equal work; with ``--shrunk DIR`` (a retrained, shrunk checkpoint: e.g.
``prune-units`` -> ``retrain`` -> ``shrink``) output lengths are comparable and both ratios agree.

Usage (idle machine; the full run takes a few minutes per repeat):
    .venv/bin/python benchmarks/bench_shrink.py models/multi30k-en-de --repeats 3 --threads 2
Writes ``--out`` (default benchmarks/results/shrink.json).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DEFAULT_OUT = REPO / "benchmarks" / "results" / "shrink.json"


def decoder_step_macs(cfg, src_len: float) -> int:
    """Multiply-adds of one decoder step of one hypothesis (the beam-search inner loop).

    Layer 1: 4n_1 (E + A + n_1) (embedding, input feed, recurrence); layer k: 4n_k (n_{k-1} + n_k);
    attention: general score h W_a h_s is precomputed per source word, so S (n_dec) for scores and
    S (n_enc) for the context; W_c: A (n_enc + n_dec); softmax: V A. Gate nonlinearities not counted.
    """
    enc, dec, A, E, V = cfg.enc_sizes, cfg.dec_sizes, cfg.attn_size, cfg.emb_dim, cfg.tgt_vocab_size
    macs = 4 * dec[0] * (E + (A if cfg.input_feed else 0) + dec[0])
    macs += sum(4 * dec[k] * (dec[k - 1] + dec[k]) for k in range(1, len(dec)))
    macs += src_len * (dec[-1] + enc[-1]) + A * (enc[-1] + dec[-1]) + V * A
    return int(macs)


def sizes(model) -> dict:
    from nmtprune.models.weight_classes import weight_classes

    cfg = model.cfg
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "params_lstm_attention_softmax": sum(
            c.numel(model) for c in weight_classes(model) if not c.name.endswith("_emb")
        ),
        "fp32_mb": round(sum(p.numel() for p in model.parameters()) * 4 / 2**20, 2),
        "enc_sizes": list(cfg.enc_sizes),
        "dec_sizes": list(cfg.dec_sizes),
        "attn_size": cfg.attn_size,
    }


class _Counter:
    """Counts calls of a model's ``decode_step`` (set as an instance attribute, so search code uses it)."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)


def _count_steps(model) -> _Counter:
    model.decode_step = _Counter(model.decode_step)
    return model.decode_step


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Decoding sentences/s: dense vs unit-pruned and shrunk.")
    ap.add_argument("model", type=Path, nargs="?", default=REPO / "models" / "multi30k-en-de")
    ap.add_argument("--split", default="test_2016_flickr")
    ap.add_argument("--limit", type=int, default=0, help="decode only the first N sentences (0 = all)")
    ap.add_argument("--score", default="l1", help="unit score (data-free ones: l1, l1-out)")
    ap.add_argument("--fraction", type=float, default=0.5, help="fraction of the units of every group removed")
    ap.add_argument("--beams", type=int, nargs="+", default=[5, 1], help="beam sizes (1 = greedy)")
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--shrunk",
        type=Path,
        help="time this shrunk checkpoint instead of shrinking MODEL here "
        "(e.g. a retrained one); --score/--fraction are then unused",
    )
    ap.add_argument("--bleu", action="store_true", help="also report BLEU of the last pass")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    from decode_throughput import machine_info
    from nmtprune.data.batching import ParallelData, collate, load_split, make_batches
    from nmtprune.metrics.evaluate import bleu_scores, translate_data
    from nmtprune.provenance import git_state
    from nmtprune.prune.units import get_unit_score, select_units, shrink
    from nmtprune.train.checkpoint import load_model

    torch.set_num_threads(args.threads)
    dense, cfg, src_vocab, tgt_vocab = load_model(args.model)
    if args.shrunk:
        small, mask = load_model(args.shrunk)[0], None
    else:
        mask = select_units(get_unit_score(args.score)(dense), dense, args.fraction, "per-layer")
        small = shrink(dense, mask).eval()
    d = cfg.data
    data = load_split(d.corpus, args.split, d.src_lang, d.tgt_lang, d.lowercase, src_vocab, tgt_vocab)
    if args.limit:
        n = min(args.limit, len(data))
        data = ParallelData(
            data.src[:n], data.tgt[:n], data.src_tokens[:n], data.tgt_tokens[:n], data.raw_src[:n], data.raw_tgt[:n]
        )
    diff = None
    if mask is not None:  # the shrunk model must be the masked model, or the timing means nothing
        first = collate(data, make_batches(data, args.batch_size, shuffle=False)[0])
        masked = copy.deepcopy(dense)
        mask.apply(masked)
        with torch.no_grad():
            diff = float(
                (
                    torch.log_softmax(masked(first.src, first.src_len, first.tgt_in), -1)
                    - torch.log_softmax(small(first.src, first.src_len, first.tgt_in), -1)
                )
                .abs()
                .max()
            )
        del masked
    models = {"dense": dense, "shrunk": small}
    steps = {name: _count_steps(model) for name, model in models.items()}
    machine = machine_info()
    if machine["loadavg_at_start"][0] > 0.5:
        print(f"WARNING: load average {machine['loadavg_at_start']} at start: the machine is not idle", file=sys.stderr)
    warm = ParallelData(
        *(getattr(data, f)[: args.batch_size] for f in ("src", "tgt", "src_tokens", "tgt_tokens", "raw_src", "raw_tgt"))
    )
    for model in models.values():  # warm-up (allocator, oneDNN primitives), untimed
        for beam in args.beams:
            translate_data(model, warm, tgt_vocab, beam=beam, batch_size=args.batch_size, alpha=args.alpha)
    runs = {name: {b: [] for b in args.beams} for name in models}
    step_runs = {name: {b: [] for b in args.beams} for name in models}
    hyps: dict = {}
    for rep in range(args.repeats):
        order = list(models) if rep % 2 == 0 else list(reversed(models))
        for name in order:
            for beam in args.beams:
                steps[name].calls = 0
                t0 = time.perf_counter()
                hyps[name, beam] = translate_data(
                    models[name], data, tgt_vocab, beam=beam, batch_size=args.batch_size, alpha=args.alpha
                )
                secs = time.perf_counter() - t0
                runs[name][beam].append(round(len(data) / secs, 2))
                step_runs[name][beam].append(round(steps[name].calls / secs, 2))
                print(
                    f"[{rep + 1}/{args.repeats}] {name} beam {beam}: {len(data) / secs:.1f} sentences/s",
                    file=sys.stderr,
                    flush=True,
                )
    src_len = statistics.mean(len(s) for s in data.src)
    results = {}
    for name, model in models.items():
        entry = {"sizes": sizes(model), "decoder_step_macs": decoder_step_macs(model.cfg, src_len)}
        for beam in args.beams:
            entry[f"beam{beam}"] = {
                "sentences_per_s": runs[name][beam],
                "median_sentences_per_s": statistics.median(runs[name][beam]),
                "decoder_steps_per_s": step_runs[name][beam],
                "median_decoder_steps_per_s": statistics.median(step_runs[name][beam]),
                "mean_output_tokens": round(statistics.mean(len(h) for h in hyps[name, beam]), 2),
            }
            if args.bleu:
                entry[f"beam{beam}"]["bleu"] = bleu_scores(hyps[name, beam], data.raw_tgt, d.tgt_lang)
        results[name] = entry
    ratio, step_ratio = (
        {
            f"beam{b}": round(results["shrunk"][f"beam{b}"][key] / results["dense"][f"beam{b}"][key], 3)
            for b in args.beams
        }
        for key in ("median_sentences_per_s", "median_decoder_steps_per_s")
    )
    result = {
        "benchmark": "shrink",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "git": dict(zip(("commit", "dirty"), git_state())),
        "machine": machine,
        "settings": {
            "model": str(args.model),
            "split": args.split,
            "sentences": len(data),
            "limit": args.limit,
            "shrunk": str(args.shrunk)
            if args.shrunk
            else f"shrunk here: {args.score}, per-layer, fraction {args.fraction}",
            "beams": args.beams,
            "alpha": args.alpha,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
            "threads": args.threads,
            "dtype": "float32",
            "warmup": "one batch per model and beam, untimed",
        },
        "units_kept": mask.kept() if mask else None,
        "max_abs_logprob_diff_shrunk_vs_masked": diff,
        "results": results,
        "speedup_shrunk_over_dense": ratio,
        "speedup_per_decoder_step": step_ratio,
        "theoretical_step_speedup": round(
            results["dense"]["decoder_step_macs"] / results["shrunk"]["decoder_step_macs"], 3
        ),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {
                "speedup_shrunk_over_dense": ratio,
                "speedup_per_decoder_step": step_ratio,
                "theoretical_step_speedup": result["theoretical_step_speedup"],
                "params": {k: v["sizes"]["params"] for k, v in results.items()},
                "max_abs_logprob_diff_shrunk_vs_masked": diff,
            }
        )
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
