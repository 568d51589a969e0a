"""``nmtprune sweep STUDY --status``: counts per kind, reusable and half-trained cells, the time estimate;
``--deadline``: only cells that fit."""

import argparse
import datetime as dt
import time

import pytest

from nmtprune.config import ConfigError
from nmtprune.experiments import ResultStore, add_cli, load_study, plan, run_sweep
from nmtprune.experiments import cells as cells_mod
from nmtprune.experiments.estimate import cell_seconds, kind_medians, machine_key, parse_deadline, spent_seconds
from nmtprune.experiments.status import format_status, sweep_status
from nmtprune.provenance import machine

from experiment_helpers import STUDY, held, write_study

RETRAIN = "retrain: {{sparsities: [0.5, 0.8], seeds: [1], scratch: false, dense_continued: false}}\n"
HERE = {"provenance": {"machine": machine()}}  # a result timed on this machine
GPU = {"provenance": {"machine": {**machine(), "gpu": "NVIDIA H200"}}}  # ... and on another kind of machine


def test_status_counts_each_kind_and_estimates_the_rest(tmp_path, capsys):
    path = write_study(tmp_path, STUDY + RETRAIN, "toy")
    results, work = tmp_path / "results", tmp_path / "work"
    cells = plan(load_study(path))
    pe = [c for c in cells if c.kind == "prune-eval"]
    rt = [c for c in cells if c.kind == "retrain"]
    store = ResultStore(results / "toy")
    for c, wall in zip(pe[:3], (60.0, 120.0, 90.0)):
        store.write(c, {"status": "ok", "metrics": {}, "wall_s": wall, **HERE})
    store.write(pe[3], {"status": "failed", "metrics": None, "wall_s": 5.0, **HERE})
    store.write(rt[0], {"status": "ok", "metrics": {"resumed": True}, "wall_s": 10.0, **HERE})  # not a whole run's time
    ResultStore(results / "other").write(pe[4], {"status": "ok", "metrics": {}, "wall_s": 1.0})  # reusable
    (work / "toy" / rt[1].id / "last").mkdir(parents=True)  # a killed sweep's half-trained cell

    st = sweep_status(path, results_dir=results, work_dir=work)
    k = st["kinds"]["prune-eval"]
    assert (k["planned"], k["done"], k["failed"], k["reusable"]) == (len(pe), 3, 1, 1)
    assert k["to_run"] == len(pe) - 4 and k["median_s"] == 90.0 and k["estimate_s"] == 90.0 * k["to_run"]
    r = st["kinds"]["retrain"]
    assert (r["done"], r["partial"], r["to_run"], r["median_s"], r["estimate_s"]) == (1, 1, 1, None, None)
    assert st["estimate_s"] is None and rt[1].id in st["todo"] and pe[4].id not in st["todo"]
    assert pe[3].id in st["todo"]  # failed cells are retried
    assert list(st["kinds"]) == ["prune-eval", "class-breakdown", "where", "storage", "retrain"]  # run order
    only = sweep_status(path, only=["prune-eval"], results_dir=results, work_dir=work)
    assert list(only["kinds"]) == ["prune-eval"] and only["estimate_s"] == 90.0 * k["to_run"]
    text = format_status(only)
    assert "about " in text and "2 min" in text.splitlines()[2] and text.rstrip().endswith(only["todo"][-1])

    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    args = parser.parse_args(
        ["sweep", str(path), "--status", "--only", "prune-eval", "--results", str(results), "--work", str(work)]
    )
    assert args.func(args) == 0
    assert capsys.readouterr().out.strip() == text
    assert not (results / "toy" / f"{pe[5].id}.json").exists()  # --status runs nothing
    assert st["running"] == [] and "(running)" not in text


def test_status_names_the_cells_a_live_sweep_is_running(tmp_path):
    path = write_study(tmp_path, STUDY, "toy")
    work = tmp_path / "work"
    cell = plan(load_study(path), only=["where"])[0]
    with held(work / "toy" / ".locks" / cell.id):
        st = sweep_status(path, results_dir=tmp_path / "results", work_dir=work)
        assert st["running"] == [cell.id] and st["kinds"]["where"]["running"] == 1
        assert f"{cell.id}  (running)" in format_status(st)
    st = sweep_status(path, results_dir=tmp_path / "results", work_dir=work)
    assert st["running"] == [] and cell.id in st["todo"]  # the holder is gone: to run, not running


def test_cell_seconds_counts_a_resumed_run_by_its_cumulative_training_time(tmp_path):
    assert cell_seconds({"wall_s": 70.0, "metrics": {}}) == 70.0
    resumed = {"wall_s": 300.0, "metrics": {"resumed": True, "train_summary": {"wall_s": 3400.0}}}
    assert cell_seconds(resumed) == 3400.0  # not the last segment's 300 s
    assert cell_seconds({"wall_s": 10.0, "metrics": {"resumed": True}}) is None
    assert kind_medians(
        [
            {"status": "ok", "kind": "retrain", **resumed},
            {"status": "failed", "kind": "retrain", "wall_s": 1.0, "metrics": None},
            {"status": "ok", "kind": "retrain", "wall_s": 1000.0, "metrics": {}},
        ]
    ) == {"retrain": 2200.0}
    assert spent_seconds(tmp_path, "cell") == 0.0
    (tmp_path / "cell" / "last").mkdir(parents=True)
    (tmp_path / "cell" / "last" / "trainer.json").write_text('{"step": 200, "wall_s": 306.5}', encoding="utf-8")
    assert spent_seconds(tmp_path, "cell") == 306.5


def test_status_estimate_subtracts_what_a_half_trained_cell_has_spent(tmp_path):
    path = write_study(tmp_path, STUDY + RETRAIN, "toy")
    results, work = tmp_path / "results", tmp_path / "work"
    rt = plan(load_study(path), only=["retrain"])
    ResultStore(results / "toy").write(
        rt[0],
        {"status": "ok", "wall_s": 100.0, **HERE, "metrics": {"resumed": True, "train_summary": {"wall_s": 1000.0}}},
    )
    (work / "toy" / rt[1].id / "last").mkdir(parents=True)
    (work / "toy" / rt[1].id / "last" / "trainer.json").write_text('{"wall_s": 400}', encoding="utf-8")
    k = sweep_status(path, only=["retrain"], results_dir=results, work_dir=work)["kinds"]["retrain"]
    assert (k["median_s"], k["partial"], k["to_run"], k["estimate_s"]) == (1000.0, 1, 1, 600.0)


def test_parse_deadline():
    now = dt.datetime(2026, 12, 4, 16, 40)
    assert parse_deadline("19:10", now) == dt.datetime(2026, 12, 4, 19, 10).timestamp()
    assert parse_deadline("01:00", now) == dt.datetime(2026, 12, 5, 1, 0).timestamp()  # the next 01:00
    assert parse_deadline("2026-12-05T08:30", now) == dt.datetime(2026, 12, 5, 8, 30).timestamp()
    with pytest.raises(ConfigError, match="--deadline 2026-12-04T16:00: that time has passed"):
        parse_deadline("2026-12-04T16:00", now)
    for bad in ("soon", "25:00", "7pm"):
        with pytest.raises(ConfigError, match=r"--deadline .*expected HH:MM or an ISO date-time"):
            parse_deadline(bad, now)


def test_deadline_starts_only_cells_that_fit(tmp_path, monkeypatch):
    path = write_study(tmp_path, STUDY, "toy")
    results, work = tmp_path / "results", tmp_path / "work"
    pe = plan(load_study(path), only=["prune-eval"])
    for c in pe[:2]:  # prune-eval cells take 1,000 s here; no other kind of any study was timed here
        ResultStore(results / "toy").write(c, {"status": "ok", "metrics": {}, "wall_s": 1000.0, **HERE})
    ResultStore(results / "toy").write(pe[3], {"status": "ok", "metrics": {}, "wall_s": 1.0, **GPU})  # elsewhere
    (work / "toy" / pe[2].id / "last").mkdir(parents=True)  # a killed run that needs only 50 s more
    (work / "toy" / pe[2].id / "last" / "trainer.json").write_text('{"wall_s": 950}', encoding="utf-8")
    ran = []
    real = dict(cells_mod.RUNNERS)
    for kind, fn in real.items():
        monkeypatch.setitem(cells_mod.RUNNERS, kind, lambda ctx, cell, fn=fn: ran.append(cell.id) or fn(ctx, cell))
    kw = dict(results_dir=results, work_dir=work, progress=False)
    s = run_sweep(path, deadline=time.time() + 300, **kw)
    # the half-trained cell fits; every other prune-eval cell (1,000 s) and every untimed kind (the
    # longest median stands in: 1,000 s) is left for later
    assert ran == [pe[2].id] and s["ran"] == 1 and s["deferred"] == len(plan(load_study(path))) - 4
    assert s["remaining"] == s["deferred"]
    s = run_sweep(path, only=["where"], deadline=time.time() + 2000, **kw)  # now it fits
    assert s["ran"] == 1 and s["deferred"] == 0
    assert run_sweep(path, only=["storage"], deadline=time.time() + 1e-3, **kw)["ran"] == 0  # nothing fits


def test_deadline_on_the_command_line(tmp_path, capsys):
    path = write_study(tmp_path, STUDY, "toy")
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    args = parser.parse_args(["sweep", str(path), "--deadline", "half past", "--results", str(tmp_path / "r")])
    with pytest.raises(ConfigError, match="--deadline 'half past'"):
        args.func(args)


def test_estimates_count_only_cells_timed_on_this_kind_of_machine(tmp_path):
    path = write_study(tmp_path, STUDY + RETRAIN, "toy")
    results, work = tmp_path / "results", tmp_path / "work"
    rt = plan(load_study(path), only=["retrain"])
    store = ResultStore(results / "toy")
    store.write(rt[0], {"status": "ok", "metrics": {}, "wall_s": 120.0, **GPU})
    k = sweep_status(path, only=["retrain"], results_dir=results, work_dir=work)["kinds"]["retrain"]
    assert k["median_s"] is None  # a GPU's 2 minutes say nothing about this CPU
    on_gpu = machine_key(GPU["provenance"]["machine"])
    assert (
        sweep_status(path, only=["retrain"], results_dir=results, work_dir=work, on=on_gpu)["kinds"]["retrain"][
            "median_s"
        ]
        == 120.0
    )
    assert kind_medians(store) == {"retrain": 120.0} and kind_medians(store, machine_key(machine())) == {}
    assert machine_key(None) is None and machine_key({"cpu": "x", "cores": 2}) == (None, "x", 2, None)
    # one CPU model name, with and without AVX-512 bf16: different machines for a time estimate
    avx2, bf16 = (
        {"cpu": "AMD EPYC", "cores": 2, "cpu_flags": f} for f in (["avx2"], ["avx2", "avx512f", "avx512_bf16"])
    )
    assert machine_key(avx2) != machine_key(bf16)


def test_commit_of_a_tree_copied_without_git(tmp_path, monkeypatch):
    from nmtprune.provenance import git_commit

    monkeypatch.delenv("NMTPRUNE_COMMIT", raising=False)
    assert git_commit(tmp_path) is None  # no repository, nothing said: unknown, never a guess
    monkeypatch.setenv("NMTPRUNE_COMMIT", "770878a")
    assert git_commit(tmp_path) == "770878a"
    assert git_commit() != "770878a"  # inside the repository git itself answers


def test_deadline_estimate_counts_a_slower_method_of_the_same_kind(tmp_path):
    from nmtprune.experiments.estimate import Estimator, method_key, method_medians
    from nmtprune.experiments.grid import Cell

    def res(schedule, wall):
        return {
            "status": "ok",
            "kind": "retrain",
            "wall_s": wall,
            "metrics": {},
            **HERE,
            "params": {
                "kind": "retrain",
                "score": "taylor",
                "schedule": schedule,
                "retraining": "retrain",
                "sparsity": 0.9,
                "train_seed": 1,
            },
        }

    done = [res("one-shot", 2000.0), res("one-shot", 2100.0), res("one-shot", 1900.0), res("gradual", 3600.0)]
    gradual = Cell("retrain_taylor_gradual", {**done[3]["params"], "sparsity": 0.95, "train_seed": 3})
    one_shot = Cell("retrain_taylor", {**done[0]["params"], "train_seed": 3})
    quick = Cell("retrain_magnitude_gradual", {**done[3]["params"], "score": "magnitude"})
    assert method_key(gradual.params) == ("retrain", "taylor", "gradual", "retrain")  # seed, sparsity left out
    assert method_medians(done)[method_key(gradual.params)] == 3600.0
    est = Estimator(done, tmp_path, tmp_path)
    # the kind's median (2,050 s) alone would start a 1-hour cell with 40 minutes left
    assert est.remaining(gradual) == 3600.0 and est.remaining(one_shot) == 2050.0
    done.append({**res("gradual", 500.0), "params": {**quick.params}})  # one fast run on an idle machine...
    est.refresh()
    assert est.remaining(quick) == 2000.0  # ... never lowers a cell below its kind's median
