"""WKAFL / AKAFL-RJ aggregation math (ALGORITHMS.md §2.2) on hand-built tiny gradients."""

import math

import pytest
import torch

from edgesim.fl.wkafl_math import (WkaflOptions, clip_to_norm, cosine, learning_rate, staleness_weights,
                                   wkafl_step)

Q = 2 / math.e  # (e/2)^-1


def t(*values):
    return torch.tensor(values, dtype=torch.float64)


def test_default_options_are_strict_akafl():
    o = WkaflOptions()
    assert (o.base, o.s_min, o.beta, o.lr_rule, o.gamma, o.c) == (math.e / 2, 0.3, 10.0, "power", 1.0, 0.1)
    assert (o.momentum, o.clip_norm, o.second_clip_from, o.second_clip_factor) == (0.0, None, None, 10.0)
    assert not o.staleness_in_omega


def test_wkafl_baseline_is_wkafls_code():
    # ALGORITHMS.md §2.7: WKAFL's code runs eta0 / (1 + 0.1 tau_min), omega_k ∝ exp(beta s_k) w_k, clip 100
    b = WkaflOptions.wkafl_baseline()
    assert (b.momentum, b.clip_norm, b.lr_rule, b.c, b.staleness_in_omega) == (0.1, 100.0, "wkafl", 0.1, True)
    assert (b.s_min, b.beta, b.second_clip_from) == (0.3, 10.0, None)
    assert learning_rate(10, WkaflOptions.wkafl_baseline(eta0=0.005)) == pytest.approx(0.005 / 2)
    assert WkaflOptions.wkafl_baseline(lr_rule="power", second_clip_from=50).lr_rule == "power"
    for bad in ({"base": 1.0}, {"s_min": 1.5}, {"lr_rule": "step"}, {"eta0": 0}, {"clip_norm": 0}):
        with pytest.raises(ValueError):
            WkaflOptions(**bad)


def test_staleness_weights_by_hand():
    total = Q + Q**2 + Q**3
    assert staleness_weights([1, 2, 3]) == pytest.approx([Q / total, Q**2 / total, Q**3 / total], rel=1e-12)
    # a different base is a parameter
    assert staleness_weights([1, 2], base=2.0) == pytest.approx([2 / 3, 1 / 3])


def test_estimate_and_fallback_direction_is_g_hat():
    # three gradients, pairwise orthogonal: cos(g_k, g_hat) < 1, so s_min = 1 keeps none -> direction = g_hat
    g = [t(1, 0, 0), t(0, 2, 0), t(0, 0, 3)]
    r = wkafl_step(g, [1, 2, 3], [0.5, 1.0, 1.5], WkaflOptions(s_min=1.0))
    total = Q + Q**2 + Q**3
    w = [Q / total, Q**2 / total, Q**3 / total]
    assert r.estimate_weights == pytest.approx(w, rel=1e-12)
    assert r.max_estimate_weight == pytest.approx(w[0], rel=1e-12)
    assert r.fallback and r.kept == (False, False, False) and r.selection_weights == (0.0, 0.0, 0.0)
    assert torch.allclose(r.direction, t(w[0], 2 * w[1], 3 * w[2]), rtol=1e-12)
    assert r.mean_loss == pytest.approx(1.0)


def test_huge_staleness_is_numerically_stable():
    expected = [1 / (1 + Q), Q / (1 + Q)]
    assert staleness_weights([1000, 1001]) == pytest.approx(expected, rel=1e-12)
    # the naive form underflows to 0/0 here; subtracting min tau does not
    assert (math.e / 2) ** -5000 == 0.0
    assert staleness_weights([5000, 5001]) == pytest.approx(expected, rel=1e-12)
    r = wkafl_step([t(1, 0), t(1, 1)], [5000, 5001], [1.0, 1.0])
    assert r.estimate_weights == pytest.approx(expected, rel=1e-12)
    assert all(math.isfinite(x) for x in r.direction.tolist())


def test_cosine_selection_drops_the_opposite_gradient():
    # equal staleness -> w = 1/3 each; g_hat = ([1,1] + [1,0] + [-1,-1]) / 3 = [1/3, 0]
    g = [t(1, 1), t(1, 0), t(-1, -1)]
    r = wkafl_step(g, [2, 2, 2], [1.0, 2.0, 3.0])
    s1 = 1 / math.sqrt(2)
    assert r.estimate_weights == pytest.approx([1 / 3] * 3)
    assert r.consistency == pytest.approx([s1, 1.0, -s1], rel=1e-12)
    assert r.kept == (True, True, False) and not r.fallback
    e1, e2 = math.exp(10 * s1), math.exp(10 * 1.0)
    o1, o2 = e1 / (e1 + e2), e2 / (e1 + e2)
    assert r.selection_weights == pytest.approx([o1, o2, 0.0], rel=1e-12)
    assert torch.allclose(r.direction, t(o1 + o2, o1), rtol=1e-12)
    assert r.lr == pytest.approx(0.01 / 2)
    assert r.mean_loss == pytest.approx(2.0)


def test_threshold_is_inclusive_and_beta_zero_averages_the_kept():
    g = [t(1, 1), t(1, 0), t(-1, -1)]
    r = wkafl_step(g, [1, 1, 1], None, WkaflOptions(s_min=1 / math.sqrt(2) - 1e-12, beta=0.0))
    assert r.kept == (True, True, False)
    assert r.selection_weights == pytest.approx([0.5, 0.5, 0.0])
    assert torch.allclose(r.direction, t(1.0, 0.5))
    assert math.isnan(r.mean_loss)
    # s_k >= s_min: a single gradient has cos exactly 1 with g_hat = itself and is kept at s_min = 1
    one = wkafl_step([t(3, 4)], [1], None, WkaflOptions(s_min=1.0))
    assert one.consistency == (1.0,) and one.kept == (True,) and not one.fallback


def test_opposite_pair_gives_zero_estimate_and_fallback():
    r = wkafl_step([t(1, 0), t(-1, 0)], [1, 1], [1.0, 1.0])
    assert r.consistency == (0.0, 0.0)  # cos with a zero g_hat is defined as 0
    assert r.fallback and torch.equal(r.direction, t(0, 0))


def test_learning_rate_rules():
    power = WkaflOptions(eta0=0.1)
    assert learning_rate(2, power) == pytest.approx(0.05)
    assert learning_rate(2, WkaflOptions(eta0=0.1, gamma=0.5)) == pytest.approx(0.1 / math.sqrt(2))
    assert learning_rate(1, power) == pytest.approx(0.1)
    assert learning_rate(2, WkaflOptions(eta0=0.1, lr_rule="wkafl", c=1.0)) == pytest.approx(0.1 / 3)
    assert learning_rate(2, WkaflOptions(eta0=0.1, lr_rule="wkafl", c=0.5)) == pytest.approx(0.1 / 2)
    # tau_min is the smallest staleness of the iteration; always from eta0 (a pure function: not compounded)
    g = [t(1, 0), t(1, 0)]
    for _ in range(3):
        assert wkafl_step(g, [4, 3], None, power).lr == pytest.approx(0.1 / 3)
    with pytest.raises(ValueError):
        wkafl_step(g, [0, 1], None, power)


def test_momentum_adds_previous_direction():
    base = WkaflOptions.wkafl_baseline()
    prev = t(1, 2)
    r = wkafl_step([t(1, 0)], [1], [0.0], base, previous_direction=prev)
    assert torch.allclose(r.direction, t(1.1, 0.2))
    # no previous direction (first iteration) or strict AKAFL (momentum 0): unchanged
    assert torch.equal(wkafl_step([t(1, 0)], [1], [0.0], base).direction, t(1, 0))
    assert torch.equal(wkafl_step([t(1, 0)], [1], [0.0], previous_direction=prev).direction, t(1, 0))


def test_clipping_comes_before_momentum():
    assert torch.equal(clip_to_norm(t(3, 4), 10.0), t(3, 4))
    assert torch.allclose(clip_to_norm(t(3, 4), 1.0), t(0.6, 0.8))
    base = WkaflOptions.wkafl_baseline()
    r = wkafl_step([t(300, 400)], [1], [0.0], base)
    assert torch.allclose(r.direction, t(60, 80))
    # clipped to norm 100 first, then + 0.1 * [10, 0]
    r = wkafl_step([t(300, 400)], [1], [0.0], base, previous_direction=t(10, 0))
    assert torch.allclose(r.direction, t(61, 80))
    # strict AKAFL does not clip
    assert torch.equal(wkafl_step([t(300, 400)], [1], [0.0]).direction, t(300, 400))


def test_second_clip_from_t2():
    # taus [10, 1]: w1 = q^9 / (1 + q^9), g_hat = [1000 w1 + (1 - w1), 0]; both parallel -> kept, omega 1/2 each
    g = [t(1000, 0), t(1, 0)]
    w1 = Q**9 / (1 + Q**9)
    bound = 10 * (1000 * w1 + (1 - w1))
    assert bound < 1000
    options = WkaflOptions(second_clip_from=5)
    before = wkafl_step(g, [10, 1], None, options, iteration=4)
    assert before.selection_weights == pytest.approx([0.5, 0.5])
    assert torch.allclose(before.direction, t(500.5, 0))
    for iteration in (5, 6):
        after = wkafl_step(g, [10, 1], None, options, iteration=iteration)
        assert torch.allclose(after.direction, t((bound + 1) / 2, 0), rtol=1e-12)
    # default: never
    assert torch.allclose(wkafl_step(g, [10, 1], None, iteration=10**6).direction, t(500.5, 0))


def test_second_clip_leaves_dropped_gradients_out():
    # the dropped (opposite) gradient is not part of g_t whatever its norm
    g = [t(1, 0), t(1, 0), t(-0.5, 0)]
    r = wkafl_step(g, [1, 1, 1], None, WkaflOptions(second_clip_from=0, second_clip_factor=0.5))
    assert r.kept == (True, True, False)
    # g_hat = [0.5, 0] -> bound 0.25
    assert torch.allclose(r.direction, t(0.25, 0))


def test_dtype_and_input_checks():
    g = [torch.tensor([1.0, 2.0]), torch.tensor([2.0, 1.0])]
    r = wkafl_step(g, [1, 2], [0.1, 0.2])
    assert r.direction.dtype == torch.float32
    assert cosine(t(1, 0), t(0, 0)) == 0.0
    with pytest.raises(ValueError):
        wkafl_step(g, [1], [0.1, 0.2])
    with pytest.raises(ValueError):
        wkafl_step(g, [1, 2], [0.1])
    with pytest.raises(ValueError):
        wkafl_step([torch.ones(2, 2)], [1], None)
    with pytest.raises(ValueError):
        wkafl_step([], [], None)


def test_staleness_in_omega_by_hand():
    # g1 = [1, 0] (tau 1), g2 = [1, 1] (tau 2); q = 2/e: w = [1, q] / (1 + q), g_hat = [1, w2]
    g = [t(1, 0), t(1, 1)]
    w2 = Q / (1 + Q)
    s1, s2 = 1 / math.sqrt(1 + w2**2), (1 + w2) / (math.sqrt(2) * math.sqrt(1 + w2**2))
    assert min(s1, s2) > 0.3  # both kept
    plain = wkafl_step(g, [1, 2], None, WkaflOptions(lr_rule="wkafl"))
    e1, e2 = math.exp(10 * s1), math.exp(10 * s2)
    assert plain.selection_weights == pytest.approx([e1 / (e1 + e2), e2 / (e1 + e2)], rel=1e-12)
    weighted = wkafl_step(g, [1, 2], None, WkaflOptions(lr_rule="wkafl", staleness_in_omega=True))
    f1, f2 = e1 * (1 - w2), e2 * w2  # exp(beta s_k) w_k
    omega = [f1 / (f1 + f2), f2 / (f1 + f2)]
    assert weighted.selection_weights == pytest.approx(omega, rel=1e-12)
    assert torch.allclose(weighted.direction, t(1, omega[1]), rtol=1e-12)
    # staleness apart by thousands: the older gradient's weight is 0, not NaN
    far = wkafl_step(g, [1, 3000], None, WkaflOptions(staleness_in_omega=True))
    assert far.selection_weights == (1.0, 0.0) and torch.equal(far.direction, t(1, 0))
