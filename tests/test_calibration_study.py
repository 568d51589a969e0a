"""The ``calibration`` section: calibration sentences, damping and block size as cells of their own, each timed,
and the report's cost section in training epochs (measured cells only; the rest "not run")."""

import json

import pytest

from nmtprune.config import ConfigError
from nmtprune.experiments import ResultStore, load_study, plan
from nmtprune.experiments.grid import expand, model_hash
from nmtprune.report import write_report
from nmtprune.report.collect import collect
from nmtprune.report.methods_calibration import calibration_findings, calibration_section, calibration_target_row

from experiment_helpers import STUDY, sweep, write_study
from report_helpers import eval_metrics, ok

SECTION = """\
calibration:
  scores: [sparsegpt, wanda]
  sparsities: [0.5]
  sentences: [3, 8]
  base_sentences: 8
  damping: [0.001, 0.01]
  block_sizes: [4, 0]
"""


def _braces(text: str) -> str:
    """``text`` for a template that ``str.format`` fills in (YAML flow mappings keep their braces)."""
    return text.replace("{", "{{").replace("}", "}}")


def _ids(path, kind=None):
    st = load_study(path)
    return [c.id for c in expand(st, model_hash(st.model)) if kind is None or c.kind == kind]


def test_the_section_parses_and_its_cells_differ_per_parameter(tmp_path):
    plain = write_study(tmp_path, STUDY, "plain")
    path = tmp_path / "with.yaml"
    path.write_text(plain.read_text() + SECTION, encoding="utf-8")
    cal = load_study(path).calibration
    assert (cal.sentences, cal.damping, cal.block_sizes, cal.base_sentences) == ((3, 8), (0.001, 0.01), (4, 0), 8)
    assert _ids(path, "prune-eval") == _ids(plain, "prune-eval")  # the other cells keep their ids
    assert [i for i in _ids(path) if not i.startswith("calibration_")] == _ids(plain)
    cells = [c for c in plan(load_study(path)) if c.kind == "calibration"]
    names = [c.name for c in cells]
    # sparsegpt: 2 sentence points + 1 other damping + 2 block sizes (the default cell once); wanda: 2 points
    assert names == [
        "calibration_sparsegpt_class-blind_s50_n3_damp0.01_block128",
        "calibration_sparsegpt_class-blind_s50_n8_damp0.01_block128",
        "calibration_sparsegpt_class-blind_s50_n8_damp0.001_block128",
        "calibration_sparsegpt_class-blind_s50_n8_damp0.01_block4",
        "calibration_sparsegpt_class-blind_s50_n8_damp0.01_blockfull",
        "calibration_wanda_class-blind_s50_n3",
        "calibration_wanda_class-blind_s50_n8",
    ]
    assert len({c.digest for c in cells}) == len(cells)
    assert cells[2].params["options"] == {"damp": 0.001, "block_size": 128} and cells[5].params["options"] == {}
    other = tmp_path / "other.yaml"  # another calibration size gives other ids, the rest stay
    other.write_text(path.read_text().replace("sentences: [3, 8]", "sentences: [3, 16]"), encoding="utf-8")
    new = set(_ids(other)) - set(_ids(path))
    assert new and new == {i for i in _ids(other) if "_n16" in i}


@pytest.mark.parametrize(
    "section, key",
    [
        ("calibration: {sentenses: [8]}", "calibration.sentenses"),
        ("calibration: {sentences: [0]}", "calibration.sentences[0]"),
        ("calibration: {sentences: [8.5]}", "calibration.sentences[0]"),
        ("calibration: {damping: [-0.1]}", "calibration.damping[0]"),
        ("calibration: {block_sizes: [-1]}", "calibration.block_sizes[0]"),
        ("calibration: {scores: [magnitude]}", "calibration.scores[0]"),
        ("calibration: {scores: [nope]}", "calibration.scores[0]"),
        ("calibration: {scheme: '2:4'}", "calibration.scheme"),
        ("calibration: {sparsities: [0.0]}", "calibration.sparsities[0]"),
        ("calibration: {scores: [wanda], damping: [0.1]}", "calibration.damping"),
    ],
)
def test_bad_keys_and_values_are_one_line_errors_naming_the_key(tmp_path, section, key):
    path = write_study(tmp_path, STUDY + _braces(section) + "\n", "bad")
    with pytest.raises(ConfigError) as err:
        load_study(path)
    msg = str(err.value)
    assert key in msg and "\n" not in msg, msg


def test_a_calibration_cell_records_its_sentences_options_and_pruning_time(tmp_path):
    section = (
        "calibration: {scores: [sparsegpt, wanda], sparsities: [0.5], sentences: [3], base_sentences: 3, "
        "damping: [], block_sizes: [0]}\n"
    )
    path = write_study(tmp_path, STUDY + _braces(section), "cal")
    sweep(path, tmp_path, only=["calibration"])
    got = {
        r["params"]["score"] + str(r["params"]["options"].get("block_size")): r
        for r in ResultStore(tmp_path / "results" / "cal")
    }
    assert set(got) == {"sparsegpt128", "sparsegpt0", "wandaNone"}
    for r in got.values():
        m = r["metrics"]
        assert r["status"] == "ok", r.get("error")
        assert m["calibration"]["sentences"] == 3 and m["calibration"]["batches"] == 1
        t = m["prune_timing"]
        assert t["seconds"] > 0 and t["threads"] >= 1 and t["epoch_target_tokens"] > 0 and "cpu_flags" in t
        assert 0.4 < m["masks"]["stats"]["overall"]["sparsity"] < 0.6 and "bleu_tok_lc" in m
    # block size 0: one block as wide as the widest matrix ([W_ih W_hh] of a layer: 8 + 8 columns), recorded
    assert got["sparsegpt0"]["metrics"]["calibration"]["options"]["block_size"] >= 16


def _bench(tmp_path, tok_s=1000.0):
    d = tmp_path / "bench"
    d.mkdir(exist_ok=True)
    (d / "train_throughput_x.json").write_text(
        json.dumps(
            {
                "machine": {"cpu_model": "TestCPU", "isa": ["avx2"]},
                "settings": {"threads": 1},
                "systems": {"nmtprune fp32": {"median": tok_s}},
            }
        ),
        encoding="utf-8",
    )
    return d


def test_the_report_section_shows_measured_cells_in_epochs_and_the_rest_as_not_run(tmp_path):
    plain = write_study(tmp_path, "report: methods\n" + STUDY, "toy")
    path = tmp_path / "cal.yaml"
    path.write_text(plain.read_text() + SECTION, encoding="utf-8")
    study = load_study(path)
    store = ResultStore(tmp_path / "results" / "cal")
    timing = {"threads": 1, "cpu": "TestCPU", "cpu_flags": ["avx2"], "cpu_capability": "AVX2", "cores": 2}
    timing.update(loadavg_at_start=[2.0, 2.0, 2.0], epoch_target_tokens=50_000)  # one epoch: 50 s at 1000 tok/s
    made = {  # (score, sentences, damp, block) -> (BLEU, seconds)
        ("sparsegpt", 3, 0.01, 128): (20.0, 5.0),
        ("sparsegpt", 8, 0.01, 128): (25.0, 10.0),
        ("sparsegpt", 8, 0.001, 128): (24.0, 10.0),
        ("sparsegpt", 8, 0.01, 0): (15.0, 20.0),
        ("wanda", 3, None, None): (1.0, 1.0),
        ("wanda", 8, None, None): (2.0, 2.0),
    }
    for cell in plan(study):
        p = cell.params
        if cell.kind == "prune-eval" and p["sparsity"] == 0:
            store.write(cell, ok(eval_metrics(30.0)))
        key = (
            p.get("score"),
            p.get("sentences"),
            p.get("options", {}).get("damp"),
            p.get("options", {}).get("block_size"),
        )
        if cell.kind == "calibration" and key in made:
            bleu, secs = made[key]
            store.write(cell, ok({**eval_metrics(bleu), "prune_timing": {**timing, "seconds": secs}}))
    c = collect(path, tmp_path / "results")
    text = calibration_section(c, tmp_path / "figs", _bench(tmp_path))
    rows = [line for line in text.splitlines() if line.startswith("| SparseGPT") or line.startswith("| Wanda")]
    assert len(rows) == 7
    assert "| SparseGPT | 50 % | 8 | 0.01 | 128 | 25.00 | 25.00 | 10.0 | 0.200 |" in text  # 10 s / 50 s
    assert "| SparseGPT | 50 % | 8 | 0.01 | 4 | not run | – | – | – | – |" in text
    assert "| Wanda | 50 % | 3 | – | – | 1.00 | 49.00 | 1.0 | 0.020 |" in text
    assert "50,000 target tokens at 1000 tok/s" in text
    assert (tmp_path / "figs" / "fig_methods_calibration.png").is_file()
    row = calibration_target_row(c, _bench(tmp_path))
    assert row[1] == "✅ met" and "10.0 s = 0.200 epoch" in row[2]
    assert calibration_target_row(c, _bench(tmp_path, tok_s=10_000.0))[1] == "❌ not met"  # 10 s of a 5 s epoch
    none = calibration_target_row(c, tmp_path / "no-bench")
    assert none[1] == "⏳ not measured" and "no training throughput" in none[2]
    text = calibration_section(c, tmp_path / "figs", tmp_path / "no-bench")
    assert "| 10.0 | no epoch measured on this machine |" in text
    found = calibration_findings(c, "", _bench(tmp_path))
    assert "SparseGPT without retraining, test BLEU by calibration sentences" in found[0] and "25.00 (8)" in found[0]
    assert any("damping at 50 %" in b and "24.00 (0.001), 25.00 (0.01)" in b for b in found)
    assert any("block size at 50 %" in b and "25.00 (128), 15.00 (full)" in b for b in found)  # whole matrix last
    report = write_report(path, tmp_path / "results", tmp_path / "reports").read_text(encoding="utf-8")
    assert "## Cost of the one-shot methods" in report and "test BLEU by calibration sentences" in report
