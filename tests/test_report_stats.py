"""Holm's correction as the reports use it."""

import pytest

from nmtprune.report.stats import holm


def test_holm_matches_the_step_down_definition():
    got = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.5})
    # sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1 = 0.04, 0.09, 0.08 -> 0.09 (monotone), 0.5
    assert got == pytest.approx({"a": 0.04, "c": 0.09, "b": 0.09, "d": 0.5})
    assert holm({"x": 0.6, "y": 0.7}) == pytest.approx({"x": 1.0, "y": 1.0})
    assert holm({}) == {} and holm({"only": 0.02}) == {"only": 0.02}


def test_a_family_of_sixteen_null_tests_rarely_survives():
    ps = {i: 0.04 for i in range(16)}  # each "significant" alone, none after the correction
    assert all(p > 0.05 for p in holm(ps).values())


def test_rank_corr_permutation_p_is_exact_for_few_points():
    from nmtprune.report.stats import rank_corr, rank_corr_p

    xs = [1, 2, 3, 4]
    assert rank_corr(xs, [10, 20, 30, 40]) == pytest.approx(1.0)
    assert rank_corr_p(xs, [10, 20, 30, 40]) == pytest.approx(1 / 24)  # only the identity pairing reaches ρ = 1
    assert rank_corr_p(xs, [40, 30, 20, 10]) == pytest.approx(1.0)  # every pairing reaches ρ = -1
    many = list(range(12))
    assert rank_corr_p(many, many) == rank_corr_p(many, many) < 0.001  # sampled, seeded: the same every run
