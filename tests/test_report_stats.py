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


def test_diff_interval_welch_and_single_run():
    from nmtprune.report.stats import diff_interval

    # two seeds' means 1.0 apart, each side spread 0.1: Welch df = 4, t = 2.776, se = sqrt(2 * 0.01 / 3)
    d, lo, hi = diff_interval([30.9, 31.0, 31.1], [29.9, 30.0, 30.1])
    half = 2.776 * (2 * 0.01 / 3) ** 0.5
    assert (d, lo, hi) == pytest.approx((1.0, 1.0 - half, 1.0 + half))
    # one dense run: its spread is taken to be the seeds' (se = s * sqrt(1/3 + 1), df 2, t = 4.303)
    d, lo, hi = diff_interval([30.1, 30.3, 30.5], [30.0])
    assert d == pytest.approx(0.3) and hi - d == pytest.approx(4.303 * 0.2 * (4 / 3) ** 0.5)
    assert diff_interval([30.0], [29.0]) is None and diff_interval([], [1.0, 2.0]) is None


def test_seed_checks_call_a_difference_inside_the_noise_a_tie():
    from nmtprune.report.checks import MET, NOT_MET, TIE, seed_status

    assert seed_status([30.1, 30.3, 30.5], [30.0], 0.0)[0] == TIE  # +0.3 with a ±1.0 interval
    assert seed_status([32.0, 32.1, 32.2], [30.0], 0.0)[0] == MET  # +2.1 ± 0.2
    assert seed_status([27.9, 28.0, 28.1], [30.0], -1.0)[0] == NOT_MET  # 2 below, margin 1
    status, why = seed_status([30.2], [30.0], 0.0)  # one run each: the point decides, and says so
    assert status == MET and "n = 1" in why
