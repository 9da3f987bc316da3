"""MNIST from the four official IDX gzip files in ``<data_dir>/mnist/``, parsed with numpy."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from edgesim.data.config import PixelScale
from edgesim.download import fetch
from edgesim.errors import InputError

MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
TRAIN_SIZE, TEST_SIZE, NUM_CLASSES = 60000, 10000, 10
MEAN, STD = 0.1307, 0.3081
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # unsigned bytes, 3 and 1 dimensions


def mnist_dir(data_dir: Path) -> Path:
    """The folder holding the MNIST files."""
    return Path(data_dir) / "mnist"


def mnist_files_present(data_dir: Path) -> list[str]:
    """Names of the MNIST files missing from ``<data_dir>/mnist/`` (empty when all are there)."""
    return [name for name in MNIST_MD5 if not (mnist_dir(data_dir) / name).exists()]


def load_mnist(data_dir: Path, download: bool = True, pixel_scale: PixelScale = "standardised",
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(train_x, train_y, test_x, test_y)``, fetching and verifying the files first."""
    paths = {
        name: fetch(mnist_dir(data_dir) / name, [m + name for m in MIRRORS], md5=md5, allow_download=download)
        for name, md5 in MNIST_MD5.items()
    }
    train = read_mnist_split(paths["train-images-idx3-ubyte.gz"], paths["train-labels-idx1-ubyte.gz"], pixel_scale)
    test = read_mnist_split(paths["t10k-images-idx3-ubyte.gz"], paths["t10k-labels-idx1-ubyte.gz"], pixel_scale)
    return (*train, *test)


def read_mnist_split(images_path: Path, labels_path: Path, pixel_scale: PixelScale = "standardised",
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as float32 ``N x 1 x 28 x 28`` and labels as int64, from one IDX pair. Pixels are standardised
    (``(p / 255 - 0.1307) / 0.3081``) or, with ``pixel_scale="raw"``, the values 0-255 themselves."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        raise InputError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, expected 28x28")
    if len(images) != len(labels):
        raise InputError(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path}")
    if labels.size and labels.max() >= NUM_CLASSES:
        raise InputError(f"{labels_path}: label {labels.max()} is not a digit")
    x = images.astype(np.float32)
    if pixel_scale == "standardised":
        x = (x / 255.0 - MEAN) / STD
    return torch.from_numpy(x.reshape(-1, 1, 28, 28)), torch.from_numpy(labels.astype(np.int64))


def read_idx(path: Path, magic: int) -> np.ndarray:
    """The uint8 array in a gzipped IDX file whose header must carry ``magic`` (2051 images, 2049 labels)."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise InputError(f"{path}: not a readable gzip file ({exc})") from None
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise InputError(f"{path}: IDX magic number is {found}, expected {magic}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise InputError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    if len(data) - header != int(np.prod(dims)):
        raise InputError(f"{path}: header says {dims} but holds {len(data) - header} bytes of data")
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)
