"""Datasets for the simulator: loading MNIST or synthetic data, validation carving, test subsets.

Typical use::

    dataset = load_dataset(config.dataset, streams.rng("data"))
    parts = partition(dataset.train_y.numpy(), num_clients, config.dataset.partition, streams.rng("partition"))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from edgesim.data import mnist
from edgesim.data.config import DatasetConfig, PartitionConfig, SyntheticConfig, resolve_data_dir
from edgesim.data.download import verify
from edgesim.data.partition import partition
from edgesim.data.synthetic import make_synthetic
from edgesim.errors import InputError

__all__ = [
    "Dataset",
    "DatasetConfig",
    "PartitionConfig",
    "SyntheticConfig",
    "check_dataset",
    "load_dataset",
    "partition",
    "resolve_data_dir",
]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Loaded tensors: images float32 ``N x C x H x W``, labels int64.

    ``train_*`` is what clients are partitioned from; ``val_*`` is the server-held
    validation set carved from the original train set (empty unless
    ``dataset.validation_size`` is set). ``eval_idx`` are the sorted test indices
    used for in-run evaluation: all of them unless ``dataset.test_subset`` is set;
    the final evaluation always uses the full test set.
    """

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    eval_idx: np.ndarray
    num_classes: int
    input_shape: tuple[int, ...]


def load_dataset(config: DatasetConfig, rng: np.random.Generator) -> Dataset:
    """Load the configured dataset, carve the validation set and pick the evaluation subset.

    ``rng`` is split into independent child streams for synthetic generation, the
    validation carve and the test subset, so changing one never shifts the others.
    """
    problems = _size_problems(config)
    if problems:
        raise InputError(problems)
    data_rng, val_rng, eval_rng = rng.spawn(3)
    if config.name == "mnist":
        train_x, train_y, test_x, test_y = mnist.load_mnist(resolve_data_dir(config), download=config.download)
        num_classes = mnist.NUM_CLASSES
    else:
        train_x, train_y, test_x, test_y = make_synthetic(config.synthetic, data_rng)
        num_classes = config.synthetic.num_classes
    val = np.zeros(len(train_y), dtype=bool)
    val[val_rng.choice(len(train_y), size=config.validation_size, replace=False)] = True
    val_t = torch.from_numpy(val)
    n_eval = config.test_subset or len(test_y)
    return Dataset(
        name=config.name,
        train_x=train_x[~val_t],
        train_y=train_y[~val_t],
        val_x=train_x[val_t],
        val_y=train_y[val_t],
        test_x=test_x,
        test_y=test_y,
        eval_idx=np.sort(eval_rng.choice(len(test_y), size=n_eval, replace=False)).astype(np.int64),
        num_classes=num_classes,
        input_shape=tuple(train_x.shape[1:]),
    )


def check_dataset(config: DatasetConfig) -> list[str]:
    """Problems that would stop ``load_dataset``, found without loading (empty when fine).

    For MNIST this checks the files that are there against their checksums and,
    when downloading is off, that none is missing. Network access is not tried.
    """
    problems = _size_problems(config)
    if config.name == "mnist":
        data_dir = resolve_data_dir(config)
        missing = mnist.mnist_files_present(data_dir)
        if missing and not config.download:
            problems.append(
                f"dataset.data_dir: MNIST files not found in {mnist.mnist_dir(data_dir)} "
                f"(missing: {', '.join(missing)}); set EDGESIM_DATA or dataset.data_dir, or allow dataset.download"
            )
        for name, md5 in mnist.MNIST_MD5.items():
            if name not in missing:
                try:
                    verify(mnist.mnist_dir(data_dir) / name, md5=md5)
                except InputError as exc:
                    problems.extend(exc.problems)
    return problems


def _size_problems(config: DatasetConfig) -> list[str]:
    if config.name == "mnist":
        train_size, test_size = mnist.TRAIN_SIZE, mnist.TEST_SIZE
    else:
        train_size, test_size = config.synthetic.train_size, config.synthetic.test_size
    problems = []
    if config.validation_size >= train_size:
        problems.append(f"dataset.validation_size: {config.validation_size} leaves nothing of the "
                        f"{train_size} train samples for clients")
    if config.test_subset is not None and config.test_subset > test_size:
        problems.append(f"dataset.test_subset: {config.test_subset} exceeds the {test_size} test samples")
    return problems
