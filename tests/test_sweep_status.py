"""``nmtprune sweep STUDY --status``: counts per kind, reusable and half-trained cells, the time estimate."""
import argparse

from nmtprune.experiments import ResultStore, add_cli, load_study, plan
from nmtprune.experiments.status import format_status, sweep_status

from test_experiments import STUDY, held, write_study

RETRAIN = "retrain: {{sparsities: [0.5, 0.8], seeds: [1], scratch: false, dense_continued: false}}\n"


def test_status_counts_each_kind_and_estimates_the_rest(tmp_path, capsys):
    path = write_study(tmp_path, STUDY + RETRAIN, "toy")
    results, work = tmp_path / "results", tmp_path / "work"
    cells = plan(load_study(path))
    pe = [c for c in cells if c.kind == "prune-eval"]
    rt = [c for c in cells if c.kind == "retrain"]
    store = ResultStore(results / "toy")
    for c, wall in zip(pe[:3], (60.0, 120.0, 90.0)):
        store.write(c, {"status": "ok", "metrics": {}, "wall_s": wall})
    store.write(pe[3], {"status": "failed", "metrics": None, "wall_s": 5.0})
    store.write(rt[0], {"status": "ok", "metrics": {"resumed": True}, "wall_s": 10.0})  # not a whole run's time
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
    args = parser.parse_args(["sweep", str(path), "--status", "--only", "prune-eval", "--results", str(results),
                              "--work", str(work)])
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
