"""Schedules: hand-computed values, monotone, reach the target exactly, reject bad arguments."""

import pytest

from nmtprune.prune import cubic, iterative, one_shot


def assert_monotone(sched, steps):
    values = [sched(t) for t in steps]
    assert all(a <= b for a, b in zip(values, values[1:]))


def test_one_shot_is_target_from_step_zero():
    s = one_shot(0.8)
    assert s(-1) == 0.0 and s(0) == 0.8 and s(10**6) == 0.8


def test_iterative_equal_increments():
    s = iterative(0.9, 3, steps_per_round=100)
    assert s(-1) == 0.0
    assert s(0) == pytest.approx(0.3) and s(99) == pytest.approx(0.3)
    assert s(100) == pytest.approx(0.6) and s(199) == pytest.approx(0.6)
    assert s(200) == 0.9 and s(10**6) == 0.9  # exactly the target
    assert_monotone(s, range(-5, 400))
    assert [iterative(0.8, 4)(r) for r in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 0.8])


def test_cubic_zhu_gupta_values():
    s = cubic(0.8, start_step=100, end_step=200)
    assert s(0) == 0.0 and s(100) == 0.0
    assert s(150) == pytest.approx(0.8 - 0.8 * 0.5**3)  # 0.7
    assert s(125) == pytest.approx(0.8 - 0.8 * 0.75**3)
    assert s(200) == 0.8 and s(5000) == 0.8
    assert_monotone(s, range(0, 300))
    with_initial = cubic(0.8, 100, 200, initial=0.2)
    assert with_initial(100) == 0.2 and with_initial(150) == pytest.approx(0.8 - 0.6 * 0.125)


def test_cubic_every_holds_between_pruning_events():
    s = cubic(0.9, 0, 100, every=10)
    assert s(15) == s(10) == pytest.approx(0.9 - 0.9 * 0.9**3)
    assert s(19) == s(10) and s(20) > s(19)
    assert_monotone(s, range(0, 120))
    assert s(100) == 0.9


def test_cubic_changes_fast_early_and_slow_late():
    s = cubic(0.9, 0, 100)
    assert s(10) - s(0) > s(100) - s(90)


@pytest.mark.parametrize(
    "make",
    [
        lambda: one_shot(1.0),
        lambda: one_shot(-0.1),
        lambda: iterative(0.5, 0),
        lambda: iterative(0.5, 2, 0),
        lambda: cubic(0.5, 10, 10),
        lambda: cubic(0.5, 0, 10, initial=0.6),
        lambda: cubic(1.2, 0, 10),
        lambda: cubic(0.5, 0, 10, every=0),
    ],
)
def test_bad_arguments_are_errors(make):
    with pytest.raises(ValueError):
        make()
