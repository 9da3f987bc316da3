"""The device and trainer choice: allowed values, resolving ``auto``, what a summary records."""

from __future__ import annotations

import pytest
import torch

from edgesim.compute import Compute
from edgesim.errors import InputError


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_allowed_devices(device):
    assert Compute(device).device == device


def test_bad_values_name_the_option_and_the_allowed_values():
    with pytest.raises(InputError) as raised:
        Compute("tpu", "fast")
    assert raised.value.problems == ["--device tpu: must be one of auto, cpu, cuda, cuda:N",
                                     "--trainer fast: must be one of auto, sequential, batched"]


def test_auto_is_the_cpu_without_cuda_and_the_first_gpu_with_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert Compute("auto").resolved() == Compute("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert Compute("auto", "sequential").resolved() == Compute("cuda:0", "sequential")
    assert Compute("cuda").resolved() == Compute("cuda:0")
    assert Compute("cuda:1").resolved() == Compute("cuda:1")


def test_a_cuda_device_that_is_not_there_is_an_input_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match=r"--device cuda: no such device here \(torch sees 0 CUDA devices\)"):
        Compute("cuda").resolved()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(InputError, match=r"--device cuda:1: no such device here \(torch sees 1 CUDA device\); use --device cpu or auto"):
        Compute("cuda:1").resolved()


def test_auto_trainer_batches_on_a_gpu_only():
    assert not Compute("cpu").batched
    assert Compute("cuda:0").batched
    assert Compute("cpu", "batched").batched
    assert not Compute("cuda:0", "sequential").batched
    assert Compute("cuda:0").describe() == {"torch_device": "cuda:0", "trainer": "batched"}
    with pytest.raises(ValueError, match="resolved"):
        Compute("auto").batched
