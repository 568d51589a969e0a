"""Where cells say how many of a method's pruned weights magnitude's mask prunes too."""

import torch

from experiment_helpers import STUDY, sweep, write_study
from nmtprune.experiments import ResultStore, load_study, plan
from nmtprune.experiments.context import Context
from nmtprune.experiments.where import mask_overlap
from nmtprune.report.collect import collect
from nmtprune.report.methods_where import _where_section


def test_overlap_with_magnitude_is_counted_per_class_against_chance(tmp_path):
    text = STUDY.replace(
        "where: {{sparsity: 0.8, rank_bins: 4}}", "where: {{sparsity: 0.8, rank_bins: 4, scores: [magnitude, random]}}"
    )
    study = write_study(tmp_path, text, "overlap")
    assert sweep(study, tmp_path, only=["where"])["failed"] == 0
    st = load_study(study)
    cells = {c.params["score"]: c for c in plan(st) if c.kind == "where"}
    store = ResultStore(tmp_path / "results" / "overlap")
    rand = store.read(cells["random"])["metrics"]["overlap_with_magnitude"]
    assert "overlap_with_magnitude" not in store.read(cells["magnitude"])["metrics"]
    ctx = Context(st, tmp_path / "ctx")
    mine, ref = ctx.masks("random", "class-blind", 0.8, 0), ctx.masks("magnitude", "class-blind", 0.8, 0)
    here = torch.cat([~mine[n].flatten() for n in mine.masks])
    there = torch.cat([~ref[n].flatten() for n in mine.masks])
    assert rand["overall"]["shared"] == round(float((here & there).sum() / here.sum()), 4)
    assert rand["overall"]["chance"] == round(float(there.float().mean()), 4)
    same = mask_overlap(ctx.dense(), ref, ref)  # a mask shares all its pruned weights with itself
    assert all(v["shared"] in (None, 1.0) for v in same.values())
    section = _where_section(collect(study, tmp_path / "results"))
    assert "How many of each method's pruned weights magnitude's class-blind mask at 80 % prunes too" in section
    assert f"{100 * rand['overall']['shared']:.1f} ({100 * rand['overall']['chance']:.1f})" in section
