"""Adapted-K (ALGORITHMS.md §2.3) by hand."""

import math

import pytest

from edgesim.fl.adaptive_k import AdaptiveK, default_decay, round_half_up


def test_round_half_up_is_not_bankers_rounding():
    assert round(2.5) == 2 and round_half_up(2.5) == 3
    assert round_half_up(3.5) == 4 and round_half_up(2.49) == 2 and round_half_up(1.0) == 1


def test_default_decay():
    assert default_decay(10, 1) == pytest.approx(math.log(10) / 1000)
    assert default_decay(10, 5, iterations=100) == pytest.approx(math.log(2) / 100)
    assert default_decay(4, 4) == 0.0
    assert AdaptiveK(10, 1, 0.5).decay == default_decay(10, 1)
    for bad in ((3, 4), (3, 0)):
        with pytest.raises(ValueError):
            default_decay(*bad)
        with pytest.raises(ValueError):
            AdaptiveK(*bad, eps_k=0.5)


def test_stays_at_k0_while_loss_above_eps():
    k = AdaptiveK(10, 2, eps_k=0.5)
    assert k.k == 10
    assert [k.update(loss) for loss in (2.0, 1.0, 0.51, float("nan"))] == [10, 10, 10, 10]
    assert k.k_real == 10.0 and not k.decaying


def test_decay_by_hand_with_half_up_rounding():
    # decay ln 2 halves K~ each step: 5 -> 2.5 (K = 3, Python's round would say 2) -> max(2, 1.25) = 2
    k = AdaptiveK(5, 2, eps_k=0.1, decay=math.log(2))
    assert k.update(0.2) == 5
    assert k.update(0.1) == 3  # loss == eps_k counts as below
    assert k.k_real == 2.5 and k.decaying
    assert k.update(0.05) == 2 and k.k_real == 2.0
    assert k.update(0.05) == 2 and k.k_real == 2.0


def test_real_valued_accumulator_reaches_k_min_in_1000_steps():
    k = AdaptiveK(10, 1, eps_k=1.0)
    lam = math.log(10) / 1000
    ks = [k.update(0.5) for _ in range(1000)]
    # K~ = 10 exp(-n lam) < 9.5 first at n = ceil(ln(10/9.5) / lam) = 23
    assert math.log(10 / 9.5) / lam == pytest.approx(22.28, abs=0.01)
    assert ks[21] == 10 and ks[22] == 9
    assert k.k_real == pytest.approx(1.0) and ks[-1] == 1
    assert all(a >= b for a, b in zip(ks, ks[1:]))

    # an integer K updated and rounded every step would differ: half-up rounding stalls at 10 ...
    integer_k = 10
    for _ in range(1000):
        integer_k = max(1, round_half_up(integer_k * math.exp(-lam)))
    assert integer_k == 10
    # ... and truncation collapses to K_min in 9 steps
    truncated, steps = 10, 0
    while truncated > 1:
        truncated, steps = max(1, int(truncated * math.exp(-lam))), steps + 1
    assert steps == 9


def test_never_below_k_min_and_never_rises():
    k = AdaptiveK(8, 3, eps_k=0.5, decay=0.5)
    ks = [k.update(0.1)]
    # the loss rising above eps_k again does not stop the decay nor raise K
    ks += [k.update(loss) for loss in (5.0, 5.0, 0.1, 9.0, 9.0, 9.0)]
    assert ks[0] == round_half_up(8 * math.exp(-0.5)) == 5
    assert ks[1] == round_half_up(8 * math.exp(-1.0)) == 3
    assert ks == [5, 3, 3, 3, 3, 3, 3]
    assert k.k_real == 3.0 and k.decaying
