"""CIFAR-100 from small tarballs written here in the official format: loading, limits, resizing, safety."""

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest
from PIL import Image

from edgesim.data import DatasetConfig, check_dataset, class_names, load_dataset
from edgesim.data import cifar100
from edgesim.data.cifar100 import MEAN, STD, RestrictedUnpickler, archive_path, unpickle
from edgesim.errors import InputError
from edgesim.seeding import Streams

NAMES = [f"fine_{k:02d}" for k in range(100)]


def official_pickle(obj):
    """Protocol 3, naming numpy's array rebuilder as numpy 1.x did, like the official (Python 2) files."""
    return pickle.dumps(obj, protocol=3).replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def write_tarball(path, members):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        folder = tarfile.TarInfo("cifar-100-python")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def split(rng, per_class, tag):
    labels = rng.permutation(np.repeat(np.arange(100), per_class))  # classes interleaved in file order
    data = rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)
    batch = {b"batch_label": tag, b"filenames": [b"img_%d.png" % i for i in range(len(labels))],
             b"fine_labels": labels.tolist(), b"coarse_labels": (labels // 5).tolist(), b"data": data}
    return batch, data, labels


@pytest.fixture
def cifar(tmp_path, monkeypatch):
    """A tarball with 3 train and 2 test images per class at ``<tmp>/cifar100/``; its MD5 is the expected one."""
    rng = np.random.default_rng(0)
    train, train_data, train_labels = split(rng, 3, b"training batch 1 of 1")
    test, test_data, test_labels = split(rng, 2, b"testing batch 1 of 1")
    meta = {b"fine_label_names": [n.encode() for n in NAMES], b"coarse_label_names": [b"c%d" % k for k in range(20)]}
    path = write_tarball(archive_path(tmp_path), {"file.txt~": b"", "train": official_pickle(train),
                                                  "test": official_pickle(test), "meta": official_pickle(meta)})
    monkeypatch.setattr(cifar100, "MD5", hashlib.md5(path.read_bytes()).hexdigest())
    return tmp_path, (train_data, train_labels), (test_data, test_labels)


def config(data_dir, **kw):
    return DatasetConfig(name="cifar100", data_dir=str(data_dir), download=False, **kw)


def expected(data):
    """Normalised N x 3 x S x S images from N rows of channel-major pixels."""
    side = round((data.shape[1] / 3) ** 0.5)
    images = data.reshape(-1, 3, side, side) / 255.0
    return (images - np.reshape(MEAN, (1, 3, 1, 1))) / np.reshape(STD, (1, 3, 1, 1))


def first_per_class(labels, n):
    seen = {}
    keep = []
    for i, label in enumerate(labels):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] <= n:
            keep.append(i)
    return np.array(keep)


def test_round_trip(cifar):
    data_dir, (train_data, train_labels), (test_data, test_labels) = cifar
    assert check_dataset(config(data_dir)) == []
    ds = load_dataset(config(data_dir), Streams(0).rng("data"))
    assert ds.name == "cifar100" and ds.num_classes == 100 and ds.input_shape == (3, 32, 32)
    assert ds.class_names == tuple(NAMES) and class_names(config(data_dir)) == tuple(NAMES)
    assert ds.train_x.shape == (300, 3, 32, 32) and ds.test_x.shape == (200, 3, 32, 32)
    assert str(ds.train_x.dtype) == "torch.float32" and str(ds.train_y.dtype) == "torch.int64"
    assert ds.train_y.tolist() == train_labels.tolist() and ds.test_y.tolist() == test_labels.tolist()
    assert np.allclose(ds.train_x.numpy(), expected(train_data), atol=1e-5)
    assert np.allclose(ds.test_x.numpy(), expected(test_data), atol=1e-5)


def test_raw_pixel_scale(cifar):
    data_dir, (train_data, _), _ = cifar
    ds = load_dataset(config(data_dir, pixel_scale="raw"), Streams(0).rng("data"))
    assert np.array_equal(ds.train_x.numpy(), train_data.reshape(-1, 3, 32, 32).astype(np.float32))


def test_per_class_limits_keep_the_first_in_file_order(cifar):
    data_dir, (train_data, train_labels), (test_data, test_labels) = cifar
    ds = load_dataset(config(data_dir, train_per_class=2, test_per_class=1), Streams(0).rng("data"))
    keep_train, keep_test = first_per_class(train_labels, 2), first_per_class(test_labels, 1)
    assert len(keep_train) == 200 and len(keep_test) == 100
    assert ds.train_y.tolist() == train_labels[keep_train].tolist()
    assert ds.test_y.tolist() == test_labels[keep_test].tolist()
    assert np.allclose(ds.train_x.numpy(), expected(train_data[keep_train]), atol=1e-5)
    assert np.allclose(ds.test_x.numpy(), expected(test_data[keep_test]), atol=1e-5)


def test_image_size_resizes_bilinearly(cifar):
    data_dir, (train_data, _), _ = cifar
    ds = load_dataset(config(data_dir, image_size=16, test_per_class=1), Streams(0).rng("data"))
    assert ds.train_x.shape == (300, 3, 16, 16) and ds.test_x.shape == (100, 3, 16, 16)
    assert ds.input_shape == (3, 16, 16)
    for i in (0, 123, 299):
        hwc = train_data[i].reshape(3, 32, 32).transpose(1, 2, 0)
        small = np.asarray(Image.fromarray(hwc).resize((16, 16), Image.Resampling.BILINEAR))
        assert np.allclose(ds.train_x[i].numpy(), expected(small.transpose(2, 0, 1).reshape(1, -1))[0], atol=1e-5)


def test_sizes_after_limits_are_checked_without_files(tmp_path):
    ok = DatasetConfig(name="cifar100", data_dir=str(tmp_path), validation_size=199, train_per_class=2, test_subset=100,
                       test_per_class=1)
    assert check_dataset(ok) == []
    bad = ok.model_copy(update={"validation_size": 200, "test_subset": 101})
    assert [p.split(":")[0] for p in check_dataset(bad)] == ["dataset.validation_size", "dataset.test_subset"]
    assert check_dataset(DatasetConfig(name="cifar100", data_dir=str(tmp_path), validation_size=49999)) == []


def test_missing_archive_without_download(tmp_path):
    (problem,) = check_dataset(config(tmp_path))
    assert problem.startswith("dataset.data_dir: CIFAR-100 archive cifar-100-python.tar.gz not found in")
    with pytest.raises(InputError, match="downloading is off"):
        load_dataset(config(tmp_path), Streams(0).rng("data"))


class SideEffect:
    """Unpickling this creates the file ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_tampered_archive_is_refused_before_unpickling(tmp_path, monkeypatch):
    marker = tmp_path / "unpickled"
    evil = pickle.dumps(SideEffect(marker), protocol=3)
    path = write_tarball(archive_path(tmp_path), {"train": evil, "test": evil, "meta": evil})
    with pytest.raises(InputError, match="md5 checksum mismatch"):
        load_dataset(config(tmp_path), Streams(0).rng("data"))
    with pytest.raises(InputError, match="md5 checksum mismatch"):
        class_names(config(tmp_path))
    (problem,) = check_dataset(config(tmp_path))
    assert "md5 checksum mismatch" in problem
    assert not marker.exists()
    # even a file with the expected checksum cannot run code when unpickled
    monkeypatch.setattr(cifar100, "MD5", hashlib.md5(path.read_bytes()).hexdigest())
    with pytest.raises(InputError, match=r"global io\.open is not allowed"):
        load_dataset(config(tmp_path), Streams(0).rng("data"))
    assert not marker.exists()


def test_restricted_unpickler(tmp_path):
    marker = tmp_path / "unpickled"
    with pytest.raises(pickle.UnpicklingError, match=r"global io\.open is not allowed"):
        RestrictedUnpickler(io.BytesIO(pickle.dumps(SideEffect(marker)))).load()
    shell = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."  # protocol 0: os.system("touch ...")
    with pytest.raises(InputError, match=r"where: .*global os\.system is not allowed"):
        unpickle(io.BytesIO(shell), "where")
    assert not marker.exists()
    allowed = {b"data": np.arange(6, dtype=np.uint8).reshape(2, 3), b"labels": [1, 2], b"set": {3}, b"t": (4,)}
    for protocol in (3, 4):  # what numpy 2 writes; the official files are protocol 2 from Python 2
        loaded = unpickle(io.BytesIO(pickle.dumps(allowed, protocol=protocol)), "where")
        assert np.array_equal(loaded.pop(b"data"), allowed[b"data"]) and loaded == {k: v for k, v in allowed.items()
                                                                                   if k != b"data"}
    with pytest.raises(InputError, match="not a readable CIFAR pickle"):
        unpickle(io.BytesIO(b"\x80\x03junk"), "where")


def test_malformed_archives(tmp_path, monkeypatch):
    def load_with(members):
        path = write_tarball(archive_path(tmp_path), members)
        monkeypatch.setattr(cifar100, "MD5", hashlib.md5(path.read_bytes()).hexdigest())
        with pytest.raises(InputError) as err:
            load_dataset(config(tmp_path), Streams(0).rng("data"))
        path.unlink()
        return str(err.value)

    meta = official_pickle({b"fine_label_names": [n.encode() for n in NAMES]})
    batch = official_pickle({b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [0, 100]})
    assert "cifar-100-python/test missing" in load_with({"train": batch, "meta": meta})
    assert "fine labels must be in 0..99" in load_with({"train": batch, "test": batch, "meta": meta})
    short = official_pickle({b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [0]})
    assert "1 fine labels for 2 images" in load_with({"train": short, "test": short, "meta": meta})
    assert "100 byte-string names" in load_with({"train": batch, "test": batch, "meta": official_pickle({})})
