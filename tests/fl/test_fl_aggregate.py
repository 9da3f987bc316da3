"""Aggregation math on hand-built tensors."""

import math

import pytest
import torch

from edgesim.fl.aggregate import (fedbuff_staleness_weight, normalised, polynomial_staleness_weight,
                                  scaled_sign, scores_from_masks, weighted_average, weighted_average_states)
from edgesim.models.scored import top_k_mask


def test_normalised():
    assert normalised([1, 3]) == [0.25, 0.75]
    assert normalised([2.0]) == [1.0]
    with pytest.raises(ValueError):
        normalised([0, 0])
    with pytest.raises(ValueError):
        normalised([])


def test_weighted_average_by_hand():
    a = torch.tensor([1.0, 2.0, 3.0])
    b = torch.tensor([5.0, 6.0, 11.0])
    # weights 1 and 3 -> 0.25 a + 0.75 b
    got = weighted_average([a, b], [1, 3])
    assert torch.equal(got, torch.tensor([4.0, 5.0, 9.0]))
    assert got.dtype == torch.float32


def test_weights_are_normalised():
    a, b = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 4.0]])
    assert torch.equal(weighted_average([a, b], [10, 30]), weighted_average([a, b], [0.25, 0.75]))
    assert torch.equal(weighted_average([a, b], [10, 30]), torch.tensor([[0.5, 3.0]]))
    assert torch.equal(weighted_average([a], [7]), a)


def test_float64_accumulation_then_input_dtype():
    # 1/3 each of three float16 values: accumulated in float64, rounded once at the end
    t = [torch.tensor([1.0], dtype=torch.float16), torch.tensor([2.0], dtype=torch.float16),
         torch.tensor([4.0], dtype=torch.float16)]
    got = weighted_average(t, [1, 1, 1])
    assert got.dtype == torch.float16
    assert got.item() == pytest.approx(7 / 3, abs=2e-3)


def test_weighted_average_errors():
    with pytest.raises(ValueError):
        weighted_average([], [])
    with pytest.raises(ValueError):
        weighted_average([torch.ones(2)], [1, 2])
    with pytest.raises(ValueError):
        weighted_average([torch.ones(2), torch.ones(2)], [0, 0])


def test_states_average_floats_and_take_max_of_integers():
    s1 = {"w": torch.tensor([[1.0, 2.0]]), "b": torch.tensor([0.0]),
          "num_batches_tracked": torch.tensor(3), "counts": torch.tensor([1, 9], dtype=torch.int32)}
    s2 = {"w": torch.tensor([[3.0, 6.0]]), "b": torch.tensor([4.0]),
          "num_batches_tracked": torch.tensor(7), "counts": torch.tensor([5, 2], dtype=torch.int32)}
    got = weighted_average_states([s1, s2], [3, 1])  # 0.75 s1 + 0.25 s2
    assert list(got) == ["w", "b", "num_batches_tracked", "counts"]
    assert torch.equal(got["w"], torch.tensor([[1.5, 3.0]]))
    assert torch.equal(got["b"], torch.tensor([1.0]))
    assert torch.equal(got["num_batches_tracked"], torch.tensor(7))
    assert torch.equal(got["counts"], torch.tensor([5, 9], dtype=torch.int32))
    assert got["counts"].dtype == torch.int32


def test_states_input_is_not_modified():
    s1 = {"w": torch.tensor([1.0])}
    s2 = {"w": torch.tensor([3.0])}
    weighted_average_states([s1, s2], [1, 1])
    assert s1["w"].item() == 1.0 and s2["w"].item() == 3.0


def test_states_errors():
    with pytest.raises(ValueError):
        weighted_average_states([], [])
    with pytest.raises(ValueError):
        weighted_average_states([{"w": torch.ones(1)}], [1, 1])
    with pytest.raises(ValueError):
        weighted_average_states([{"w": torch.ones(1)}, {"w": torch.ones(1)}], [1])
    with pytest.raises(ValueError):
        weighted_average_states([{"w": torch.ones(1)}, {"w": torch.ones(1)}], [0, 0])


def test_scaled_sign_keeps_each_changes_direction_and_the_mean_magnitude():
    base = torch.tensor([[1.0, 1.0, -1.0], [-1.0, 0.0, 2.0]])
    change = torch.tensor([[0.5, -1.5, 0.5], [-1.0, -0.5, 0.0]])  # mean |change| = 4/6
    # a zero change counts as a shrink of |base|: towards zero; a zero base counts as positive
    assert torch.allclose(scaled_sign(change, base), (4 / 6) * torch.tensor([[1.0, -1.0, 1.0], [-1.0, -1.0, -1.0]]))
    assert scaled_sign(change.double(), base.double()).dtype == torch.float64
    assert torch.equal(scaled_sign(torch.zeros(3), torch.ones(3)), torch.zeros(3))


def test_scores_from_masks_steps_by_the_mean_mask_change_on_the_threshold_scale():
    scores = torch.tensor([4.0, -3.0, 1.0, -0.5])  # keep 0.5: the server keeps 4 and -3; threshold t = 3
    client_a = torch.tensor([1.0, 0.0, 1.0, 0.0])  # drops the -3, takes the 1
    client_b = torch.tensor([1.0, 1.0, 0.0, 0.0])  # changes nothing
    new = scores_from_masks(scores, [client_a, client_b], [1.0, 3.0], keep=0.5, server_lr=1.0)
    # v - M = (0, -1/4, 1/4, 0), times t = 3
    assert torch.allclose(new, torch.tensor([4.0, -2.25, 1.75, -0.5]))
    assert top_k_mask(new.abs(), 0.5).tolist() == [1.0, 1.0, 0.0, 0.0]  # a quarter of the votes: not yet

    again = scores_from_masks(new, [client_a, client_b], [1.0, 3.0], keep=0.5, server_lr=1.0)
    assert torch.allclose(again, torch.tensor([4.0, -2.25 + 0.5625, 1.75 + 0.5625, -0.5]))  # t is now 2.25
    assert top_k_mask(again.abs(), 0.5).tolist() == [1.0, 0.0, 1.0, 0.0]  # the same minority, round after round


def test_scores_from_masks_stops_magnitudes_at_zero_and_keeps_them_positive():
    scores = torch.tensor([-4.0, 3.0, 1.0, -0.5])
    dropped_by_all = torch.tensor([0.0, 1.0, 1.0, 0.0])
    new = scores_from_masks(scores, [dropped_by_all], [1.0], keep=0.5, server_lr=10.0)
    assert new.tolist() == [0.0, 3.0, 31.0, -0.5]
    revived = scores_from_masks(new, [torch.tensor([1.0, 0.0, 1.0, 0.0])], [1.0], keep=0.5, server_lr=1.0)
    assert revived[0] > 0  # a zero score counts as positive: kept again, it grows instead of staying at 0


def test_fedbuff_weights_a_stale_update_by_one_over_the_root_of_one_plus_its_staleness():
    assert [fedbuff_staleness_weight(s) for s in (0, 3, 8)] == [1.0, 0.5, pytest.approx(1 / 3)]


def test_fedasync_mixing_weight_decays_polynomially_with_staleness():
    assert polynomial_staleness_weight(0, 0.6, 0.5) == 0.6
    assert polynomial_staleness_weight(3, 0.6, 0.5) == pytest.approx(0.3)  # 0.6 * 4 ** -0.5
    assert polynomial_staleness_weight(1, 0.5, 1.0) == 0.25
    assert polynomial_staleness_weight(7, 0.5, 0.0) == 0.5  # exponent 0: staleness ignored
    assert math.isclose(polynomial_staleness_weight(2, 1.0, 2.0), 1 / 9)

