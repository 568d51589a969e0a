"""The command-line tour (docs/tour.md) and the README's command-line example run as written on this CPU,
whatever its ISA.

Every command of their code blocks is either run here — as written, with only options appended that
make it short (a few training steps, a few scoring batches) and ``runs/`` moved into a temporary folder —
or listed in SKIP with the reason it cannot be. A command in neither fails the test, so a command
added to either is classified before it ships.
"""

import os
import re
import shlex
import subprocess
import sys

from conftest import ROOT

QUICK = "train.max_steps=2 train.save_every=2 train.threads=1 --no-progress"
# tour command (as in the README, its comment removed) -> options appended to make it short
RUN = {
    "nmtprune data list": "",
    "nmtprune info models/multi30k-en-de": "",
    "nmtprune train configs/multi30k_ref.yaml --out runs/m30k": QUICK,
    "nmtprune train configs/multi30k_ref.yaml --out runs/m30k --resume": QUICK.replace("max_steps=2", "max_steps=3"),
    "nmtprune train CONFIG --out runs/m30k --resume train.epochs=40": QUICK.replace("max_steps=2", "max_steps=4"),
    "nmtprune train configs/multi30k_ref.yaml --out runs/x model.hidden=256 train.lr=0.5": QUICK,
    "nmtprune translate models/multi30k-en-de < input.en": "--beam 2",
    "nmtprune prune models/multi30k-en-de --score magnitude --select class-blind --sparsity 0.8 --out runs/p80": "",
    "nmtprune retrain runs/p80 --out runs/p80r --seed 1": QUICK,
    "nmtprune train configs/multi30k_ref.yaml --out runs/scratch80 --mask runs/p80/masks.safetensors": QUICK,
    "nmtprune export runs/p80 --out runs/p80-small --fp16": "",
    "nmtprune compress runs/p80 --out runs/p80-k5 --bits 5": "--level 3",
    "nmtprune prune models/multi30k-en-de --score obd --select class-blind --sparsity 0.9 --out runs/obd90": "--score-batches 2",
    "nmtprune prune models/multi30k-en-de --score sparsegpt --select 2:4 --out runs/sgpt24": "--calib-sentences 16",
    "nmtprune prune-units models/multi30k-en-de --score l1 --fraction 0.5 --out runs/u50": "",
    "nmtprune shrink runs/u50 --out runs/u50-small": "",
    "nmtprune translate runs/u50-small --int8 < input.en": "--beam 2",
    "nmtprune export-onnx runs/u50-small --out runs/u50-onnx --int8": "",
    "nmtprune translate runs/u50-onnx < input.en": "--beam 2",
    "nmtprune sweep studies/see2016.yaml --status": "",
}
SKIP = {
    "nmtprune evaluate runs/p80 --split test_2016_flickr": "decodes 1,000 sentences; tests/test_cli.py runs evaluate",
    "nmtprune average --run runs/m30k --last 3 --out runs/m30k/avg3": "needs three finished epochs",
    "torchrun --nproc_per_node 2 -m nmtprune train CONFIG --out DIR": "tests/test_train.py runs DDP on the toy model",
    "nmtprune evaluate models/multi30k-en-de --split test_2016_flickr --json": "decodes 1,000 sentences; "
    "tests/test_cli.py runs evaluate",
    "nmtprune data download iwslt15-en-vi": "needs the network; tests/test_download.py uses a local server",
    "nmtprune greg models/multi30k-en-de --mode greg-1 --fraction 0.5 --out runs/g50": "a penalty phase of "
    "thousands of steps; tests/test_units.py runs GReg on a toy model",
    "nmtprune sweep studies/see2016.yaml && nmtprune report studies/see2016.yaml": "CPU-hours of cells",
    "nmtprune sweep studies/see2016.yaml --only retrain --match s80 s90 --max-cells 2": "hours of retraining",
    "nmtprune sweep studies/see2016.yaml --only retrain --threads 1 &": "hours of retraining",
    "nmtprune sweep studies/see2016.yaml --only retrain --deadline 19:10": "hours of retraining",
    "scripts/cpu_lanes.sh 2": "hours of retraining",
    "DEADLINE=19:10 scripts/cpu_lanes.sh 2": "hours of retraining",
    "scripts/gpu_slim.sh on multi30k-en-de": "for a lent GPU machine",
    "scripts/gpu_lanes.sh 6 9 12 studies/saliency.yaml:retrain": "for a lent GPU machine",
    "nmtprune sweep studies/units.yaml && nmtprune report studies/units.yaml": "CPU-hours of cells",
    "nmtprune report --readme README.md": "rewrites README.md; tests/test_readme_results.py checks its output",
    "scripts/reports.sh": "rewrites the committed reports; tests/test_report.py covers them",
    "nmtprune site --out site-out && python -m http.server -d site-out": "serves until stopped; "
    "tests/test_site.py builds the site",
    "nmtprune video --method magnitude/class-blind --out magnitude.mp4": "minutes of rendering; "
    "tests/test_site.py renders a short one",
    "nmtprune sweep studies/site.yaml --only site-frames --threads 1": "an hour of real training; "
    "tests/test_site_frames_cells.py sweeps such cells small",
}


# (file, the heading its code block follows): the docs' full tour, then the README's five-line example
SOURCES = (("docs/tour.md", "## A short tour"), ("README.md", "## On the command line"))


def block_commands(path: str, heading: str) -> list[str]:
    """The command lines of the first code block after ``heading`` in ``path``, comments removed, in order."""
    text = (ROOT / path).read_text(encoding="utf-8")
    block = text[text.index(heading) :]
    block = block[block.index("```") + 3 :]
    block = block[: block.index("```")]
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def tour_commands() -> list[str]:
    """Every command of the tour and of the README's example, each once, in order."""
    return list(dict.fromkeys(c for path, heading in SOURCES for c in block_commands(path, heading)))


def test_every_tour_command_is_run_or_skipped_with_a_reason():
    unknown = [c for c in tour_commands() if c not in RUN and c not in SKIP]
    assert not unknown, f"tour commands this test does not know (add them to RUN or SKIP): {unknown}"
    assert len(block_commands("README.md", "## On the command line")) == 5  # the README's example stays short


def test_the_tour_runs_as_written(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for command in (c for c in tour_commands() if c in RUN):
        line, _, stdin_file = command.partition(" < ")
        line = line.replace("CONFIG", "configs/multi30k_ref.yaml").replace("runs/", f"{tmp_path}/runs/")
        argv = shlex.split(line) + shlex.split(RUN[command])
        stdin = "A man is playing a guitar.\n\nTwo dogs run through the snow.\n" if stdin_file else None
        r = subprocess.run(
            [sys.executable, "-m", "nmtprune", *argv[1:]],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert r.returncode == 0, f"{command}\n{r.stderr[-2000:]}"
        assert "Traceback" not in r.stderr, f"{command}\n{r.stderr[-2000:]}"
    meta = (tmp_path / "runs" / "p80r" / "last" / "meta.json").read_text(encoding="utf-8")
    assert '"precision"' in meta  # what the retraining ran in is recorded
