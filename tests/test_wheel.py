"""The package as a user installs it: a wheel built offline from a copy of the sources, installed into a
throwaway environment, runs its CLI and imports its API from outside the source tree.

Offline and cheap: the wheel is built by ``python -m build`` without build isolation (setuptools comes from the running
environment) and installed without dependencies; the throwaway environment sees torch and the other
dependencies through a path entry to this environment's packages, which does not run their ``.pth``
files, so the editable install of the checkout stays out and ``import nmtprune`` must find the wheel's copy.
"""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import ROOT


def _run(*cmd, cwd):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The throwaway environment's bin folder, with the wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy: building in the checkout would leave build/ and egg-info behind
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "nmtprune", src / "nmtprune", ignore=shutil.ignore_patterns("__pycache__"))
    pip = (sys.executable, "-m", "pip")
    # the standard front end, as a release would run it (without isolation: no download of setuptools)
    r = _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp / "dist", src, cwd=tmp)
    assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]
    (wheel,) = (tmp / "dist").glob("nmtprune-*.whl")
    env = tmp / "env"
    r = _run(sys.executable, "-m", "venv", "--without-pip", env, cwd=tmp)
    assert r.returncode == 0, r.stderr[-2000:]
    python = env / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    r = _run(*pip, "--python", python, "install", "--no-deps", "--no-index", "-q", wheel, cwd=tmp)
    assert r.returncode == 0, r.stderr[-2000:]
    return env / "bin"


def test_the_installed_cli_answers_help(installed, tmp_path):
    r = _run(installed / "nmtprune", "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    for command in ("train", "prune", "retrain", "evaluate", "report"):
        assert command in r.stdout


def test_the_public_api_imports_from_the_wheel(installed, tmp_path):
    code = (
        "import nmtprune, nmtprune.api as nmt\n"
        "from nmtprune.prune import run_score, select\n"
        "from nmtprune.train import load_model\n"
        "print(nmtprune.__file__)\n"
        "m = nmt.load(r'%s')\n"
        "print(sum(c['size'] for c in nmt.weight_classes(m).values()))\n" % (ROOT / "models" / "multi30k-en-de")
    )
    r = _run(installed / "python", "-c", code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    where, size = r.stdout.split()
    assert Path(where).is_relative_to(installed.parent) and not Path(where).is_relative_to(ROOT)
    assert int(size) > 0


def test_the_installed_cli_translates_with_a_model_directory_given_by_path(installed, tmp_path):
    """The shipped model, named by an absolute path, translated from outside the source tree (greedy: fast)."""
    r = subprocess.run(
        [str(installed / "nmtprune"), "translate", str(ROOT / "models" / "multi30k-en-de"), "--beam", "1"],
        cwd=tmp_path,
        input="A man is playing a guitar.\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() and "Traceback" not in r.stderr
