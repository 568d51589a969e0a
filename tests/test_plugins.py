"""Scores from outside the package: a distribution that declares an entry point in the group
``nmtprune.scores`` (here a ``*.dist-info`` folder with ``entry_points.txt`` on sys.path, which is what
``pip install`` leaves behind) is usable by name in ``nmtprune prune``, a study cell, the report and the
site export; a plugin that fails to load is one line naming its entry point."""

import contextlib
import importlib
import json
import sys

import pytest
import torch

from nmtprune.cli import main
from nmtprune.experiments import ResultStore, run_sweep
from nmtprune.models import Seq2Seq
from nmtprune.prune import (
    PluginError,
    ScoreSpec,
    get_score,
    register_score,
    reload_plugins,
    run_score,
    score_names,
    unregister_score,
    weight_magnitude,
)
from nmtprune.report import write_report
from nmtprune.site.export import build_export
from nmtprune.site.schema import validate

from experiment_helpers import make_model

# the third-party module: one score that needs data (one scoring batch), with its words and its paper
PLUGIN = '''\
from nmtprune.prune import Paper, ScoreSpec, prunable


def squared(model, batches=None, **_):
    """w² times a factor read from the scoring batches: a toy that needs data."""
    scale = 1.0 + 0.01 * float(batches[0].src.float().mean())
    return {name: p.detach().square() * scale for _, name, p in prunable(model)}


SPEC = ScoreSpec("squared", squared, n_batches=1, label="Squared (plugin)", site_label="Squared", symbol="w²",
                 text="The square of every weight.", formula=r"\\mathrm{score}(w) = w^2",
                 paper=Paper("Squared (a plugin)", "w², once", "none on record"))
'''
STUDY = """\
model: {model}
split: test
dev_split: dev
beam: 1
max_sentences: 4
report: methods
prune_eval:
  sparsities: [0.0, 0.5]
  methods:
    - {{score: magnitude, schemes: [class-blind]}}
    - {{score: squared, schemes: [class-blind]}}
"""


def distribution(site, name: str, entry: str, source: str = "") -> None:
    """What installing distribution ``name`` leaves in ``site``: its module (``source``) and its metadata."""
    site.mkdir(parents=True, exist_ok=True)
    if source:
        (site / f"{name}.py").write_text(source, encoding="utf-8")
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[nmtprune.scores]\n{entry}\n", encoding="utf-8")


@contextlib.contextmanager
def installed(site):
    """``site`` on sys.path and the plugins read again; afterwards as if it never was."""
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    reload_plugins()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        for mod in [m for m in sys.modules if m.startswith("nmtprune_plugin")]:
            del sys.modules[mod]
        importlib.invalidate_caches()
        reload_plugins()


def test_an_installed_score_is_usable_in_the_cli_a_study_the_report_and_the_site(tmp_path):
    site = tmp_path / "site-packages"
    distribution(site, "nmtprune_plugin_squared", "squared = nmtprune_plugin_squared:SPEC", PLUGIN)
    model = make_model(tmp_path / "model")
    with installed(site):
        spec = get_score("squared")
        assert "squared" in score_names("weight") and spec.needs_data and spec.label == "Squared (plugin)"
        # nmtprune prune --score squared: scored on its one training batch
        assert (
            main(
                [
                    "prune",
                    str(model),
                    "--score",
                    "squared",
                    "--sparsity",
                    "0.5",
                    "--seed",
                    "1",
                    "--out",
                    str(tmp_path / "pruned"),
                ]
            )
            == 0
        )
        rec = json.loads((tmp_path / "pruned" / "prune.json").read_text(encoding="utf-8"))
        assert rec["score"] == "squared" and rec["scoring"]["n_batches"] == 1
        assert abs(rec["stats"]["overall"]["sparsity"] - 0.5) < 0.01
        # a study cell, next to magnitude's
        study = tmp_path / "plugged.yaml"
        study.write_text(STUDY.format(model=model), encoding="utf-8")
        summary = run_sweep(study, results_dir=tmp_path / "results", work_dir=tmp_path / "work", progress=False)
        assert summary["ran"] == 3 and summary["failed"] == 0
        cell = next(r for r in ResultStore(tmp_path / "results" / "plugged") if r["params"]["score"] == "squared")
        assert cell["status"] == "ok" and cell["metrics"]["masks"]["info"]["scoring"]["n_batches"] == 1
        # the report: its curve row and its paper
        report = write_report(study, tmp_path / "results", tmp_path / "reports").read_text(encoding="utf-8")
        assert "| squared |" in report and "| Squared (a plugin) | w², once | none on record |" in report
        # the site export: its words and its methods, from the study's results
        ex = validate(build_export(model, tmp_path / "results", samples=0, progress=lambda *_: None))
        entry = next(s for s in ex["scores"] if s["name"] == "squared")
        assert entry["label"] == "Squared" and entry["text"] == "The square of every weight."
        assert {m["id"] for m in ex["methods"] if m["score"] == "squared"} == {
            "squared/class-blind",
            "squared/class-uniform",
            "squared/class-distribution",
        }
        assert next(m for m in ex["methods"] if m["id"] == "squared/class-blind")["curve"]
    assert "squared" not in score_names()  # uninstalled


def test_a_plugin_that_fails_to_load_is_one_line_naming_its_entry_point(tmp_path, capsys):
    site = tmp_path / "site-packages"
    distribution(site, "nmtprune_plugin_broken", "broken = nmtprune_plugin_missing:SPEC")
    with installed(site):
        with pytest.raises(
            PluginError,
            match=r"entry point 'broken' \(nmtprune_plugin_missing:SPEC, group "
            r"nmtprune.scores\) failed to load: ModuleNotFoundError",
        ):
            score_names()
        assert main(["prune", str(tmp_path), "--sparsity", "0.5", "--out", str(tmp_path / "out")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: entry point 'broken'") and err.count("\n") == 1
    assert "magnitude" in score_names()


def test_register_score_in_a_notebook(tiny_cfg):
    model = Seq2Seq(tiny_cfg)
    with pytest.raises(PluginError, match="'magnitude' is already registered"):
        register_score(ScoreSpec("magnitude", weight_magnitude))
    register_score(ScoreSpec("magnitude-again", weight_magnitude))
    try:
        got, want = run_score("magnitude-again", model), weight_magnitude(model)
        assert list(got) == list(want) and all(torch.equal(got[k], want[k]) for k in want)
        with pytest.raises(ValueError, match="scores on training batches"):  # needs data, none given
            run_score(ScoreSpec("needy", weight_magnitude, n_batches=2), model)
    finally:
        unregister_score("magnitude-again")
    assert "magnitude-again" not in score_names()
    with pytest.raises(PluginError, match="kind must be one of"):
        ScoreSpec("odd", weight_magnitude, kind="layer")


def test_a_control_stays_a_control_through_variant_unless_the_variant_says_otherwise():
    base = ScoreSpec("base", weight_magnitude)
    ctl = base.variant("base-ctl", control_of="base")
    assert base.control_of is None and ctl.control_of == "base"
    assert ctl.variant("base-ctl-b2", n_batches=2).control_of == "base"  # carried
    assert ctl.variant("base-own", control_of=None).control_of is None  # overridden
    assert get_score("sparsegpt-mask").control_of == "sparsegpt" and get_score("sparsegpt").control_of is None
    for bad in ("", "base-ctl", 3):
        with pytest.raises(PluginError, match="control_of must name another score"):
            base.variant("base-ctl", control_of=bad)


def test_register_schedule_reaches_make_schedule_and_studies(tmp_path):
    from nmtprune.experiments import load_study
    from nmtprune.experiments.grid import expand
    from nmtprune.prune import ScheduleSpec, register_schedule, unregister_schedule
    from nmtprune.prune.gradual import make_schedule
    from nmtprune.prune.registry import get_schedule
    from nmtprune.report.summary import schedule_label

    def halfway(target, span, **_):  # all at once, half-way through the pruning stretch
        return lambda step: target if step >= span // 2 else 0.0

    register_schedule(ScheduleSpec("halfway", halfway, "halfway ({rounds} rounds ignored)"))
    try:
        sched = make_schedule("halfway", 0.8, 100, prune_until=0.5)
        assert [sched(t) for t in (0, 24, 25, 99)] == [0.0, 0.0, 0.8, 0.8]
        assert schedule_label("halfway", 3) == "halfway (3 rounds ignored)"
        study = tmp_path / "s.yaml"
        study.write_text(
            STUDY.replace("squared", "random").format(model=make_model(tmp_path / "model"))
            + "retrain: {sparsities: [0.5], schedules: [halfway], scratch: false}\n",
            encoding="utf-8",
        )
        assert load_study(study).retrain.schedules == ("halfway",)
        # what the schedule's spec declares, not its name, decides how its cells are built
        register_schedule(ScheduleSpec("evented", halfway, study_params=("events",)))
        study.write_text(
            study.read_text(encoding="utf-8").replace("schedules: [halfway]", "scheduled: [evented:obd, halfway:obd]"),
            encoding="utf-8",
        )
        cells = [c for c in expand(load_study(study), "h") if c.kind == "retrain"]
        by_schedule = {c.params["schedule"]: c.params for c in cells}
        assert by_schedule["evented"]["events"] == 10 and "events" not in by_schedule["halfway"]
        assert get_schedule("halfway").during_training and not get_schedule("one-shot").during_training
    finally:
        unregister_schedule("halfway")
        unregister_schedule("evented")
    with pytest.raises(PluginError, match="study_params \\['epochs'\\] not among"):
        ScheduleSpec("odd", halfway, study_params=("epochs",))
    with pytest.raises(ValueError, match="unknown schedule 'halfway'"):
        make_schedule("halfway", 0.8, 100)
