"""A short check of the training paths on the device torch picks (CUDA on a lent GPU machine), run by
scripts/gpu_lanes.sh before its lanes, so a GPU session learns in a minute, not after its first cells
fail, what breaks there. On the shipped reference model:

1. retraining under an 80 % magnitude mask, checkpointed at step 10 and resumed to step 20: the mask
   holds in the weights and the step count is right;
2. iterative pruning re-scored with OBD (Fisher) at step 0, on the training device: a first-order score
   in eval mode, the path cuDNN's RNN refuses unless scoring turns it off;
3. a Hessian-vector-product score (obd-hutchinson) on the device (cuDNN's LSTM has no double backward).

    python scripts/gpu_smoke.py [MODEL] [--steps 20]      # one line per check; exit 1 at the first failure
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from nmtprune.prune import get_score, select, weight_magnitude
from nmtprune.prune.retrain import prune_while_training, retrain
from nmtprune.prune.scores import load_scoring_batches
from nmtprune.train.checkpoint import load_masks, load_model


def _held(model_dir: Path, masks) -> bool:
    """Every pruned position of the checkpoint's weights is exactly zero."""
    model, *_ = load_model(model_dir)
    named = dict(model.named_parameters())
    return all(not bool(named[n].detach()[~m.cpu()].any()) for n, m in masks.items())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="models/multi30k-en-de")
    ap.add_argument("--steps", type=int, default=20, help="retraining steps (checkpoint and resume half-way)")
    ap.add_argument("--batches", type=int, default=2, help="scoring batches for the data-driven scores")
    args = ap.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"gpu_smoke: device {device}, torch {torch.__version__}", flush=True)
    model, cfg, sv, tv = load_model(args.model)
    half = max(1, args.steps // 2)
    common = [f"train.save_every={half}", f"train.log_every={half}"]
    with tempfile.TemporaryDirectory() as tmp:
        checks = []

        def check(name, fn):
            t0 = time.perf_counter()
            try:
                ok, detail = fn()
            except Exception as e:  # report and stop: the traceback is what the session needs
                print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
                raise
            print(
                f"{'ok  ' if ok else 'FAIL'} {name} ({time.perf_counter() - t0:.1f} s){': ' + detail if detail else ''}",
                flush=True,
            )
            checks.append(ok)
            return ok

        masks = select(weight_magnitude(model), model, 0.8, "class-blind")
        out = Path(tmp) / "retrain"

        def retrain_and_resume():
            retrain(args.model, masks, out, seed=1, overrides=common + [f"train.max_steps={half}"])
            s = retrain(
                args.model, masks, out, seed=1, overrides=common + [f"train.max_steps={args.steps}"], resume=True
            )
            held = _held(out / "last", masks)
            return held and s["steps"] == args.steps, f"steps {s['steps']}, mask held {held}"

        batches = load_scoring_batches(cfg, sv, tv, args.batches)
        obd = get_score("obd")

        def iterative_obd():
            out2 = Path(tmp) / "iterative"
            s = prune_while_training(
                args.model,
                out2,
                seed=1,
                target=0.9,
                schedule="iterative",
                rounds=3,
                rescore=lambda m, _step: obd(m, batches=batches),
                overrides=common + ["train.max_steps=2"],
            )
            got = load_masks(out2 / "last")
            kept = [m for _, m in got.items()]
            frac = sum(int((~m).sum()) for m in kept) / sum(m.numel() for m in kept)
            return s["steps"] == 2 and frac > 0.2 and _held(
                out2 / "last", got
            ), f"pruned {frac:.1%} of the masked weights"

        def hutchinson():
            m = model.to(device)
            sc = get_score("obd-hutchinson")(m, batches=batches)
            finite = all(bool(torch.isfinite(v).all()) for v in sc.values())
            return finite, f"{len(sc)} tensors on {next(iter(sc.values())).device}"

        check("retrain under a mask, checkpoint, resume", retrain_and_resume) and check(
            "iterative OBD (Fisher) re-scored on the training device", iterative_obd
        ) and check("Hutchinson OBD (double backward) on the device", hutchinson)
    return 0 if checks and all(checks) and len(checks) == 3 else 1


if __name__ == "__main__":
    sys.exit(main())
