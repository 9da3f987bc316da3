"""Client selection: uniform draws as FedAvg's rule always did; power-of-choice keeps the highest-loss
candidates of its draw, ties and NaN handled by hand-checked rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from edgesim.sim.selection import PowerOfChoice, Selection, UniformSelection

READY = list("abcdefgh")  # stand-ins for devices: selectors only index them and pass them to the losses


def test_uniform_selection_is_the_draw_without_replacement_sorted():
    chosen = UniformSelection().choose(READY, 3, np.random.default_rng(4))
    assert chosen == sorted(int(i) for i in np.random.default_rng(4).choice(8, size=3, replace=False))


def test_power_of_choice_keeps_the_highest_losses_of_its_draw():
    loss = dict(zip(READY, [0.1, 0.9, 0.5, 0.7, 0.2, 0.8, 0.3, 0.6]))
    asked = []

    def losses(devices):
        asked.append(list(devices))
        return [loss[d] for d in devices]

    chosen = PowerOfChoice(kind="power_of_choice", candidates=2).choose(READY, 2, np.random.default_rng(1), losses)
    drawn = [int(i) for i in np.random.default_rng(1).choice(8, size=4, replace=False)]
    assert asked == [[READY[i] for i in drawn]]  # d = ceil(2 * 2) devices probed, in draw order
    assert chosen == sorted(sorted(drawn, key=lambda i: -loss[READY[i]])[:2])


def test_power_of_choice_breaks_ties_by_draw_order_and_ranks_nan_last():
    drawn = [int(i) for i in np.random.default_rng(0).choice(8, size=3, replace=False)]
    values = {drawn[0]: math.nan, drawn[1]: 1.0, drawn[2]: 1.0}
    chosen = PowerOfChoice(kind="power_of_choice", candidates=1.5).choose(
        READY, 2, np.random.default_rng(0), lambda devices: [values[READY.index(d)] for d in devices])
    assert chosen == sorted(drawn[1:])


def test_power_of_choice_draws_at_most_the_ready_devices():
    chosen = PowerOfChoice(kind="power_of_choice", candidates=10).choose(
        READY[:3], 2, np.random.default_rng(0), lambda devices: [READY.index(d) for d in devices])
    assert chosen == [1, 2]


@pytest.mark.parametrize("value", [{"kind": "power_of_choice", "candidates": 0.5}, {"kind": "oort"},
                                   {"kind": "uniform", "candidates": 2}])
def test_bad_selections_are_refused(value):
    with pytest.raises(ValidationError):
        TypeAdapter(Selection).validate_python(value)
