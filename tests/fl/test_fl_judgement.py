"""Judgement (ALGORITHMS.md §2.5): EWMA stability test by hand."""

import pytest

from edgesim.fl.judgement import Judgement


def test_ewma_with_default_smoothing():
    j = Judgement()
    assert (j.d1, j.d2, j.eps_m, j.theta0, j.warmup, j.update_on_reject) == (0.9, 0.9, 0.003, 0.005, 10, False)
    assert j.a_hat is None and j.dev == 0.0
    assert j.observe(1, 0.5) is False
    assert (j.a_hat, j.dev) == (0.5, 0.0)  # initialised with the first accuracy, Dev = 0
    j.observe(2, 0.6)
    assert j.a_hat == pytest.approx(0.51) and j.dev == pytest.approx(0.01)
    j.observe(3, 0.7)
    # A_hat = 0.9 * 0.51 + 0.1 * 0.7; Dev = 0.9 * 0.01 + 0.1 * |0.7 - 0.51| (against A_hat before the update)
    assert j.a_hat == pytest.approx(0.529) and j.dev == pytest.approx(0.028)
    assert j.observations == 3 and j.keeps == 0 and j.start_iteration is None


def test_hand_worked_sequence():
    j = Judgement(d1=0.5, d2=0.5, eps_m=0.1, theta0=0.05, warmup=2)
    assert j.observe(1, 0.80) is False
    # one earlier observation < warmup: no test although Dev = 0 < eps_m
    assert j.observe(2, 0.90) is False
    assert j.start_iteration is None
    assert j.a_hat == pytest.approx(0.85) and j.dev == pytest.approx(0.05)
    # two earlier observations, Dev 0.05 < 0.1: the test starts, j = 3, theta = 0.05 * 3/3; 0.86 >= 0.85 - 0.05
    assert j.observe(3, 0.86) is False
    assert j.start_iteration == 3 and j.last_tolerance == pytest.approx(0.05)
    assert j.a_hat == pytest.approx(0.855) and j.dev == pytest.approx(0.03)
    # t = 6: theta = 0.05 * 3/6 = 0.025; 0.82 < 0.855 - 0.025 = 0.83 -> keep the previous model
    assert j.observe(6, 0.82) is True
    assert j.keeps == 1 and j.last_tolerance == pytest.approx(0.025)
    # the rejected accuracy is not fed into the estimates
    assert j.a_hat == pytest.approx(0.855) and j.dev == pytest.approx(0.03)
    # t = 7: theta = 0.05 * 3/7; 0.84 >= 0.855 - 0.0214 = 0.8336 -> accepted; j stays 3
    assert j.observe(7, 0.84) is False
    assert j.start_iteration == 3 and j.last_tolerance == pytest.approx(0.05 * 3 / 7)
    assert j.a_hat == pytest.approx(0.8475) and j.dev == pytest.approx(0.0225)
    assert j.keeps == 1 and j.observations == 5


def test_update_on_reject_feeds_the_rejected_accuracy():
    j = Judgement(d1=0.5, d2=0.5, eps_m=0.1, theta0=0.05, warmup=2, update_on_reject=True)
    for t, a in ((1, 0.80), (2, 0.90), (3, 0.86)):
        j.observe(t, a)
    assert j.observe(6, 0.82) is True and j.keeps == 1
    assert j.a_hat == pytest.approx(0.5 * 0.855 + 0.5 * 0.82)
    assert j.dev == pytest.approx(0.5 * 0.03 + 0.5 * 0.035)


def test_keep_exactly_when_below_estimate_minus_tolerance():
    # binary-exact numbers: A_hat 0.5, theta0 0.25, test from t = 2 (j = 2)
    def started():
        j = Judgement(d1=0.5, d2=0.5, eps_m=1.0, theta0=0.25, warmup=1)
        j.observe(1, 0.5)
        return j

    j = started()
    assert j.observe(2, 0.25) is False  # A == A_hat_prev - theta: not a drop
    assert j.start_iteration == 2 and (j.a_hat, j.dev) == (0.375, 0.125)
    assert j.observe(4, 0.25) is False  # theta = 0.25 * 2/4 = 0.125; 0.25 == 0.375 - 0.125
    assert j.a_hat == 0.3125
    assert j.observe(8, 0.24) is True  # theta = 0.25 * 2/8 = 0.0625; 0.24 < 0.3125 - 0.0625 = 0.25
    assert j.a_hat == 0.3125
    assert j.keeps == 1
    j = started()
    assert j.observe(2, 0.2499) is True and j.keeps == 1 and j.start_iteration == 2


def test_default_warmup_start_iteration_and_tolerance():
    j = Judgement()
    for t in range(1, 11):
        assert j.observe(t, 0.9) is False
    assert j.start_iteration is None  # ten observations of warm-up, no test yet
    with pytest.raises(ValueError):
        j.tolerance(11)
    assert j.observe(11, 0.9) is False
    assert j.start_iteration == 11 and j.tolerance(11) == pytest.approx(0.005)
    # t = 22: theta = 0.005 * 11/22 = 0.0025
    assert j.tolerance(22) == pytest.approx(0.0025)
    assert j.observe(22, 0.9 - 0.0024) is False
    assert j.observe(23, 0.9) is False
    a_hat = j.a_hat
    # theta at 44 = 0.00125
    assert j.observe(44, a_hat - 0.0013) is True and j.keeps == 1
    assert j.a_hat == a_hat


def test_no_test_while_unstable():
    j = Judgement(d1=0.5, d2=0.5, eps_m=0.02, theta0=0.05, warmup=1)
    j.observe(1, 0.2)
    j.observe(2, 0.6)  # Dev_prev = 0 < eps_m after one observation: the test starts, j = 2
    assert j.start_iteration == 2 and j.dev == pytest.approx(0.2)
    # Dev 0.2 >= eps_m: a big drop is not judged
    assert j.observe(3, 0.0) is False and j.keeps == 0
    assert j.start_iteration == 2

    k = Judgement(d1=0.5, d2=0.5, eps_m=0.02, theta0=0.05, warmup=2)
    for t, a in ((1, 0.2), (2, 0.6), (3, 0.4)):  # Dev 0.2, then 0.5 * 0.2 + 0.5 * 0 = 0.1: not yet stable
        assert k.observe(t, a) is False
    assert k.start_iteration is None and k.dev == pytest.approx(0.1)
    for t in (4, 5, 6):  # constant 0.4: Dev halves to 0.05, 0.025, 0.0125
        k.observe(t, 0.4)
    assert k.start_iteration is None and k.dev == pytest.approx(0.0125)
    assert k.observe(7, 0.4) is False and k.start_iteration == 7  # first Dev_prev < eps_m


def test_checks():
    with pytest.raises(ValueError):
        Judgement(d1=1.0)
    with pytest.raises(ValueError):
        Judgement(warmup=0)
    with pytest.raises(ValueError):
        Judgement().observe(0, 0.5)
