"""scripts/snip_batch_ablation.py on a tiny model: the overlaps it writes are consistent, and the
methods report's section renders them."""

import json
import subprocess
import sys

from conftest import ROOT
from experiment_helpers import make_model


def test_snip_batch_ablation_writes_consistent_overlaps(tmp_path):
    model = make_model(tmp_path / "model")
    out = tmp_path / "ab" / "snip_batches.json"
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "snip_batch_ablation.py"),
            "--model",
            str(model),
            "--counts",
            "1",
            "3",
            "--sparsities",
            "0.5",
            "0.8",
            "--draws",
            "2",
            "--batch-size",
            "4",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    assert d["counts"] == [1, 3] and d["command"].startswith("python scripts/snip_batch_ablation.py") and d["commit"]
    for sp, row in d["sparsities"].items():
        assert row["chance_overlap"] == round(1 - float(sp), 4)
        assert set(row["overlap_with_full"]) == {"b1", "b1_draw1", "b1_draw2"}  # the full mask is the reference
        assert set(row["draw_pairs_overlap"]) == {"b1_draw1~b1_draw2"}
        for v in [*row["overlap_with_full"].values(), *row["overlap_with_full_no_emb"].values()]:
            assert 0.0 <= v <= 1.0
        # class-blind: the kept shares, weighted by class size, add up to the kept fraction
        sizes = d["class_weights"]
        assert set(row["class_kept"]) == {"b1", "b3", "b1_draw1", "b1_draw2"}
        for kept in row["class_kept"].values():
            assert abs(sum(kept[c] * n for c, n in sizes.items()) / sum(sizes.values()) - (1 - float(sp))) < 1e-3
    # a single batch of 4 sentences leaves most embedding rows absent, more than 3 batches do
    assert d["absent_rows"]["b1"]["tgt_emb.weight"] >= d["absent_rows"]["b3"]["tgt_emb.weight"] > 0
    assert d["embedding_rows"]["tgt_emb.weight"] > d["absent_rows"]["b1"]["tgt_emb.weight"]

    from nmtprune.report.at_init import snip_batches_section

    text = snip_batches_section(out)
    row80 = d["sparsities"]["0.8"]
    assert (
        f"| 80 % | {row80['chance_overlap_no_emb']['b3']:.3f} | {row80['overlap_with_full_no_emb']['b1']:.3f} |" in text
    )
    assert "_Mask overlaps not measured yet_" in snip_batches_section(tmp_path / "none.json")


def test_snip_batch_ablation_rejects_bad_counts(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "snip_batch_ablation.py"),
            "--counts",
            "10",
            "1",
            "--out",
            str(tmp_path / "x.json"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode != 0 and "--counts" in r.stderr and not (tmp_path / "x.json").exists()
