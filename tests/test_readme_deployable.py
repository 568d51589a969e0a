"""The README's "Deployable" table is benchmarks/deployable.py's committed result, number for number."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from nmtprune.report.deployable import DEFAULT_DEPLOYABLE, SECTION, deployable_table
from nmtprune.report.summary import BEGIN, END

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / DEFAULT_DEPLOYABLE


def _readme_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text[text.index(BEGIN) : text.index(END)]


@pytest.mark.skipif(not RESULT.is_file(), reason="no deployable benchmark result committed")
def test_the_readme_shows_the_committed_deployable_result():
    block = _readme_block()
    assert deployable_table(RESULT) in block, "README.md's Deployable table is stale: run `nmtprune report --readme`"
    res = json.loads(RESULT.read_text(encoding="utf-8"))
    for r in res["rows"]:
        line = next(x for x in block.splitlines() if x.startswith(f"| {r['variant']} |"))
        for shown in (f"{r['mb']:.2f} MB", f"{r['smaller']:.1f}×", f"{r['faster']:.2f}×", f"{r['bleu_tok_lc']:.2f}"):
            assert shown in line, (r["variant"], shown)
    assert SECTION.split("#")[0] in block and (ROOT / SECTION.split("#")[0]).is_file()


@pytest.mark.skipif(not RESULT.is_file(), reason="no deployable benchmark result committed")
def test_the_committed_result_is_consistent_with_itself():
    """Ratios are the run's own medians against dense fp32's; each status follows from the targets."""
    res = json.loads(RESULT.read_text(encoding="utf-8"))
    base, t = res["rows"][0], res["targets"]
    assert base["variant"] == "dense fp32" and base["faster"] == 1.0 and res["repeats"] >= 3
    for r in res["rows"]:
        assert len(r["beam5_runs"]) == len(r["greedy_latency_runs_ms"]) == res["repeats"]
        assert r["beam5_sentences_per_s"] == round(statistics.median(r["beam5_runs"]), 2)
        assert r["smaller"] == round(res["fp32_dense_safetensors_bytes"] / r["bytes"], 1)
        assert abs(r["faster"] - r["beam5_sentences_per_s"] / base["beam5_sentences_per_s"]) < 0.01
        ok = r["bleu_drop"] <= t["bleu_drop"]
        assert r["meets_size_target"] == (ok and r["smaller"] >= t["smaller"])
        assert r["meets_speed_target"] == (ok and r["faster"] >= t["faster"] and r["latency_lower"] >= t["faster"])
    assert res["any_meets_a_target"] == any(r["meets_size_target"] or r["meets_speed_target"] for r in res["rows"][1:])
    for key in ("cpu", "capability", "threads"):
        assert res["machine"][key]
    assert res["command"].startswith("OMP_NUM_THREADS=") and res["commit"] and res["load_average"]["start"]


def test_no_result_file_gives_no_table(tmp_path):
    assert deployable_table(tmp_path / "deployable.json") is None
