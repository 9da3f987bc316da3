"""IDX parsing on small hand-written files, and the real MNIST when EDGESIM_DATA has it."""

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from edgesim.data import DatasetConfig, check_dataset, load_dataset
from edgesim.data.mnist import mnist_files_present, read_idx, read_mnist_split
from edgesim.errors import InputError
from edgesim.seeding import Streams


def write_idx(path, array, magic=None):
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else 0x0800 + array.ndim
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())
    return path


@pytest.fixture
def tiny(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28) % 256
    labels = np.array([7, 0, 9])
    return write_idx(tmp_path / "img.gz", images), write_idx(tmp_path / "lbl.gz", labels), images, labels


def test_read_idx_round_trip(tiny):
    img_path, lbl_path, images, labels = tiny
    assert np.array_equal(read_idx(img_path, 2051), images)
    assert np.array_equal(read_idx(lbl_path, 2049), labels)


def test_read_mnist_split_normalises(tiny):
    img_path, lbl_path, images, labels = tiny
    x, y = read_mnist_split(img_path, lbl_path)
    assert x.shape == (3, 1, 28, 28) and str(x.dtype) == "torch.float32"
    assert y.tolist() == labels.tolist() and str(y.dtype) == "torch.int64"
    assert np.allclose(x.numpy()[:, 0], (images / 255 - 0.1307) / 0.3081, atol=1e-5)


def test_raw_pixel_scale_keeps_the_values_0_to_255(tiny):
    # WKAFL's code trains on raw pixels (ALGORITHMS.md §2.7)
    img_path, lbl_path, images, labels = tiny
    x, y = read_mnist_split(img_path, lbl_path, pixel_scale="raw")
    assert str(x.dtype) == "torch.float32" and np.array_equal(x.numpy()[:, 0], images.astype(np.float32))
    assert x.max() > 1 and y.tolist() == labels.tolist()


def test_malformed_files_raise_input_error(tmp_path, tiny):
    img_path, lbl_path, _, _ = tiny
    with pytest.raises(InputError, match="magic number is 2049, expected 2051"):
        read_idx(lbl_path, 2051)
    truncated = tmp_path / "short.gz"
    with gzip.open(img_path, "rb") as f:
        data = f.read()
    with gzip.open(truncated, "wb") as f:
        f.write(data[:-10])
    with pytest.raises(InputError, match="header says"):
        read_idx(truncated, 2051)
    not_gzip = tmp_path / "plain.gz"
    not_gzip.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match="gzip"):
        read_idx(not_gzip, 2051)
    wrong_size = write_idx(tmp_path / "small.gz", np.zeros((2, 14, 14)))
    with pytest.raises(InputError, match="expected 28x28"):
        read_mnist_split(wrong_size, write_idx(tmp_path / "l2.gz", [1, 2]))
    with pytest.raises(InputError, match="labels for"):
        read_mnist_split(img_path, write_idx(tmp_path / "l1.gz", [1]))


def test_missing_files_reported_without_download(tmp_path):
    assert len(mnist_files_present(tmp_path)) == 4
    config = DatasetConfig(data_dir=str(tmp_path), download=False)
    (problem,) = check_dataset(config)
    assert problem.startswith("dataset.data_dir: MNIST files not found in") and "train-images-idx3-ubyte.gz" in problem
    with pytest.raises(InputError, match="downloading is off"):
        load_dataset(config, Streams(0).rng("data"))


def test_corrupt_file_reported_by_check(tmp_path):
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"junk")
    problems = check_dataset(DatasetConfig(data_dir=str(tmp_path), download=True))
    assert len(problems) == 1 and "checksum mismatch" in problems[0]


REAL = Path(os.environ.get("EDGESIM_DATA", "/nonexistent"))


@pytest.mark.skipif(not (REAL / "mnist").is_dir(), reason="EDGESIM_DATA has no mnist/ folder")
def test_real_mnist():
    config = DatasetConfig(name="mnist", download=False)
    assert check_dataset(config) == []
    ds = load_dataset(config, Streams(0).rng("data"))
    assert ds.train_x.shape == (60000, 1, 28, 28) and ds.test_x.shape == (10000, 1, 28, 28)
    assert ds.num_classes == 10 and ds.input_shape == (1, 28, 28)
    assert np.bincount(ds.train_y.numpy()).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(ds.test_y.numpy()).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(ds.train_x.mean().item()) < 0.01 and abs(ds.train_x.std().item() - 1) < 0.01
    assert len(ds.eval_idx) == 10000 and len(ds.val_y) == 0
