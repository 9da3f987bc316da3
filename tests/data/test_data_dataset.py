"""Config models, data-dir resolution, synthetic data, validation carve and test subset."""

from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from edgesim.data import (Dataset, DatasetConfig, SyntheticConfig, check_dataset, class_names, load_dataset,
                          resolve_data_dir)
from edgesim.data.config import IidPartition, ShardsPartition
from edgesim.errors import InputError
from edgesim.seeding import Streams


def synthetic(**kw):
    return DatasetConfig(name="synthetic", **kw)


def test_config_defaults_and_parsing():
    config = DatasetConfig()
    assert config.name == "mnist" and config.partition == IidPartition() and config.validation_size == 0
    parsed = DatasetConfig.model_validate({"partition": {"kind": "shards", "samples_per_class": 5}})
    assert parsed.partition == ShardsPartition(samples_per_class=5)
    for bad in ({"partition": {"kind": "nope"}}, {"name": "cifar"}, {"extra": 1}, {"test_subset": 0},
                {"synthetic": {"train_size": 0}}, {"validation_size": -1}, {"name": "cifar100", "image_size": 0},
                {"name": "tiny_imagenet", "train_per_class": 0}, {"name": "cifar100", "test_per_class": -1}):
        with pytest.raises(ValidationError):
            DatasetConfig.model_validate(bad)


def test_pixel_scale_defaults_to_standardised_and_raw_needs_pixels():
    assert DatasetConfig().pixel_scale == "standardised"
    assert DatasetConfig(pixel_scale="raw").pixel_scale == "raw"
    with pytest.raises(ValidationError, match="synthetic data has no pixels"):
        DatasetConfig(name="synthetic", pixel_scale="raw")
    with pytest.raises(ValidationError):
        DatasetConfig(pixel_scale="unit")


def test_image_options_only_for_image_datasets():
    for name in ("cifar100", "tiny_imagenet"):
        config = DatasetConfig(name=name, image_size=24, train_per_class=5, test_per_class=2)
        assert (config.image_size, config.train_per_class, config.test_per_class) == (24, 5, 2)
    assert DatasetConfig(name="tiny_imagenet").image_size is None
    for name in ("mnist", "synthetic"):
        for option in ("image_size", "train_per_class", "test_per_class"):
            with pytest.raises(ValidationError) as err:
                DatasetConfig.model_validate({"name": name, option: 8})
            (error,) = err.value.errors()
            assert error["loc"] == (option,)
            assert error["msg"].endswith(f"applies only to the image datasets (cifar100, tiny_imagenet), not to {name}")


def test_resolve_data_dir(monkeypatch):
    monkeypatch.setenv("EDGESIM_DATA", "/from/env")
    assert resolve_data_dir(DatasetConfig(data_dir="/explicit")) == Path("/explicit")
    assert resolve_data_dir(DatasetConfig()) == Path("/from/env")
    monkeypatch.delenv("EDGESIM_DATA")
    assert resolve_data_dir(DatasetConfig()) == Path.home() / ".cache/edgesim/data"


def test_synthetic_shapes_determinism_balance():
    config = synthetic(synthetic=SyntheticConfig(train_size=300, test_size=50, num_classes=3, shape=(2, 9, 7)))
    a = load_dataset(config, Streams(5).rng("data"))
    b = load_dataset(config, Streams(5).rng("data"))
    c = load_dataset(config, Streams(6).rng("data"))
    assert a.train_x.shape == (300, 2, 9, 7) and a.test_x.shape == (50, 2, 9, 7) and a.input_shape == (2, 9, 7)
    assert a.train_x.dtype == torch.float32 and a.train_y.dtype == torch.int64 and a.num_classes == 3
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    assert not torch.equal(a.train_x, c.train_x)
    assert torch.bincount(a.train_y).tolist() == [100, 100, 100]
    assert a.class_names == ("0", "1", "2") == class_names(config)


def test_class_names_without_files(tmp_path):
    assert class_names(DatasetConfig(data_dir=str(tmp_path), download=False)) == tuple("0123456789")
    x, y = torch.zeros(2, 1, 2, 2), torch.zeros(2, dtype=torch.int64)
    with pytest.raises(ValueError, match="2 class names for 3 classes"):
        Dataset("t", x, y, x, y, x, y, np.arange(2), 3, (1, 2, 2), ("a", "b"))


def test_synthetic_is_learnable():
    """Full-batch softmax regression (zero init, so no torch RNG) beats 80% quickly."""
    ds = load_dataset(synthetic(), Streams(0).rng("data"))
    x, xt = ds.train_x.flatten(1), ds.test_x.flatten(1)
    w = torch.zeros(x.shape[1], ds.num_classes, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.01)
    for _ in range(20):
        loss = torch.nn.functional.cross_entropy(x @ w, ds.train_y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    accuracy = ((xt @ w).argmax(1) == ds.test_y).float().mean().item()
    assert accuracy > 0.8


def test_validation_carve_and_test_subset():
    config = synthetic(synthetic=SyntheticConfig(train_size=200, test_size=100), validation_size=30, test_subset=40)
    full = load_dataset(synthetic(synthetic=config.synthetic), Streams(1).rng("data"))
    ds = load_dataset(config, Streams(1).rng("data"))
    assert len(ds.train_y) == 170 and len(ds.val_y) == 30
    # train + validation is exactly the original train set, with no sample in both
    merged = torch.cat([ds.train_x, ds.val_x]).flatten(1)
    assert len(torch.unique(merged, dim=0)) == 200
    assert torch.equal(torch.sort(merged, dim=0).values, torch.sort(full.train_x.flatten(1), dim=0).values)
    assert len(ds.eval_idx) == 40 and np.all(np.diff(ds.eval_idx) > 0) and ds.eval_idx.max() < 100
    assert torch.equal(ds.test_x, full.test_x), "the full test set is kept"
    # the subset does not depend on the validation size
    other = load_dataset(config.model_copy(update={"validation_size": 10}), Streams(1).rng("data"))
    assert np.array_equal(other.eval_idx, ds.eval_idx)


def test_size_problems():
    config = synthetic(synthetic=SyntheticConfig(train_size=50, test_size=20), validation_size=50, test_subset=21)
    problems = check_dataset(config)
    assert [p.split(":")[0] for p in problems] == ["dataset.validation_size", "dataset.test_subset"]
    with pytest.raises(InputError) as err:
        load_dataset(config, Streams(0).rng("data"))
    assert err.value.problems == problems


def test_to_moves_every_tensor_and_keeps_the_rest():
    data = load_dataset(synthetic(validation_size=10, test_subset=20), Streams(1).rng("data"))
    assert data.to("cpu") is data  # already there: nothing copied
    moved = data.to("meta")
    for name in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert getattr(moved, name).device.type == "meta"
        assert getattr(moved, name).shape == getattr(data, name).shape
    assert moved.eval_idx is data.eval_idx and moved.class_names == data.class_names
    assert data.train_x.device.type == "cpu"
