"""CIFAR-100 from the official python tarball ``<data_dir>/cifar100/cifar-100-python.tar.gz``.

The tarball's MD5 is checked before it is opened; its ``train``, ``test`` and
``meta`` members are read straight from the archive (nothing is extracted) and
unpickled with an unpickler that only rebuilds numpy arrays and builtin
containers, so not even a file with the right checksum can run code.
"""

from __future__ import annotations

import pickle
import tarfile
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from PIL import Image

from edgesim.download import fetch, verify
from edgesim.data.config import PixelScale
from edgesim.data.images import first_per_class, normalise, rgb_pixels
from edgesim.errors import InputError

ARCHIVE = "cifar-100-python.tar.gz"
URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
MD5 = "eb9058c3a382ffc7106e4002c42a8d85"
NUM_CLASSES, TRAIN_PER_CLASS, TEST_PER_CLASS, NATIVE_SIZE = 100, 500, 100, 32
MEAN, STD = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)  # per channel, over the train set
_MEMBERS = {"train": "cifar-100-python/train", "test": "cifar-100-python/test", "meta": "cifar-100-python/meta"}

_RECONSTRUCT = np.empty(0).__reduce__()[0]  # numpy's array-rebuilding function, wherever this numpy keeps it
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,  # the name in the official files (numpy 1.x)
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # the name numpy 2 writes
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{("builtins", c.__name__): c for c in (dict, list, tuple, set, frozenset)},
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals CIFAR's pickles need: numpy arrays and builtin containers."""

    def find_class(self, module: str, name: str) -> Any:
        """The allowed object named ``module.name``; anything else raises ``pickle.UnpicklingError``."""
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed") from None


def unpickle(file: IO[bytes], where: str) -> Any:
    """The object pickled in ``file`` (Python 2 strings become bytes), via ``RestrictedUnpickler``.

    ``where`` names the file in the ``InputError`` raised for anything unreadable or disallowed.
    """
    try:
        return RestrictedUnpickler(file, encoding="bytes").load()
    except Exception as exc:  # a malformed pickle can raise nearly any exception type
        raise InputError(f"{where}: not a readable CIFAR pickle ({type(exc).__name__}: {exc})") from None


def archive_path(data_dir: Path) -> Path:
    """Where the tarball lives."""
    return Path(data_dir) / "cifar100" / ARCHIVE


def check_files(data_dir: Path, download: bool) -> list[str]:
    """Problems with the tarball found without reading it (checksum; absence when downloading is off)."""
    path = archive_path(data_dir)
    if not path.exists():
        if download:
            return []
        return [f"dataset.data_dir: CIFAR-100 archive {ARCHIVE} not found in {path.parent}; "
                "set EDGESIM_DATA or dataset.data_dir, or allow dataset.download"]
    try:
        verify(path, md5=MD5)
    except InputError as exc:
        return exc.problems
    return []


def split_sizes(train_per_class: int | None, test_per_class: int | None) -> tuple[int, int]:
    """Train and test set sizes after the per-class limits."""
    return (NUM_CLASSES * min(train_per_class or TRAIN_PER_CLASS, TRAIN_PER_CLASS),
            NUM_CLASSES * min(test_per_class or TEST_PER_CLASS, TEST_PER_CLASS))


def read_class_names(data_dir: Path, download: bool = True) -> tuple[str, ...]:
    """The 100 fine label names in label order, from the ``meta`` member.

    Needs the tarball (fetched and verified like for loading); images are not
    parsed, but the gzip stream is read up to ``meta``, about a second.
    """
    path = fetch(archive_path(data_dir), [URL], md5=MD5, allow_download=download)
    return _class_names(_read_members(path, ["meta"])["meta"], path)


def load_cifar100(
    data_dir: Path,
    download: bool = True,
    image_size: int | None = None,
    train_per_class: int | None = None,
    test_per_class: int | None = None,
    pixel_scale: PixelScale = "standardised",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """``(train_x, train_y, test_x, test_y, class_names)`` with fine labels.

    Images are float32 ``N x 3 x S x S`` (``S = image_size or 32``), normalised or, with
    ``pixel_scale="raw"``, the pixel values 0-255.
    The per-class limits keep the first n images of each class in file order.
    """
    path = fetch(archive_path(data_dir), [URL], md5=MD5, allow_download=download)
    members = _read_members(path, ["train", "test", "meta"])
    names = _class_names(members.pop("meta"), path)
    size = image_size or NATIVE_SIZE
    train = _read_split(members["train"], f"{path}:{_MEMBERS['train']}", size, train_per_class, pixel_scale)
    test = _read_split(members["test"], f"{path}:{_MEMBERS['test']}", size, test_per_class, pixel_scale)
    return (*train, *test, names)


def _read_members(path: Path, wanted: list[str]) -> dict[str, Any]:
    """The unpickled ``wanted`` members (keys of ``_MEMBERS``), read in one pass over the tarball."""
    by_member = {_MEMBERS[key]: key for key in wanted}
    found: dict[str, Any] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for info in tar:
                key = by_member.get(info.name)
                if key is not None and info.isfile():
                    found[key] = unpickle(tar.extractfile(info), f"{path}:{info.name}")
                    if len(found) == len(wanted):
                        break
    except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:
        raise InputError(f"{path}: not a readable tar.gz archive ({exc})") from None
    missing = [_MEMBERS[key] for key in wanted if key not in found]
    if missing:
        raise InputError(f"{path}: member(s) {', '.join(missing)} missing; is this the CIFAR-100 python archive?")
    return found


def _class_names(meta: Any, path: Path) -> tuple[str, ...]:
    names = meta.get(b"fine_label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != NUM_CLASSES or not all(isinstance(n, bytes) for n in names):
        raise InputError(f"{path}:{_MEMBERS['meta']}: expected {NUM_CLASSES} byte-string names "
                         "under b'fine_label_names'")
    return tuple(n.decode("ascii") for n in names)


def _read_split(batch: Any, where: str, size: int, per_class: int | None,
                pixel_scale: PixelScale) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised images and fine labels of one unpickled split, after the per-class limit and resizing."""
    if not isinstance(batch, dict):
        raise InputError(f"{where}: expected a dict, found {type(batch).__name__}")
    data, labels = batch.get(b"data"), batch.get(b"fine_labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise InputError(f"{where}: b'data' must be a uint8 array of N x 3072 pixels")
    labels = np.asarray(labels if labels is not None else [], dtype=np.int64)
    if labels.shape != (len(data),):
        raise InputError(f"{where}: {labels.size} fine labels for {len(data)} images")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise InputError(f"{where}: fine labels must be in 0..{NUM_CLASSES - 1}")
    keep = first_per_class(labels, per_class)
    images = data[keep].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # channel-major rows to N x H x W x 3
    if size != NATIVE_SIZE:
        resized = np.empty((len(images), size, size, 3), dtype=np.uint8)
        for i, image in enumerate(images):
            resized[i] = rgb_pixels(Image.fromarray(image), size)
        images = resized
    return normalise(images, MEAN, STD, pixel_scale), torch.from_numpy(labels[keep])
