"""The command line: clear one-line errors and non-zero exits on bad input; the happy path."""

import json
import os
import subprocess
import sys

from conftest import ROOT, TOY_CONFIG


def run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "nmtprune", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=900,
    )


def test_bad_input_gives_clear_errors(tmp_path):
    (tmp_path / "train.en").write_text("a b\nc d\nx\n")
    (tmp_path / "train.de").write_text("a b\nc d\n")
    (tmp_path / "val.en").write_text("a\n")
    (tmp_path / "val.de").write_text("a\n")
    cases = [
        (("train", str(TOY_CONFIG), "--out", str(tmp_path / "r1"), f"data.corpus={tmp_path}"), "line counts differ"),
        (("train", str(TOY_CONFIG), "--out", str(tmp_path / "r2"), "data.corpus=nope"), "unknown corpus 'nope'"),
        (("train", str(TOY_CONFIG), "--out", str(tmp_path / "r3"), "train.optimizer=rmsprop"), "must be one of"),
        (("evaluate", str(tmp_path), "--split", "test"), "no meta.json"),
    ]
    for args, message in cases:
        r = run(*args)
        assert r.returncode == 1, (args, r.stderr)
        assert message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "r1" / "last").exists()


def test_train_translate_evaluate_info(tmp_path):
    out = tmp_path / "run"
    r = run(
        "train",
        str(TOY_CONFIG),
        "--out",
        str(out),
        "--no-progress",
        "train.epochs=60",
        "model.hidden=64",
        "model.emb_dim=64",
        "data.dev_split=train",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["best_dev_bleu_tok_lc"] > 90
    r = run("evaluate", str(out / "best"), "--split", "train", "--json", "--beam", "3")
    metrics = json.loads(r.stdout)
    assert set(metrics) >= {"bleu_tok_lc", "sacrebleu", "sacrebleu_signature", "ppl", "sentences_per_s"}
    assert metrics["bleu_tok_lc"] > 90 and metrics["ppl"] < 1.5
    # what the toy model must do on any CPU: reproduce the pairs it was trained on (an unseen sentence's
    # translation depends on the floating-point kernels, so none is asserted), one output line per input line
    src = (TOY_CONFIG.parent / "toy" / "train.en").read_text(encoding="utf-8").splitlines()[:10]
    ref = (TOY_CONFIG.parent / "toy" / "train.de").read_text(encoding="utf-8").splitlines()[:10]
    r = run("translate", str(out / "best"), "--tokenized", stdin="\n".join(src + ["<script>"]) + "\n")
    hyps = r.stdout.splitlines()
    assert r.returncode == 0 and len(hyps) == 11, r.stderr
    assert sum(h == t for h, t in zip(hyps, ref)) >= 8, list(zip(hyps, ref))
    r = run("info", str(out / "best"), "--json")
    info = json.loads(r.stdout)
    assert [c["class"] for c in info["classes"]][-2:] == ["src_emb", "tgt_emb"]
    assert info["pruned_classes_total"] == sum(c["size"] for c in info["classes"]) < info["all_parameters"]


def test_a_closed_output_pipe_ends_quietly():
    r, w = os.pipe()
    os.close(r)  # the reader has gone before the command writes (as `nmtprune data list | head -0`)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "nmtprune", "data", "list"],
            cwd=ROOT,
            stdout=w,
            stderr=subprocess.PIPE,
            text=True,
            timeout=900,
        )
    finally:
        os.close(w)
    assert proc.returncode == 141 and "Traceback" not in proc.stderr and "Exception" not in proc.stderr
