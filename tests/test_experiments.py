"""Studies, cells, the result store and the sweep: resume after a kill, failures, locks, bad study files.

Everything runs on a tiny untrained model over the toy corpus (tests/data/toy), built in a tmp dir.
"""

import argparse
import contextlib
import dataclasses
import json
import os
import subprocess
import sys

import pytest
import torch

from nmtprune.config import ConfigError, load_config
from nmtprune.experiments import ResultStore, add_cli, expand, load_study, model_hash, plan, run_sweep
from nmtprune.experiments import cells as cells_mod
from nmtprune.experiments import trained as trained_mod
from nmtprune.models import Seq2Seq
from nmtprune.train.checkpoint import save_checkpoint
from nmtprune.train.loop import build_vocabs

from conftest import ROOT, TOY_CONFIG

STUDY = """\
model: {model}
split: test
dev_split: dev
beam: 1
max_sentences: 6
prune_eval:
  sparsities: [0.0, 0.5, 0.9]
  methods:
    - {{score: magnitude, schemes: [class-blind, class-uniform]}}
    - {{score: random, schemes: [class-blind], seeds: [1, 2]}}
class_breakdown: {{sparsity: 0.9, schemes: [class-uniform]}}
where: {{sparsity: 0.8, rank_bins: 4}}
storage: {{sparsities: [0.8]}}
"""


def make_model(path, seed=0):
    """A tiny random Seq2Seq over the toy vocabularies, saved as a checkpoint at ``path``."""
    cfg = load_config(TOY_CONFIG, ["model.hidden=8", "model.emb_dim=8"])
    sv, tv = build_vocabs(cfg)
    mc = cfg.model.__class__(**{**cfg.model.__dict__, "src_vocab_size": len(sv), "tgt_vocab_size": len(tv)})
    cfg = cfg.__class__(data=cfg.data, model=mc, train=cfg.train)
    torch.manual_seed(seed)
    save_checkpoint(path, Seq2Seq(cfg.model), cfg, sv, tv)
    return path


def write_study(tmp_path, template: str, name: str):
    """A study file ``name.yaml`` from ``template`` (``{model}``: a fresh tiny model) in ``tmp_path``."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(template.format(model=make_model(tmp_path / "model")), encoding="utf-8")
    return path


@pytest.fixture
def study(tmp_path):
    return write_study(tmp_path, STUDY, "toy_study")


def sweep(study, tmp_path, **kw):
    return run_sweep(study, results_dir=tmp_path / "results", work_dir=tmp_path / "work", progress=False, **kw)


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


@contextlib.contextmanager
def held(lock):
    """Another process (as a live sweep would) holds ``lock`` until the block ends; then it exits."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import fcntl, sys
fh = open({str(lock)!r}, "a+"); fcntl.flock(fh.fileno(), fcntl.LOCK_EX); print("held", flush=True)
sys.stdin.readline()
""",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate("\n")


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


@pytest.mark.parametrize(
    "edit, key",
    [
        (("score: magnitude,", "score: magnitud,"), "prune_eval.methods[0].score"),
        (("[0.0, 0.5, 0.9]", "[0.0, 1.0]"), "prune_eval.sparsities[1]"),
        (("[0.0, 0.5, 0.9]", "[-0.1]"), "prune_eval.sparsities[0]"),
        (("beam: 1", "beam: five"), "beam"),
        (("beam: 1", "beam: 1\nbeams: 2"), "beams"),
        (("sparsity: 0.8, rank_bins", "sparsity: 0.8, rank_binz"), "where.rank_binz"),
        (("schemes: [class-uniform]", "schemes: [class-uniformm]"), "class_breakdown.schemes[0]"),
        (("split: test", "split: tset"), "split"),
    ],
)
def test_bad_study_file_names_file_and_key(study, edit, key):
    study.write_text(study.read_text().replace(*edit))
    with pytest.raises(ConfigError) as err:
        load_study(study)
    assert str(study) in str(err.value) and key in str(err.value)


def test_missing_model_and_missing_file(study, tmp_path):
    study.write_text(study.read_text().replace(str(tmp_path / "model"), str(tmp_path / "nope")))
    with pytest.raises(ConfigError, match=r"key 'model'.*not a checkpoint directory") as err:
        load_study(study)
    assert str(study) in str(err.value)
    with pytest.raises(ConfigError, match="not found"):
        load_study(tmp_path / "absent.yaml")


def test_shipped_study_files_parse():
    for name in ("see2016", "see2016_quick", "see2016_tatoeba", "saliency", "budget"):
        s = load_study(f"studies/{name}.yaml", check_model=False)
        assert s.name == name and s.prune_eval is not None
    for path in sorted((ROOT / "studies").glob("*.yaml")):  # every shipped study, the unit one included
        load_study(path, check_model=False)
    # the longer budget keeps See et al.'s shape (constant, then halving twice per epoch) over 15 epochs
    from nmtprune.prune.retrain import retrain_config
    from nmtprune.train.checkpoint import load_model

    budget = load_study("studies/budget.yaml", check_model=False).retrain
    cfg = load_model("models/multi30k-en-de")[1]
    short, longer = retrain_config(cfg, 1).train, retrain_config(cfg, 1, budget.overrides).train
    assert (short.epochs, short.decay_start) == (5, 3) and (longer.epochs, longer.decay_start) == (15, 8)
    assert longer.decays_per_epoch == 2 and longer.lr == short.lr and not longer.decay_on_plateau
    # budget_decay reruns budget's gradual 95 % cell with one change: the lr decays from epoch 12, not 8
    late = load_study("studies/budget_decay.yaml", check_model=False).retrain
    later = retrain_config(cfg, 1, late.overrides).train
    assert later.decay_start == 12 and dataclasses.replace(later, decay_start=8) == longer
    assert (late.prune_until, late.scheme, late.scores, late.seeds) == (
        budget.prune_until,
        budget.scheme,
        budget.scores,
        budget.seeds,
    )
    assert late.sparsities == (0.95,) and late.schedules == ("gradual",)
    # budget_long prunes step for step as budget_decay does (7.5 epochs), then keeps the full lr to epoch 22
    from nmtprune.prune.gradual import make_schedule

    long = load_study("studies/budget_long.yaml", check_model=False).retrain
    longest = retrain_config(cfg, 1, long.overrides).train
    assert (longest.epochs, longest.decay_start) == (25, 22)
    for n in (454, 7):  # batches per epoch: Multi30k's, and a small one
        s15 = make_schedule("gradual", 0.95, 15 * n, prune_until=late.prune_until)
        s25 = make_schedule("gradual", 0.95, 25 * n, prune_until=long.prune_until)
        assert [s15(t) for t in range(25 * n)] == [s25(t) for t in range(25 * n)]
        assert s25(int(7.5 * n)) == pytest.approx(0.95)
    assert load_study("studies/see2016_quick.yaml", check_model=False).retrain is None
    full = load_study("studies/see2016.yaml", check_model=False)
    assert len(full.retrain.seeds) >= 3 and full.retrain.dense_continued and full.retrain.scratch


def fake_trainer(seen):
    """Stands in for nmtprune.prune.retrain: writes out/best (the masked start) and a metrics.jsonl."""

    def train(model_dir, *args, seed, overrides=(), resume=False, progress=False):
        from nmtprune.train.checkpoint import load_model

        masks, out = (args[0], args[1]) if len(args) == 2 else (None, args[0])
        seen.append(
            {"resume": resume, "seed": seed, "overrides": list(overrides), "masked": masks is not None, "masks": masks}
        )
        model, cfg, sv, tv = load_model(model_dir)
        if masks is not None:
            masks.apply(model)
        save_checkpoint(out / "best", model, cfg, sv, tv)
        (out / "metrics.jsonl").write_text(
            '{"type": "train", "step": 2, "loss": 3.1}\n'
            '{"type": "dev", "step": 4, "dev_ppl": 20.0, "dev_bleu_tok_lc": 1.0}\n'
        )
        return {"steps": 4}

    return train


def test_trained_cells_with_a_fake_trainer_and_resume(study, tmp_path, monkeypatch):
    study.write_text(
        study.read_text() + "retrain: {sparsities: [0.8], seeds: [1, 2], scratch_seeds: [1], "
        "dense_seeds: [3], overrides: [train.epochs=1]}\nloss_curve: {sparsity: 0.8, seed: 1}\n"
    )
    seen = []
    monkeypatch.setattr(trained_mod, "_trainer", lambda kind: fake_trainer(seen))
    cells = [c for c in plan(load_study(study)) if c.kind in ("retrain", "scratch", "dense-continued")]
    assert sorted(c.kind for c in cells) == ["dense-continued", "retrain", "retrain", "scratch"]  # curve deduped
    resumable = tmp_path / "work" / "toy_study" / cells[0].id / "last"
    resumable.mkdir(parents=True)
    (resumable / "trainer.json").write_text("{}")
    # the interrupted run trained under these masks (not what the cell would select now): it resumes under them
    from nmtprune.experiments.context import Context
    from nmtprune.train.checkpoint import MASKS_FILE

    p = cells[0].params
    saved = Context(load_study(study), tmp_path / "scratch").masks("random", p["scheme"], p["sparsity"], 7)
    saved.save(resumable / MASKS_FILE)
    summary = sweep(study, tmp_path, only=["retrain", "scratch", "dense-continued"])
    assert summary["ok"] == 4
    assert [s["resume"] for s in seen] == [True, False, False, False]
    assert seen[0]["masks"].equal(saved) and not seen[1]["masks"].equal(saved)
    assert seen[0]["overrides"] == ["train.epochs=1"] and [s["masked"] for s in seen] == [True, True, True, False]
    r = ResultStore(tmp_path / "results" / "toy_study").read(cells[0])["metrics"]
    assert r["mask_held"] and r["resumed"] and r["curve"]["train"] == [[2, 3.1]]
    assert r["curve"]["dev"][0][:2] == [4, round(__import__("math").log(20.0), 5)]
    assert r["start"]["pruned_dev_loss"] != r["start"]["dense_dev_loss"]
    assert sweep(study, tmp_path, only=["retrain", "scratch", "dense-continued"])["ran"] == 0 and len(seen) == 4


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


def test_several_scores_and_schedules_expand_to_distinct_cells(study):
    text = study.read_text().replace(
        "class_breakdown: {sparsity: 0.9, schemes: [class-uniform]}",
        "class_breakdown: {sparsity: 0.9, scores: [magnitude, random], schemes: [class-uniform]}",
    )
    text += (
        "retrain: {sparsities: [0.5], scores: [magnitude, random], seeds: [1], "
        "schedules: [one-shot, gradual], scratch: false, dense_continued: false}\n"
    )
    study.write_text(text)
    cells = plan(load_study(study))
    rt = [c for c in cells if c.kind == "retrain"]
    assert sorted((c.params["score"], c.params["schedule"]) for c in rt) == [
        ("magnitude", "gradual"),
        ("magnitude", "one-shot"),
        ("random", "gradual"),
        ("random", "one-shot"),
    ]
    assert all(c.params["prune_until"] == 0.5 for c in rt if c.params["schedule"] == "gradual")
    assert all("prune_until" not in c.params for c in rt if c.params["schedule"] == "one-shot")
    # a data-driven score re-scores at each gradual event: few events (gradual_events); data-free ones every ~1 %
    events = {(c.params["score"], c.params["schedule"]): c.params.get("events") for c in rt}
    assert events[("random", "gradual")] is None and events[("magnitude", "gradual")] is None
    assert events[("random", "one-shot")] is None
    data = text.replace(
        "retrain: {sparsities: [0.5], scores: [magnitude, random]",
        "retrain: {sparsities: [0.5], scores: [magnitude, taylor]",
    )
    study.write_text(data)
    assert {
        (c.params["score"], c.params["schedule"]): c.params.get("events")
        for c in plan(load_study(study))
        if c.kind == "retrain"
    } == {
        ("magnitude", "gradual"): None,
        ("magnitude", "one-shot"): None,
        ("taylor", "gradual"): 10,
        ("taylor", "one-shot"): None,
    }
    study.write_text(data.replace("dense_continued: false}", "dense_continued: false, gradual_events: 4}"))
    assert {c.params.get("events") for c in plan(load_study(study)) if c.kind == "retrain"} == {None, 4}
    study.write_text(text.replace("dense_continued: false}", "dense_continued: false, gradual_events: 0}"))
    with pytest.raises(ConfigError, match=r"retrain.gradual_events.*>= 1"):
        load_study(study)
    cb = [c for c in cells if c.kind == "class-breakdown"]
    assert {c.params["score"] for c in cb} == {"magnitude", "random"} and len({c.id for c in cb}) == len(cb)
    study.write_text(
        text.replace(
            "schedules: [one-shot, gradual]",
            "schedules: [one-shot], scheduled: ['iterative:random'], scratch_scores: [random]",
        ).replace("scratch: false", "scratch: true")
    )
    cells = plan(load_study(study))
    assert sorted((c.params["score"], c.params["schedule"]) for c in cells if c.kind == "retrain") == [
        ("magnitude", "one-shot"),
        ("random", "iterative"),
        ("random", "one-shot"),
    ]
    assert [c.params["score"] for c in cells if c.kind == "scratch"] == ["random"]
    study.write_text(text.replace("schedules: [one-shot, gradual]", "scheduled: ['gradual']"))
    with pytest.raises(ConfigError, match=r"retrain.scheduled\[0\].*SCHEDULE:SCORE"):
        load_study(study)
    study.write_text(text.replace("schedules: [one-shot, gradual]", "schedules: [cubic]"))
    with pytest.raises(ConfigError, match=r"retrain.schedules\[0\].*unknown schedule"):
        load_study(study)


def test_gradual_retrain_cell_evaluates_the_model_at_its_target(study, tmp_path):
    study.write_text(
        study.read_text() + "retrain: {sparsities: [0.5], seeds: [1], schedules: [gradual], "
        "scratch: false, dense_continued: false, overrides: [train.epochs=3]}\n"
    )
    sweep(study, tmp_path, only=["retrain"])
    (result,) = [json.loads(p.read_text()) for p in (tmp_path / "results" / "toy_study").glob("retrain_*.json")]
    m = result["metrics"]
    assert result["status"] == "ok" and m["mask_held"]
    assert m["masks"]["stats"]["overall"]["pruned"] == round(0.5 * m["masks"]["stats"]["overall"]["total"])


def test_random_mask_scratch_control_trains_under_a_random_mask(study, tmp_path, monkeypatch):
    study.write_text(
        study.read_text() + "retrain: {sparsities: [0.8], seeds: [1], scratch_seeds: [2], "
        "scratch_random: [0.8], dense_continued: false}\n"
    )
    seen = []
    monkeypatch.setattr(trained_mod, "_trainer", lambda kind: fake_trainer(seen))
    assert sweep(study, tmp_path, only=["scratch"])["ok"] == 2 and [s["masked"] for s in seen] == [True, True]
    store = ResultStore(tmp_path / "results" / "toy_study")
    got = {c.params["score"]: store.read(c)["metrics"] for c in plan(load_study(study)) if c.kind == "scratch"}
    assert set(got) == {"magnitude", "random"} and all(m["mask_held"] for m in got.values())
    pruned = {k: m["masks"]["stats"]["overall"]["pruned"] for k, m in got.items()}
    assert pruned["random"] == pruned["magnitude"] == round(0.8 * got["random"]["masks"]["stats"]["overall"]["total"])
    # a different mask from magnitude's: the per-class counts differ (random is blind to the weights)
    assert got["random"]["masks"]["stats"] != got["magnitude"]["masks"]["stats"]
