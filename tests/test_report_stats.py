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
