"""Bad input and failing disks at the command line: one line naming the file, key or option and what was
expected, exit code 1, never a traceback; and outputs that describe what actually ran."""

import errno
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, TOY, TOY_CONFIG
from nmtprune.cli import main
from nmtprune.config import load_config
from nmtprune.train.loop import train

TINY = ["model.hidden=8", "model.emb_dim=8", "train.max_steps=2"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A toy checkpoint trained for two steps (its translations are nonsense, but never empty)."""
    out = tmp_path_factory.mktemp("model") / "run"
    train(load_config(TOY_CONFIG, TINY), out, progress=False)
    return out / "last"


@pytest.fixture(scope="module")
def pruned(model, tmp_path_factory):
    out = tmp_path_factory.mktemp("pruned") / "p50"
    assert main(["prune", str(model), "--sparsity", "0.5", "--out", str(out)]) == 0
    return out


def error_line(capsys, *args) -> str:
    """Run the CLI in-process; it must exit 1 with a single ``error:`` line (an exception would escape)."""
    capsys.readouterr()  # what earlier commands printed
    assert main([str(a) for a in args]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def _small_files(limit: int):
    def setup():  # a write past ``limit`` bytes fails with EFBIG, as one on a full disk fails with ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return setup


def run_on_small_disk(limit: int, *args):
    """The CLI in a subprocess whose files cannot grow past ``limit`` bytes."""
    r = subprocess.run(
        [sys.executable, "-m", "nmtprune", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
        preexec_fn=_small_files(limit),
    )
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: cannot write "), r.stderr
    assert "File too large" in lines[0]
    return lines[0]


# ---------------------------------------------------------------- translate


def translate(capsys, monkeypatch, model, data: bytes, *extra) -> list[str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["translate", str(model), "--beam", "1", "--tokenized", *map(str, extra)]) == 0
    return capsys.readouterr().out.split("\n")[:-1]


def test_translate_keeps_one_output_line_per_input_line(model, capsys, monkeypatch):
    src = "a dog\x0cruns\r\nzwei\u2028drei\u0085vier\n\n   \nlast line without newline"
    out = translate(capsys, monkeypatch, model, src.encode("utf-8"))
    assert len(out) == 5, out
    assert out[2] == out[3] == "" and all(out[i] for i in (0, 1, 4))


def test_translate_gives_empty_lines_for_empty_input_lines(model, tmp_path, capsys, monkeypatch):
    (tmp_path / "in.txt").write_text("a dog\n\n \t \nthe cat\n", encoding="utf-8")
    out = translate(capsys, monkeypatch, model, b"", "--input", tmp_path / "in.txt")
    assert len(out) == 4 and out[1] == out[2] == "" and out[0] and out[3], out
    assert translate(capsys, monkeypatch, model, b"\n\n") == ["", ""]


def test_beam_must_be_positive(model, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a dog\n")))
    assert "--beam must be >= 1" in error_line(capsys, "translate", model, "--beam", "0")
    assert "--beam must be >= 1" in error_line(capsys, "evaluate", model, "--split", "test", "--beam", "0")


# ---------------------------------------------------------------- train: config and data


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.lr=.nan", "key 'lr' must be a finite number, got nan"),
        ("train.lr=.inf", "key 'lr' must be a finite number, got inf"),
        ("train.log_every=0", "key 'train.log_every' must be >= 1, got 0"),
        ("train.clip_norm=-1", "key 'train.clip_norm' must be > 0"),
        ("train.save_every=-1", "key 'train.save_every' must be >= 0, got -1"),
        ("train.max_steps=-1", "key 'train.max_steps' must be >= 0, got -1"),
        ("data.max_len=1", "vocabulary is empty"),
        ("data.min_freq=1000000000", "data.min_freq=1000000000"),
    ],
)
def test_train_rejects_bad_settings_in_one_line(override, message, tmp_path, capsys):
    line = error_line(capsys, "train", TOY_CONFIG, "--out", tmp_path / "r", "--no-progress", *TINY, override)
    assert message in line
    assert not (tmp_path / "r" / "last").exists()


def test_zero_keeps_its_meaning(tmp_path, capsys):
    # save_every 0: a checkpoint only at the end; max_steps 0: no step limit (one toy epoch here)
    assert (
        main(
            [
                "train",
                str(TOY_CONFIG),
                "--out",
                str(tmp_path / "r"),
                "--no-progress",
                "model.hidden=8",
                "model.emb_dim=8",
                "train.epochs=1",
                "train.save_every=0",
                "train.max_steps=0",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["epochs"] == 1


def test_config_file_that_is_not_utf8(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"train: {lr: 0.5}\n# caf\xe9\n")
    assert f"{bad}:2: config file is not valid UTF-8" in error_line(capsys, "train", bad, "--out", tmp_path / "r")


def test_subword_vocabulary_with_no_sentence_left(tmp_path, capsys):
    line = error_line(capsys, "train", TOY_CONFIG, "--out", tmp_path / "r", *TINY, "data.vocab=bpe", "data.max_len=1")
    assert "data.max_len" in line


def test_run_json_describes_the_run_that_trained(model, tmp_path, capsys):
    out = tmp_path / "r"
    error_line(capsys, "train", TOY_CONFIG, "--out", out, "--no-progress", *TINY, "data.dev_split=nosuch")
    assert main(["train", str(TOY_CONFIG), "--out", str(out), "--no-progress", *TINY]) == 0
    assert json.loads((out / "run.json").read_text())["overrides"] == TINY


# ---------------------------------------------------------------- prune, export, masks, checkpoints


@pytest.mark.parametrize("value", ["1.5", "-0.1", "1.0", "nan"])
def test_prune_sparsity_out_of_range(value, model, tmp_path, capsys):
    line = error_line(capsys, "prune", model, f"--sparsity={value}", "--out", tmp_path / "p")
    assert "--sparsity" in line and "0 <= s < 1" in line


def test_prune_bad_options(model, tmp_path, capsys):
    line = error_line(capsys, "prune", model, "--sparsity", "0.5", "--classes", "nosuch", "--out", tmp_path / "p")
    assert "--classes" in line and "nosuch" in line and "src_emb" in line
    line = error_line(
        capsys, "prune", model, "--sparsity", "0.5", "--score", "snip", "--score-batches", "0", "--out", tmp_path / "p"
    )
    assert "--score-batches" in line
    (tmp_path / "file").write_text("x")
    assert "is a file" in error_line(capsys, "prune", model, "--sparsity", "0.5", "--out", tmp_path / "file")


def test_export_refuses_a_used_folder(model, pruned, tmp_path, capsys):
    target = tmp_path / "ckpt"
    shutil.copytree(model, target)
    before = sorted(p.name for p in target.iterdir())
    assert "exists and is not empty" in error_line(capsys, "export", pruned, "--out", target)
    assert sorted(p.name for p in target.iterdir()) == before and not (target / "model.sparse.safetensors").exists()


def test_masks_made_for_another_model(pruned, tmp_path, capsys):
    wide = tmp_path / "wide"
    train(load_config(TOY_CONFIG, TINY[2:]), wide, progress=False)  # hidden 32, not 8
    foreign = pruned / "masks.safetensors"
    line = error_line(
        capsys, "train", TOY_CONFIG, "--out", tmp_path / "r", "--no-progress", "--mask", foreign, "train.max_steps=1"
    )
    assert str(foreign) in line and "another model" in line
    other = tmp_path / "other"
    assert main(["prune", str(wide / "last"), "--sparsity", "0.5", "--out", str(other)]) == 0
    shutil.copy(foreign, other / "masks.safetensors")
    assert "another model" in error_line(capsys, "export", other, "--out", tmp_path / "e")
    assert "another model" in error_line(capsys, "retrain", other, "--out", tmp_path / "rt", "train.max_steps=1")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: f.write_bytes(b"\xff\xfe garbage"), "src.vocab:1: not valid UTF-8"),
        (lambda f: f.write_text("".join(f.read_text().splitlines(keepends=True)[1:])), "must start with"),
        (lambda f: f.write_text("".join(f.read_text().splitlines(keepends=True)[:5])), "5 entries"),
    ],
)
def test_corrupted_vocabulary_is_named(damage, message, model, tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(model, ckpt)
    damage(ckpt / "src.vocab")
    line = error_line(capsys, "info", ckpt)
    assert str(ckpt / "src.vocab") in line and message in line


# ---------------------------------------------------------------- full or read-only disk


def test_training_on_a_full_disk(tmp_path):
    # run.json fits, the first checkpoint does not
    line = run_on_small_disk(4000, "train", TOY_CONFIG, "--out", tmp_path / "r", "--no-progress", *TINY)
    assert str(tmp_path / "r") in line


def test_prune_and_export_on_a_full_disk(model, pruned, tmp_path):
    assert str(tmp_path / "p") in run_on_small_disk(4000, "prune", model, "--sparsity", "0.5", "--out", tmp_path / "p")
    line = run_on_small_disk(4000, "export", pruned, "--out", tmp_path / "e")
    assert str(tmp_path / "e" / "model.sparse.safetensors") in line


def test_hypotheses_on_a_full_disk(model, tmp_path):
    hyps = tmp_path / "hyps.txt"
    assert str(hyps) in run_on_small_disk(1024, "evaluate", model, "--split", "train", "--beam", "1", "--hyps", hyps)


def test_hypotheses_on_a_read_only_disk(model, tmp_path, capsys, monkeypatch):
    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr("pathlib.Path.write_text", read_only)
    line = error_line(capsys, "evaluate", model, "--split", "dev", "--beam", "1", "--hyps", tmp_path / "h.txt")
    assert line == f"error: cannot write {tmp_path / 'h.txt'}: Read-only file system"


STUDY = (
    "model: {model}\nsplit: test\ndev_split: dev\nbeam: 1\nmax_sentences: 6\nwhere: {{sparsity: 0.8, rank_bins: 4}}\n"
)


def test_sweep_on_a_full_disk(model, tmp_path, capsys, monkeypatch):
    study = tmp_path / "toy_study.yaml"
    study.write_text(STUDY.format(model=model), encoding="utf-8")
    args = ["sweep", study, "--results", tmp_path / "results", "--work", tmp_path / "work", "--no-progress"]
    assert "toy_study" in run_on_small_disk(200, *args)  # the result does not fit

    def full(path, obj):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("nmtprune.experiments.store.write_json_atomic", full)
    line = error_line(capsys, *args)
    assert line == f"error: cannot write {tmp_path / 'results' / 'toy_study'}: No space left on device"


def test_only_disk_errors_become_one_line_errors(tmp_path):
    from nmtprune.errors import OutputError, writing

    with pytest.raises(OutputError, match="No space left on device"):
        with writing(tmp_path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with pytest.raises(FileNotFoundError):  # a missing folder is a bug: its traceback stays
        with writing(tmp_path):
            (tmp_path / "no" / "such").write_text("x")
    with pytest.raises(PermissionError):  # a forbidden input is not a failed write
        with writing(tmp_path / "out"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(TOY / "train.en"))
    with pytest.raises(RuntimeError):
        with writing(tmp_path):
            torch.zeros(2) @ torch.zeros(3)
