"""The random-unit control beside the retrained unit methods draws a new mask per training seed."""

from pathlib import Path

from nmtprune.experiments import load_study
from nmtprune.experiments.grid import expand

ROOT = Path(__file__).resolve().parents[1]


def test_random_unit_retraining_draws_a_mask_per_seed(monkeypatch):
    monkeypatch.chdir(ROOT)  # the study names its compare_with studies relative to the repository
    cells = [c.params for c in expand(load_study("studies/units.yaml", check_model=False), "h")]
    retrain = [p for p in cells if p["kind"] == "unit-retrain" and "ratios" not in p]
    rand = [p for p in retrain if p["score"] == "random-unit"]
    assert sorted(p["train_seed"] for p in rand) == [1, 2, 3]
    assert all(p["seed"] == p["train_seed"] for p in rand)
    assert {p["seed"] for p in retrain if p["score"] == "l1"} == {0}  # a scored mask is the same for every seed
