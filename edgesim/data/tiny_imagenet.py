"""Tiny ImageNet (200 WordNet classes, 64x64 JPEG) in the official ``tiny-imagenet-200/`` layout.

Sources, in order of preference, all directly under ``<data_dir>``:

1. ``tiny-imagenet-200.zip``, the official archive (500 train images per class);
2. ``tiny-imagenet-200-half.zip``, the same layout with the first 250 train images per class;
3. an extracted ``tiny-imagenet-200/`` folder. A folder cannot be checksummed
   cheaply, so it is read as it is, without any integrity check.

A zip's checksum is verified before it is opened. When none is present the
official zip is downloaded (if ``dataset.download`` allows). The labelled ``val``
split is the test set; the official test split is unlabelled and not used.
Labels are positions in ``wnids.txt``; train images are ordered by class in that
order, then by the index ``i`` of ``<wnid>_<i>.JPEG``; test images keep the order
of ``val/val_annotations.txt``. Images are decoded on every load, with no
cache: decoding the whole half zip takes 7-9 s on one core (10-16 s for the
whole load at 64x64, normalisation included).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from edgesim.download import fetch, verify
from edgesim.data.config import PixelScale
from edgesim.data.images import first_per_class, normalise, rgb_pixels
from edgesim.errors import InputError

ROOT = "tiny-imagenet-200"
NUM_CLASSES, VAL_PER_CLASS, NATIVE_SIZE = 200, 50, 64
MEAN, STD = (0.4802, 0.4481, 0.3975), (0.2770, 0.2691, 0.2821)  # per channel, over the official train set
MAX_MEMBER_BYTES = 64 * 2**20
"""The largest file of the tree read (the biggest official one, val_annotations.txt, is about 0.3 MB)."""
MAX_IMAGE_SIDE = 1024
"""The largest image side decoded; the official images are 64x64."""
_TRAIN_IMAGE = re.compile(rf"{ROOT}/train/([^/]+)/images/([^/]+)_(\d+)\.JPEG")


@dataclass(frozen=True)
class Archive:
    """An accepted zip of the official layout, with its checksum and how many train images per class it holds."""

    name: str
    train_per_class: int
    md5: str | None = None
    sha256: str | None = None
    urls: tuple[str, ...] = ()


ARCHIVES = (  # in order of preference; the first is downloaded when no source is present
    Archive("tiny-imagenet-200.zip", 500, md5="90528d7ca1a48142e341f4ef8d21d0de",
            urls=("http://cs231n.stanford.edu/tiny-imagenet-200.zip",)),
    Archive("tiny-imagenet-200-half.zip", 250,
            sha256="14c23a2a460dadb3cfb1ad0dcaf1934a04ec024853ae152b1f6b8276f8a755ff"),
)


def locate(data_dir: Path) -> tuple[Path, Archive | None] | None:
    """The source a load would read: the first archive present (with its entry in ``ARCHIVES``),
    else the extracted folder (with ``None``), else ``None`` when there is nothing."""
    data_dir = Path(data_dir)
    for archive in ARCHIVES:
        if (data_dir / archive.name).exists():
            return data_dir / archive.name, archive
    if (data_dir / ROOT).is_dir():
        return data_dir / ROOT, None
    return None


def check_files(data_dir: Path, download: bool) -> list[str]:
    """Problems with the source found without decoding images: a zip's checksum; a folder's
    ``wnids.txt``, ``val_annotations.txt`` and train folders; absence when downloading is off."""
    try:
        found = locate(data_dir)
        if found is None:
            return [] if download else [_not_found(data_dir)]
        path, archive = found
        if archive is not None:
            verify(path, md5=archive.md5, sha256=archive.sha256)
        else:
            with _Tree(path) as tree:
                _catalogue(tree, None, None)
    except InputError as exc:
        return exc.problems
    return []


def split_sizes(data_dir: Path, train_per_class: int | None, test_per_class: int | None) -> tuple[int, int] | None:
    """Train and test set sizes after the per-class limits: from the archive's known contents (the
    official zip's when it is still to be downloaded), or counted in a folder (``None`` if unreadable)."""
    found = locate(data_dir)
    archive = ARCHIVES[0] if found is None else found[1]
    if archive is None:
        try:
            with _Tree(found[0]) as tree:
                catalogue = _catalogue(tree, train_per_class, test_per_class)
        except InputError:
            return None
        return len(catalogue.train), len(catalogue.test)
    return (NUM_CLASSES * min(train_per_class or archive.train_per_class, archive.train_per_class),
            NUM_CLASSES * min(test_per_class or VAL_PER_CLASS, VAL_PER_CLASS))


def read_wnids(data_dir: Path, download: bool = True) -> tuple[str, ...]:
    """The class wnids in ``wnids.txt`` order, read from the (verified) source without decoding images."""
    with _Tree(_source(data_dir, download)) as tree:
        return _read_wnids(tree)


def load_tiny_imagenet(
    data_dir: Path,
    download: bool = True,
    image_size: int | None = None,
    train_per_class: int | None = None,
    test_per_class: int | None = None,
    pixel_scale: PixelScale = "standardised",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """``(train_x, train_y, test_x, test_y, wnids)``; the test set is the labelled val split.

    Images are float32 ``N x 3 x S x S`` (``S = image_size or 64``), normalised (or, with
    ``pixel_scale="raw"``, the pixel values 0-255),
    grayscale ones converted to RGB. The per-class limits keep the first n images
    of each class in the order described in the module docstring.
    """
    size = image_size or NATIVE_SIZE
    with _Tree(_source(data_dir, download)) as tree:
        catalogue = _catalogue(tree, train_per_class, test_per_class)
        train_x = normalise(_decode(tree, catalogue.train, size), MEAN, STD, pixel_scale)
        test_x = normalise(_decode(tree, catalogue.test, size), MEAN, STD, pixel_scale)
    return (train_x, torch.from_numpy(catalogue.train_y), test_x, torch.from_numpy(catalogue.test_y),
            catalogue.wnids)


def _not_found(data_dir: Path) -> str:
    names = ", ".join(a.name for a in ARCHIVES)
    return (f"dataset.data_dir: Tiny ImageNet not found in {data_dir} (looked for {names} and a {ROOT}/ folder) "
            "and downloading is off; set EDGESIM_DATA or dataset.data_dir, or allow dataset.download")


def _source(data_dir: Path, download: bool) -> Path:
    """The verified zip or the folder to read, downloading the official zip when nothing is present."""
    found = locate(data_dir)
    if found is None:
        if not download:
            raise InputError(_not_found(data_dir))
        first = ARCHIVES[0]
        return fetch(Path(data_dir) / first.name, list(first.urls), md5=first.md5, sha256=first.sha256)
    path, archive = found
    if archive is not None:
        verify(path, md5=archive.md5, sha256=archive.sha256)
    return path


class _Tree:
    """The files of a ``tiny-imagenet-200/`` tree in a zip (``path`` is the zip) or a folder (``path`` is the folder).

    Members are named by their path from the zip root, e.g. ``tiny-imagenet-200/wnids.txt``.
    """

    def __init__(self, path: Path):
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            names = [p.relative_to(path.parent).as_posix() for p in (path / "train").glob("*/images/*")]
        else:
            try:
                self._zip = zipfile.ZipFile(path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise InputError(f"{path}: not a readable zip archive ({exc})") from None
            names = self._zip.namelist()
        indexed: dict[str, list[tuple[int, str]]] = {}
        for name in names:
            match = _TRAIN_IMAGE.fullmatch(name)
            if match and match[1] == match[2]:
                indexed.setdefault(match[1], []).append((int(match[3]), name))
        self.train = {wnid: [name for _, name in sorted(items)] for wnid, items in indexed.items()}
        """Train image members of each wnid, ordered by image index."""

    def __enter__(self) -> _Tree:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def where(self, member: str) -> str:
        """How to name ``member`` in a message."""
        return f"{self.path}:{member}" if self._zip is not None else str(self.path.parent / member)

    def read(self, member: str) -> bytes:
        """The bytes of ``member``; ``InputError`` when it is missing, unreadable, not a regular file (a FIFO
        would block) or larger than ``MAX_MEMBER_BYTES``."""
        try:
            if self._zip is not None:
                size = self._zip.getinfo(member).file_size
            else:
                path = (self.path.parent / member).resolve()
                if not path.is_relative_to(self.path.resolve()):
                    raise InputError(f"{self.where(member)}: lies outside {self.path}; refused")
                if path.exists() and not path.is_file():
                    raise InputError(f"{self.where(member)}: not a regular file")
                size = path.stat().st_size
            if size > MAX_MEMBER_BYTES:
                raise InputError(f"{self.where(member)}: {size:,} bytes, more than the "
                                 f"{MAX_MEMBER_BYTES // 2**20} MiB a Tiny ImageNet file may hold")
            return self._zip.read(member) if self._zip is not None else path.read_bytes()
        except (KeyError, FileNotFoundError):
            raise InputError(f"{self.where(member)}: missing") from None
        except (OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"{self.where(member)}: cannot be read ({exc})") from None


@dataclass(frozen=True)
class _Catalogue:
    """What a load reads, after the per-class limits: members and labels of each split."""

    wnids: tuple[str, ...]
    train: list[str]
    train_y: np.ndarray
    test: list[str]
    test_y: np.ndarray


def _read_wnids(tree: _Tree) -> tuple[str, ...]:
    member = f"{ROOT}/wnids.txt"
    wnids = tuple(line.strip() for line in tree.read(member).decode("ascii", "replace").splitlines() if line.strip())
    if not wnids or len(set(wnids)) != len(wnids):
        raise InputError(f"{tree.where(member)}: expected one distinct wnid per line")
    return wnids


def _catalogue(tree: _Tree, train_per_class: int | None, test_per_class: int | None) -> _Catalogue:
    wnids = _read_wnids(tree)
    train: list[str] = []
    train_y: list[int] = []
    for label, wnid in enumerate(wnids):
        members = tree.train.get(wnid)
        if not members:
            raise InputError(f"{tree.where(f'{ROOT}/train/{wnid}/images/')}: no training images for class {wnid}")
        members = members[:train_per_class]
        train.extend(members)
        train_y.extend([label] * len(members))
    labels = {wnid: label for label, wnid in enumerate(wnids)}
    member = f"{ROOT}/val/val_annotations.txt"
    test: list[str] = []
    test_y: list[int] = []
    for number, line in enumerate(tree.read(member).decode("ascii", "replace").splitlines(), start=1):
        fields = line.split("\t")
        if not line.strip():
            continue
        if len(fields) < 2 or fields[1] not in labels:
            raise InputError(f"{tree.where(member)}, line {number}: expected 'file<TAB>wnid ...' with a wnid "
                             f"from wnids.txt, found {line[:80]!r}")
        if not _plain_file_name(fields[0]):
            raise InputError(f"{tree.where(member)}, line {number}: {fields[0][:80]!r} is not a file name in "
                             "val/images/ (paths are refused: the data must stay inside the data folder)")
        test.append(f"{ROOT}/val/images/{fields[0]}")
        test_y.append(labels[fields[1]])
    keep = first_per_class(np.asarray(test_y, dtype=np.int64), test_per_class)
    return _Catalogue(wnids, train, np.asarray(train_y, dtype=np.int64),
                      [test[i] for i in keep], np.asarray(test_y, dtype=np.int64)[keep])


def _plain_file_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\0")


def _decode(tree: _Tree, members: list[str], size: int) -> np.ndarray:
    """uint8 ``N x size x size x 3`` RGB pixels of the JPEG members, in order. An image larger than
    ``MAX_IMAGE_SIDE`` on a side is refused before it is decoded (a small file can hold a huge image)."""
    out = np.empty((len(members), size, size, 3), dtype=np.uint8)
    for i, member in enumerate(members):
        try:
            with Image.open(io.BytesIO(tree.read(member))) as image:
                if max(image.size) > MAX_IMAGE_SIDE:
                    raise InputError(f"{tree.where(member)}: a {image.size[0]}x{image.size[1]} image; Tiny "
                                     f"ImageNet images are 64x64 (at most {MAX_IMAGE_SIDE} a side is read)")
                out[i] = rgb_pixels(image, size)
        except UnidentifiedImageError:
            raise InputError(f"{tree.where(member)}: not a readable image (not a format PIL knows)") from None
        except (OSError, Image.DecompressionBombError) as exc:  # truncated or corrupt data are OSErrors
            raise InputError(f"{tree.where(member)}: not a readable image ({exc})") from None
    return out
