"""Datasets for the simulator: loading MNIST, CIFAR-100, Tiny ImageNet or synthetic data, validation
carving, test subsets, and the class names of each.

Typical use::

    dataset = load_dataset(config.dataset, streams.rng("data"))
    parts = partition(dataset.train_y.numpy(), num_clients, config.dataset.partition, streams.rng("partition"))
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from edgesim.data import cifar100, mnist, tiny_imagenet
from edgesim.data.config import DatasetConfig, PartitionConfig, SyntheticConfig, resolve_data_dir
from edgesim.download import verify
from edgesim.data.partition import partition
from edgesim.data.synthetic import make_synthetic
from edgesim.errors import InputError

_CARVE_BLOCK = 1024  # rows moved at a time when the validation set is carved out

__all__ = [
    "DataLayout",
    "Dataset",
    "DatasetConfig",
    "PartitionConfig",
    "SyntheticConfig",
    "check_dataset",
    "class_names",
    "data_layout",
    "files_to_download",
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
    the final evaluation always uses the full test set. ``class_names[k]`` names
    label ``k`` (digits for MNIST, CIFAR-100's fine label names, Tiny ImageNet's wnids).
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
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {self.num_classes} classes")

    def to(self, device: torch.device | str) -> Dataset:
        """The same dataset with its tensors on ``device`` (itself when they are there already)."""
        tensors = {name: getattr(self, name).to(device)
                   for name in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")}
        if all(tensors[name] is getattr(self, name) for name in tensors):
            return self
        return replace(self, **tensors)


def load_dataset(config: DatasetConfig, rng: np.random.Generator) -> Dataset:
    """Load the configured dataset, carve the validation set and pick the evaluation subset.

    ``rng`` is split into independent child streams for synthetic generation, the
    validation carve and the test subset, so changing one never shifts the others.
    """
    problems = _size_problems(config, _split_sizes(config))
    if problems:
        raise InputError(problems)
    data_rng, val_rng, eval_rng = rng.spawn(3)
    data_dir = resolve_data_dir(config)
    image_options = {"download": config.download, "image_size": config.image_size,
                     "train_per_class": config.train_per_class, "test_per_class": config.test_per_class, "pixel_scale": config.pixel_scale}
    if config.name == "mnist":
        train_x, train_y, test_x, test_y = mnist.load_mnist(data_dir, download=config.download,
                                                              pixel_scale=config.pixel_scale)
        names = _numbered(mnist.NUM_CLASSES)
    elif config.name == "cifar100":
        train_x, train_y, test_x, test_y, names = cifar100.load_cifar100(data_dir, **image_options)
    elif config.name == "tiny_imagenet":
        train_x, train_y, test_x, test_y, names = tiny_imagenet.load_tiny_imagenet(data_dir, **image_options)
    else:
        train_x, train_y, test_x, test_y = make_synthetic(config.synthetic, data_rng)
        names = _numbered(config.synthetic.num_classes)
    problems = _size_problems(config, (len(train_y), len(test_y)))  # the files may hold fewer than expected
    if problems:
        raise InputError(problems)
    val = np.zeros(len(train_y), dtype=bool)
    val[val_rng.choice(len(train_y), size=config.validation_size, replace=False)] = True
    val_t = torch.from_numpy(val)
    n_eval = config.test_subset or len(test_y)
    val_x, kept_x = _split_off(train_x, val)
    return Dataset(
        name=config.name,
        train_x=kept_x,
        train_y=train_y[~val_t],
        val_x=val_x,
        val_y=train_y[val_t],
        test_x=test_x,
        test_y=test_y,
        eval_idx=np.sort(eval_rng.choice(len(test_y), size=n_eval, replace=False)).astype(np.int64),
        num_classes=len(names),
        input_shape=tuple(train_x.shape[1:]),
        class_names=names,
    )


@dataclass(frozen=True)
class DataLayout:
    """What a configured dataset will hold, known without loading it: split sizes (``None`` when not
    known without reading the files), the shape of one image and the number of classes."""

    sizes: tuple[int, int] | None
    input_shape: tuple[int, int, int]
    num_classes: int

    def tensor_bytes(self) -> int | None:
        """Bytes of the loaded float32 images and int64 labels of both splits (``None`` if sizes are unknown)."""
        if self.sizes is None:
            return None
        c, h, w = self.input_shape
        return sum(self.sizes) * (c * h * w * 4 + 8)


def data_layout(config: DatasetConfig) -> DataLayout:
    """The ``DataLayout`` of ``config``; reads no image (for a Tiny ImageNet folder it lists the files)."""
    if config.name == "mnist":
        return DataLayout(_split_sizes(config), (1, 28, 28), mnist.NUM_CLASSES)
    if config.name == "cifar100":
        side = config.image_size or cifar100.NATIVE_SIZE
        return DataLayout(_split_sizes(config), (3, side, side), cifar100.NUM_CLASSES)
    if config.name == "tiny_imagenet":
        side = config.image_size or tiny_imagenet.NATIVE_SIZE
        return DataLayout(_split_sizes(config), (3, side, side), tiny_imagenet.NUM_CLASSES)
    return DataLayout(_split_sizes(config), tuple(config.synthetic.shape), config.synthetic.num_classes)


def class_names(config: DatasetConfig) -> tuple[str, ...]:
    """The names of the labels, in label order, without loading the images.

    MNIST and synthetic need no files. Tiny ImageNet reads ``wnids.txt`` from the
    source (a zip's checksum is verified first, well under a second). CIFAR-100
    reads the ``meta`` member, so it needs the tarball (checksum plus reading the
    gzip stream up to ``meta``, about a second). Both fetch a missing archive when
    ``dataset.download`` allows.
    """
    if config.name == "mnist":
        return _numbered(mnist.NUM_CLASSES)
    if config.name == "cifar100":
        return cifar100.read_class_names(resolve_data_dir(config), config.download)
    if config.name == "tiny_imagenet":
        return tiny_imagenet.read_wnids(resolve_data_dir(config), config.download)
    return _numbered(config.synthetic.num_classes)


def files_to_download(config: DatasetConfig) -> list[str]:
    """The dataset files a load would download first (none when they are all present, or for synthetic data)."""
    data_dir = resolve_data_dir(config)
    if config.name == "mnist":
        return mnist.mnist_files_present(data_dir)
    if config.name == "cifar100":
        return [] if cifar100.archive_path(data_dir).exists() else [cifar100.ARCHIVE]
    if config.name == "tiny_imagenet":
        return [] if tiny_imagenet.locate(data_dir) is not None else [tiny_imagenet.ARCHIVES[0].name]
    return []


def check_dataset(config: DatasetConfig) -> list[str]:
    """Problems that would stop ``load_dataset``, found without loading (empty when fine).

    For the downloaded datasets this checks the files that are there against their
    checksums and, when downloading is off, that none is missing (for an extracted
    Tiny ImageNet folder: that its index files and class folders are there).
    Network access is not tried.
    """
    problems = _size_problems(config, _split_sizes(config))
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
    elif config.name == "cifar100":
        problems.extend(cifar100.check_files(resolve_data_dir(config), config.download))
    elif config.name == "tiny_imagenet":
        problems.extend(tiny_imagenet.check_files(resolve_data_dir(config), config.download))
    return problems


def _split_off(x: torch.Tensor, val: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x[val], x[~val])`` without a second copy of ``x`` (2.4 GB for Tiny ImageNet's train set).

    The rows to keep are moved to the front of ``x`` in place, a block at a time,
    and returned as a view of them. Row ``keep[i]`` is never before row ``i``, so
    no row is overwritten before it has been read.
    """
    held_out = x[torch.from_numpy(val)]
    keep = np.flatnonzero(~val)
    if len(keep) == len(x):
        return held_out, x
    for start in range(0, len(keep), _CARVE_BLOCK):
        rows = keep[start:start + _CARVE_BLOCK]
        x[start:start + len(rows)] = x[torch.from_numpy(rows)]
    return held_out, x[:len(keep)]


def _numbered(n: int) -> tuple[str, ...]:
    return tuple(str(k) for k in range(n))


def _split_sizes(config: DatasetConfig) -> tuple[int, int] | None:
    """Train and test set sizes the configured dataset should load (``None`` when not known)."""
    if config.name == "mnist":
        return mnist.TRAIN_SIZE, mnist.TEST_SIZE
    if config.name == "cifar100":
        return cifar100.split_sizes(config.train_per_class, config.test_per_class)
    if config.name == "tiny_imagenet":
        return tiny_imagenet.split_sizes(resolve_data_dir(config), config.train_per_class, config.test_per_class)
    return config.synthetic.train_size, config.synthetic.test_size


def _size_problems(config: DatasetConfig, sizes: tuple[int, int] | None) -> list[str]:
    if sizes is None:
        return []
    train_size, test_size = sizes
    problems = []
    if config.validation_size >= train_size:
        problems.append(f"dataset.validation_size: {config.validation_size} leaves nothing of the "
                        f"{train_size} train samples for clients")
    if config.test_subset is not None and config.test_subset > test_size:
        problems.append(f"dataset.test_subset: {config.test_subset} exceeds the {test_size} test samples")
    return problems
