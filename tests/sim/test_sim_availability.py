"""Availability schedules: daily windows (wrapping midnight, jitter) and hourly probabilities."""

import itertools

import numpy as np
import pytest
from pydantic import ValidationError

from edgesim.sim.availability import (HOUR, AlwaysAvailable, HourlyAvailability, IntervalAvailability,
                                      WindowAvailability)


def first(changes, n):
    return list(itertools.islice(changes, n))


def test_always_available_is_one_change_at_zero():
    assert list(AlwaysAvailable().changes(np.random.default_rng(0), 5.0)) == [(0.0, True)]


def test_night_window_starting_in_the_evening():
    # 22:00-07:00; local time at t=0 is 20:00 -> off; on at 22:00 (2 h), off at 07:00 (11 h), on again 26 h.
    night = WindowAvailability(windows=[(22, 7)])
    got = first(night.changes(np.random.default_rng(0), start_hour=20), 5)
    assert got == [(0.0, False), (2 * HOUR, True), (11 * HOUR, False), (26 * HOUR, True), (35 * HOUR, False)]


def test_night_window_starting_inside_it():
    # 23:00 is inside 22-07: on at 0; off at 07:00 the next morning (8 h); on at 22:00 (23 h).
    night = WindowAvailability(windows=[(22, 7)])
    got = first(night.changes(np.random.default_rng(0), start_hour=23), 3)
    assert got == [(0.0, True), (8 * HOUR, False), (23 * HOUR, True)]


def test_window_starting_at_midnight_and_start_hour_offset():
    # start 03:30, window 22-07: on; off at 07:00 = 3.5 h; on at 22:00 = 18.5 h; off at 31:00 = 27.5 h.
    night = WindowAvailability(windows=[(22, 7)])
    got = first(night.changes(np.random.default_rng(0), start_hour=3.5), 4)
    assert got == [(0.0, True), (3.5 * HOUR, False), (18.5 * HOUR, True), (27.5 * HOUR, False)]


def test_two_windows_and_a_window_ending_at_24():
    # 09-12 and 20-24, start 10:00: on; off 12:00 (2 h); on 20:00 (10 h); off 24:00 (14 h); on 09:00 (23 h).
    windows = WindowAvailability(windows=[(9, 12), (20, 24)])
    got = first(windows.changes(np.random.default_rng(0), start_hour=10), 5)
    assert got == [(0.0, True), (2 * HOUR, False), (10 * HOUR, True), (14 * HOUR, False), (23 * HOUR, True)]


def test_adjacent_windows_do_not_produce_a_spurious_edge():
    # 20-24 and 0-6 are one night 20:00-06:00 -> no change at midnight.
    windows = WindowAvailability(windows=[(20, 24), (0, 6)])
    got = first(windows.changes(np.random.default_rng(0), start_hour=12), 3)
    assert got == [(0.0, False), (8 * HOUR, True), (18 * HOUR, False)]


def test_jitter_shifts_every_edge_by_the_same_device_offset():
    # The device's offset is the rng's first uniform draw in [-jitter, +jitter]; its windows
    # become [22 - shift, 7 - shift] in local time.
    night = WindowAvailability(windows=[(22, 7)], jitter_h=1.5)
    shift = np.random.default_rng(42).uniform(-1.5, 1.5)
    assert abs(shift) > 0.05
    got = first(night.changes(np.random.default_rng(42), start_hour=12), 5)
    expected = [0.0, 22 - shift - 12, 24 + 7 - shift - 12, 48 + 22 - shift - 12 - 24, 48 + 7 - shift - 12]
    assert [t for t, _ in got] == pytest.approx([h * HOUR for h in expected])
    assert [state for _, state in got] == [False, True, False, True, False]
    # a different device draws a different offset, but its window length is still 9 h
    other = first(night.changes(np.random.default_rng(7), start_hour=12), 3)
    assert other[1][0] != pytest.approx(got[1][0])
    assert other[2][0] - other[1][0] == pytest.approx(9 * HOUR)


def test_jitter_can_move_the_state_at_time_zero():
    # start 21:30 with a shift of +0.75 h: the device's window opens at 21:15 -> already on at 0.
    night = WindowAvailability(windows=[(22, 7)], jitter_h=1.0)
    seed = next(s for s in range(100) if np.random.default_rng(s).uniform(-1.0, 1.0) > 0.5)
    shift = np.random.default_rng(seed).uniform(-1.0, 1.0)
    got = first(night.changes(np.random.default_rng(seed), start_hour=21.5), 2)
    assert got == [(0.0, True), (pytest.approx((31 - shift - 21.5) * HOUR), False)]


def test_window_validation():
    with pytest.raises(ValidationError):
        WindowAvailability(windows=[(5, 5)])
    with pytest.raises(ValidationError):
        WindowAvailability(windows=[(22, 25)])
    with pytest.raises(ValidationError):
        WindowAvailability(windows=[])


def test_hourly_zero_one_probabilities_switch_at_exact_hours():
    # available 08:00-18:00 (p=1), otherwise never (p=0); t=0 is 06:30.
    probability = [1.0 if 8 <= h < 18 else 0.0 for h in range(24)]
    hourly = HourlyAvailability(probability=probability)
    got = first(hourly.changes(np.random.default_rng(0), start_hour=6.5), 5)
    assert got == [(0.0, False), (1.5 * HOUR, True), (11.5 * HOUR, False), (25.5 * HOUR, True),
                   (35.5 * HOUR, False)]


def test_hourly_starting_inside_the_on_hours():
    probability = [1.0 if 8 <= h < 18 else 0.0 for h in range(24)]
    hourly = HourlyAvailability(probability=probability)
    got = first(hourly.changes(np.random.default_rng(0), start_hour=17), 3)
    assert got == [(0.0, True), (1 * HOUR, False), (15 * HOUR, True)]


def test_hourly_needs_24_probabilities():
    with pytest.raises(ValidationError):
        HourlyAvailability(probability=[0.5] * 23)


def test_schedules_end_at_the_horizon():
    night = WindowAvailability(windows=[(22, 7)])
    got = list(night.changes(np.random.default_rng(0), start_hour=20, horizon_s=30 * HOUR))
    assert got == [(0.0, False), (2 * HOUR, True), (11 * HOUR, False), (26 * HOUR, True)]
    hourly = HourlyAvailability(probability=[0.5] * 24)
    changes = list(hourly.changes(np.random.default_rng(1), start_hour=0, horizon_s=48 * HOUR))
    assert changes[0][0] == 0.0 and all(t < 48 * HOUR for t, _ in changes)


@pytest.mark.parametrize("schedule, state", [
    (WindowAvailability(windows=[(0, 24)]), True),
    (WindowAvailability(windows=[(0, 12), (12, 24)], jitter_h=2), True),
    (HourlyAvailability(probability=[1.0] * 24), True),
    (HourlyAvailability(probability=[0.0] * 24), False),
])
def test_a_schedule_that_never_changes_ends_after_its_first_state(schedule, state):
    """They used to loop forever looking for a change (the run hung at time 0)."""
    assert list(schedule.changes(np.random.default_rng(0), start_hour=13.5)) == [(0.0, state)]


@pytest.mark.parametrize("probability", [[1e-3] * 24, [0.0] * 23 + [0.05], [0.5] * 24, [0.0] * 24, [1.0] * 24])
@pytest.mark.parametrize("start_hour, horizon_h", [(0, 0.01), (6.5, 5), (23.9, 100), (12, 24 * 40)])
def test_hourly_ever_available_agrees_with_its_schedule(probability, start_hour, horizon_h):
    """The pre-flight's fast answer draws in blocks what the schedule draws one hour at a time."""
    hourly = HourlyAvailability(probability=probability)
    for seed in range(4):
        walked = any(on for _, on in hourly.changes(np.random.default_rng(seed), start_hour, horizon_h * HOUR))
        assert hourly.ever_available(np.random.default_rng(seed), start_hour, horizon_h * HOUR) == walked


def test_trace_intervals_switch_at_their_edges_and_join_where_they_touch():
    schedule = IntervalAvailability(np.array([0.0, 10.0, 20.0, 40.0]), np.array([5.0, 20.0, 25.0, 60.0]))
    assert list(schedule.changes(None, 0.0, 50.0)) == [(0.0, True), (5.0, False), (10.0, True), (25.0, False),
                                                       (40.0, True)]
    assert schedule.ever_available(None, 0.0, 1.0)
    late = IntervalAvailability(np.array([30.0]), np.array([31.0]))
    assert list(late.changes(None, 0.0, 100.0)) == [(0.0, False), (30.0, True), (31.0, False)]
    assert not late.ever_available(None, 0.0, 30.0) and late.ever_available(None, 0.0, 30.5)
    never = IntervalAvailability(np.array([]), np.array([]))
    assert list(never.changes(None, 0.0, 100.0)) == [(0.0, False)] and not never.ever_available(None, 0.0, 1e9)


def test_trace_intervals_repeat_with_their_period_and_are_cut_at_it():
    schedule = IntervalAvailability(np.array([2.0, 8.0]), np.array([5.0, 15.0]), period_s=10.0)  # [8, 15) -> [8, 10)
    assert list(schedule.changes(None, 0.0, 25.0)) == [
        (0.0, False), (2.0, True), (5.0, False), (8.0, True), (10.0, False), (12.0, True), (15.0, False),
        (18.0, True), (20.0, False), (22.0, True)]
    whole = IntervalAvailability(np.array([0.0]), np.array([10.0]), period_s=10.0)
    assert list(whole.changes(None, 0.0, 1e4)) == [(0.0, True)]  # the periods join: always available
