"""The result store and the sweep: resume after a kill, failures, reuse across studies, locks, stale files, the CLI.

Everything runs on a tiny untrained model over the toy corpus (tests/data/toy), built in a tmp dir.
"""

import argparse
import json
import os
import subprocess
import sys

import pytest

from nmtprune.config import ConfigError
from nmtprune.experiments import ResultStore, add_cli, expand, load_study, model_hash, plan
from nmtprune.experiments import cells as cells_mod

from experiment_helpers import held, study, sweep  # noqa: F401 (study is a fixture)


RUNNERS = dict(cells_mod.RUNNERS)  # the real runners, before any test wraps them


def counting(monkeypatch, calls, fail_after=None, fail_ids=()):
    """Wrap every runner: count calls per cell id; KeyboardInterrupt after ``fail_after`` calls."""
    for kind, fn in RUNNERS.items():

        def wrapped(ctx, cell, fn=fn):
            if fail_after is not None and sum(calls.values()) >= fail_after:
                raise KeyboardInterrupt
            calls[cell.id] = calls.get(cell.id, 0) + 1
            if cell.id in fail_ids:
                raise RuntimeError("boom in " + cell.id)
            return fn(ctx, cell)

        monkeypatch.setitem(cells_mod.RUNNERS, kind, wrapped)


def test_killed_sweep_resumes_and_runs_each_cell_exactly_once(study, tmp_path, monkeypatch):
    cells = plan(load_study(study))
    assert len({c.id for c in cells}) == len(cells) == 1 + 2 * 2 + 2 * 2 + 8 + 1 + 1
    calls = {}
    counting(monkeypatch, calls, fail_after=5)
    with pytest.raises(KeyboardInterrupt):
        sweep(study, tmp_path)
    store = ResultStore(tmp_path / "results" / "toy_study")
    first = {p.name: p.read_bytes() for p in store.root.glob("*.json")}
    assert len(first) == 5 and not list(store.root.glob(".*"))  # complete files only
    counting(monkeypatch, calls)  # resume, uninterrupted
    summary = sweep(study, tmp_path)
    assert summary["busy"] == 0  # the interrupted cell's lock was released
    assert summary["skipped"] == 5 and summary["ran"] == len(cells) - 5 and summary["failed"] == 0
    assert sorted(calls) == sorted(c.id for c in cells) and set(calls.values()) == {1}
    assert all(store.done(c) for c in cells)
    assert len(list(store.root.glob("*.json"))) == len(cells)
    assert all((store.root / name).read_bytes() == data for name, data in first.items())  # untouched
    assert sweep(study, tmp_path)["ran"] == 0  # a third run has nothing left


def test_result_content_and_provenance(study, tmp_path):
    sweep(study, tmp_path, argv=["sweep", str(study)])
    store = ResultStore(tmp_path / "results" / "toy_study")
    by_kind = {}
    for r in store:
        by_kind.setdefault(r["kind"], []).append(r)
    assert all(r["status"] == "ok" for rs in by_kind.values() for r in rs)
    r = next(
        r for r in by_kind["prune-eval"] if r["params"]["sparsity"] == 0.5 and r["params"]["scheme"] == "class-uniform"
    )
    assert r["provenance"]["command"] == f"nmtprune sweep {study}" and r["wall_s"] >= 0
    assert r["params"]["model_hash"] == model_hash(tmp_path / "model")
    stats = r["metrics"]["masks"]["stats"]
    assert all(abs(v["sparsity"] - 0.5) < 0.02 for v in stats.values())  # class-uniform: every class ~50 %
    assert {"bleu_tok_lc", "ppl", "dev_ppl", "sacrebleu_signature"} <= set(r["metrics"])
    assert r["metrics"]["sentences"] == 6  # max_sentences
    # random with two seeds gives two different masks, hence different perplexities
    rnd = [
        x["metrics"]["masks"]["info"]["threshold"]
        for x in by_kind["prune-eval"]
        if x["params"]["score"] == "random" and x["params"]["sparsity"] == 0.9
    ]
    assert len(rnd) == 2
    bd = by_kind["class-breakdown"]
    assert {x["metrics"]["weight_class"] for x in bd} == {
        "src_layer1",
        "src_layer2",
        "tgt_layer1",
        "tgt_layer2",
        "attention",
        "softmax",
        "src_emb",
        "tgt_emb",
    }
    assert all(abs(x["metrics"]["class_sparsity"] - 0.9) < 0.02 for x in bd)
    w = by_kind["where"][0]["metrics"]
    for cls, v in w["lstm"].items():  # gate blocks partition each LSTM class
        assert sum(b["total"] for b in v["blocks"].values()) == w["classes"][cls]["total"]
        assert sum(b["total"] - b["kept"] for b in v["blocks"].values()) == w["classes"][cls]["pruned"]
    assert "g.feed" in w["lstm"]["tgt_layer1"]["blocks"] and "g.feed" not in w["lstm"]["src_layer1"]["blocks"]
    rows = w["rows"]["tgt_emb"]
    assert rows["bins"][0]["rank_lo"] == 1 and rows["bins"][-1]["rank_hi"] == rows["words"]
    st = by_kind["storage"][0]["metrics"]
    assert st["fp32"]["roundtrip_exact"] and st["fp32"]["compressed_bytes"] < st["fp32"]["dense_bytes"]


def test_failed_cell_is_recorded_and_retried(study, tmp_path, monkeypatch):
    target = plan(load_study(study))[2].id
    calls = {}
    counting(monkeypatch, calls, fail_ids={target})
    summary = sweep(study, tmp_path)
    assert summary["failed"] == 1 and summary["ok"] == summary["cells"] - 1  # the sweep went on
    rec = json.loads((tmp_path / "results" / "toy_study" / f"{target}.json").read_text())
    assert rec["status"] == "failed" and "RuntimeError: boom in" in rec["error"] and rec["metrics"] is None
    calls.clear()
    counting(monkeypatch, calls)
    summary = sweep(study, tmp_path)
    assert list(calls) == [target] and summary["ok"] == 1 and summary["failed"] == 0


def test_a_cell_another_study_measured_is_reused_not_rerun(study, tmp_path, monkeypatch):
    # A second study over the same model shares the storage cell (same id) and adds one of its own.
    other = tmp_path / "other.yaml"
    other.write_text(study.read_text().split("prune_eval:")[0] + "storage: {sparsities: [0.8, 0.5]}\n")
    calls = {}
    counting(monkeypatch, calls)
    sweep(study, tmp_path, only=["storage"])
    failed_twin = next(c for c in plan(load_study(other)) if "_s50" in c.id)
    ResultStore(tmp_path / "results" / "toy_study").write(failed_twin, {"status": "failed", "metrics": None})
    calls.clear()
    summary = sweep(other, tmp_path)
    assert summary["reused"] == 1 and summary["ran"] == 1  # a failed twin is no result: that cell runs
    assert list(calls) == [failed_twin.id]
    shared = next(c for c in plan(load_study(other)) if "_s80" in c.id)
    own = ResultStore(tmp_path / "results" / "other").read(shared)
    src = ResultStore(tmp_path / "results" / "toy_study").read(shared)
    assert own["metrics"] == src["metrics"] and own["provenance"] == src["provenance"]
    assert own["study"] == "other" and own["reused_from"]["study"] == "toy_study"
    assert own["reused_from"]["file"].endswith(f"toy_study/{shared.id}.json")
    calls.clear()
    summary = sweep(study, tmp_path, only=["storage"])
    assert summary["skipped"] == 1 and not calls  # its own result counts as done, not as reused
    (tmp_path / "results" / "other" / f"{shared.id}.json").unlink()
    assert sweep(other, tmp_path, reuse=False)["ran"] == 1 and list(calls) == [shared.id]


def test_max_cells_only_and_cell_ids(study, tmp_path):
    s = load_study(study)
    assert [c.id for c in expand(s, "abc")] == [c.id for c in expand(s, "abc")]  # deterministic
    assert not {c.id for c in expand(s, "abc")} & {c.id for c in expand(s, "abd")}  # model hash in every id
    summary = sweep(study, tmp_path, only=["where", "storage"])
    assert summary["cells"] == 2 and summary["ran"] == 2
    summary = sweep(study, tmp_path, only=["prune-eval"], max_cells=2)
    assert summary["ran"] == 2 and summary["remaining"] == 7
    with pytest.raises(ConfigError, match="unknown cell kind"):
        plan(s, only=["prune-evals"])
    picked = plan(s, only=["prune-eval"], match=["s50", "s80"])
    assert picked and all("_s50_" in c.id or "_s80_" in c.id for c in picked)
    assert len(picked) == len([c for c in plan(s, only=["prune-eval"]) if "_s50_" in c.id or "_s80_" in c.id])
    with pytest.raises(ConfigError, match="no cell"):
        plan(s, match=["no-such-cell"])


def test_sweeps_side_by_side_leave_a_busy_cell_to_its_holder(study, tmp_path):
    cells = plan(load_study(study), only=["storage", "where"])
    lock = tmp_path / "work" / "toy_study" / ".locks" / cells[0].id
    store = ResultStore(tmp_path / "results" / "toy_study")
    with held(lock):  # another live sweep is running cells[0]
        summary = sweep(study, tmp_path, only=["storage", "where"])
        assert summary["busy"] == 1 and summary["ran"] == 1 and summary["remaining"] == 0
        assert not store.done(cells[0]) and store.done(cells[1])
    assert lock.exists()  # the holder exited: the OS dropped its lock; the file stays
    summary = sweep(study, tmp_path, only=["storage", "where"])
    assert summary["busy"] == 0 and summary["ran"] == 1 and summary["skipped"] == 1 and store.done(cells[0])


def test_stale_temporary_files_are_cleaned(study, tmp_path):
    root = tmp_path / "results" / "toy_study"
    root.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (root / f".where_x.json.tmp{dead.pid}").write_text("{half")  # a killed writer's
    live = root / f".storage_y.json.tmp{os.getppid()}"  # a live writer's (another sweep, mid-write)
    live.write_text("{half")
    sweep(study, tmp_path, only=["where"])
    assert [p.name for p in root.glob(".*")] == [live.name] and len(list(root.glob("*.json"))) == 1


def test_cli_hooks(study, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    add_cli(sub)
    from nmtprune.report import add_cli as add_report

    add_report(sub)
    args = parser.parse_args(
        [
            "sweep",
            str(study),
            "--only",
            "where",
            "--results",
            str(tmp_path / "r"),
            "--work",
            str(tmp_path / "w"),
            "--no-progress",
        ]
    )
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["ok"] == 1
    args = parser.parse_args(
        ["report", str(study), "--results", str(tmp_path / "r"), "--reports", str(tmp_path / "rep")]
    )
    assert args.func(args) == 0 and (tmp_path / "rep" / "toy_study" / "REPORT.md").is_file()
