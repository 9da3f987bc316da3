"""Aggregation math on hand-built tensors."""

import pytest
import torch

from edgesim.fl.aggregate import normalised, weighted_average, weighted_average_states


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
