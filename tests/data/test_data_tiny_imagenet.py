"""Tiny ImageNet from small zips and folders written here in the official layout, and the real half zip."""

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgesim.data import DatasetConfig, check_dataset, class_names, load_dataset
from edgesim.data import tiny_imagenet
from edgesim.data.tiny_imagenet import MEAN, STD, Archive, load_tiny_imagenet, locate
from edgesim.errors import InputError
from edgesim.seeding import Streams

WNIDS = ["n03", "n01", "n02"]  # not sorted: labels follow wnids.txt
TRAIN_INDICES = [10, 2, 0, 1]  # written out of order; 10 sorts after 2 by number, not by text
VAL = [("val_0.JPEG", "n02"), ("val_1.JPEG", "n03"), ("val_2.JPEG", "n02"), ("val_3.JPEG", "n01"),
       ("val_4.JPEG", "n03"), ("val_5.JPEG", "n01")]
GRAY_TRAIN, GRAY_VAL = "n01_2.JPEG", "val_3.JPEG"


def train_colour(label, index):
    return 40 + 60 * label, 20 + 10 * index, 200


def val_colour(number):
    return 30 * number + 10, 120, 60


def write_jpeg(path, colour, gray=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (64, 64), colour)
    (image.convert("L") if gray else image).save(path, "JPEG", quality=95)


def write_tree(root):
    """The official layout under ``root/tiny-imagenet-200`` (``root`` then works as a data_dir)."""
    tree = root / "tiny-imagenet-200"
    tree.mkdir(parents=True)
    (tree / "wnids.txt").write_text("".join(f"{w}\n" for w in WNIDS))
    (tree / "words.txt").write_text("".join(f"{w}\tthing {w}\n" for w in sorted(WNIDS)))
    for label, wnid in enumerate(WNIDS):
        for i in TRAIN_INDICES:
            name = f"{wnid}_{i}.JPEG"
            write_jpeg(tree / "train" / wnid / "images" / name, train_colour(label, i), gray=name == GRAY_TRAIN)
        (tree / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
    for number, (name, _) in enumerate(VAL):
        write_jpeg(tree / "val" / "images" / name, val_colour(number), gray=name == GRAY_VAL)
    (tree / "val" / "val_annotations.txt").write_text("".join(f"{n}\t{w}\t0\t0\t63\t63\n" for n, w in VAL))
    return tree


def write_zip(path, tree):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for file in sorted(tree.rglob("*")):
            z.write(file, file.relative_to(tree.parent).as_posix())
    return path


@pytest.fixture
def folder(tmp_path):
    """A data dir holding only the extracted folder."""
    write_tree(tmp_path / "folder")
    return tmp_path / "folder"


@pytest.fixture
def zipped(tmp_path, folder, monkeypatch):
    """A data dir holding only ``tiny-imagenet-200.zip``, accepted by its MD5."""
    path = write_zip(tmp_path / "zipped" / "tiny-imagenet-200.zip", folder / "tiny-imagenet-200")
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setattr(tiny_imagenet, "ARCHIVES", (Archive("tiny-imagenet-200.zip", len(TRAIN_INDICES), md5=md5),))
    return path.parent


def config(data_dir, **kw):
    return DatasetConfig(name="tiny_imagenet", data_dir=str(data_dir), download=False, **kw)


def pixels(x):
    """Normalised float images back to 0..255 RGB, N x 3."""
    return (x.numpy().mean((2, 3)) * np.array(STD) + np.array(MEAN)) * 255


def gray(colour):
    return Image.new("RGB", (1, 1), colour).convert("L").getpixel((0, 0))


def test_zip_round_trip(zipped):
    assert check_dataset(config(zipped)) == []
    ds = load_dataset(config(zipped), Streams(0).rng("data"))
    assert ds.name == "tiny_imagenet" and ds.class_names == tuple(WNIDS) and ds.num_classes == 3
    assert class_names(config(zipped)) == tuple(WNIDS)
    assert ds.train_x.shape == (12, 3, 64, 64) and ds.test_x.shape == (6, 3, 64, 64) and ds.input_shape == (3, 64, 64)
    assert str(ds.train_x.dtype) == "torch.float32" and str(ds.train_y.dtype) == "torch.int64"
    assert ds.train_y.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    want = [train_colour(label, i) for label in range(3) for i in sorted(TRAIN_INDICES)]
    want[4 + 2] = (gray(want[4 + 2]),) * 3  # n01_2 is grayscale: its three channels are equal
    assert np.allclose(pixels(ds.train_x), want, atol=3)
    assert ds.test_y.tolist() == [WNIDS.index(w) for _, w in VAL]
    want = [val_colour(k) for k in range(len(VAL))]
    want[3] = (gray(want[3]),) * 3
    assert np.allclose(pixels(ds.test_x), want, atol=3)
    assert np.allclose(ds.train_x.numpy().std((2, 3)), 0, atol=0.05), "solid colours stay flat"


def test_raw_pixel_scale_is_the_standardised_images_unscaled(zipped):
    raw = load_dataset(config(zipped, pixel_scale="raw"), Streams(0).rng("data"))
    standardised = load_dataset(config(zipped), Streams(0).rng("data"))
    assert np.array_equal(raw.train_x.numpy(), np.round(raw.train_x.numpy())) and raw.train_x.max() <= 255
    assert np.allclose(pixels(standardised.train_x), raw.train_x.numpy().mean((2, 3)), atol=1e-3)


def test_limits_and_resize(zipped):
    ds = load_dataset(config(zipped, train_per_class=2, test_per_class=1, image_size=32), Streams(0).rng("data"))
    assert ds.train_x.shape == (6, 3, 32, 32) and ds.test_x.shape == (3, 3, 32, 32) and ds.input_shape == (3, 32, 32)
    assert np.allclose(pixels(ds.train_x), [train_colour(label, i) for label in range(3) for i in (0, 1)], atol=3)
    assert ds.test_y.tolist() == [2, 0, 1]  # the first val image of each class, in annotation order
    assert np.allclose(pixels(ds.test_x)[:2], [val_colour(0), val_colour(1)], atol=3)


def test_folder_reads_like_the_zip(folder, zipped):
    assert locate(folder) == (folder / "tiny-imagenet-200", None)
    assert check_dataset(config(folder)) == [] and class_names(config(folder)) == tuple(WNIDS)
    for options in ({}, {"train_per_class": 3, "test_per_class": 2, "image_size": 40}):
        a = load_dataset(config(folder, **options), Streams(0).rng("data"))
        b = load_dataset(config(zipped, **options), Streams(0).rng("data"))
        for field in ("train_x", "train_y", "test_x", "test_y"):
            assert np.array_equal(getattr(a, field).numpy(), getattr(b, field).numpy()), field
        assert a.class_names == b.class_names


def test_source_preference(folder):
    """The official zip, else the half zip, else the folder (empty files suffice: locate reads nothing)."""
    for name in ("tiny-imagenet-200-half.zip", "tiny-imagenet-200.zip"):
        (folder / name).write_bytes(b"")
        path, archive = locate(folder)
        assert path == folder / name and archive.name == name


def test_folder_problems_reported_by_check(folder):
    (folder / "tiny-imagenet-200" / "train" / "n01" / "images" / "n01_0.JPEG").unlink()
    for image in (folder / "tiny-imagenet-200" / "train" / "n02" / "images").iterdir():
        image.unlink()
    (problem,) = check_dataset(config(folder))
    assert "no training images for class n02" in problem
    with pytest.raises(InputError, match="no training images for class n02"):
        load_dataset(config(folder), Streams(0).rng("data"))
    (folder / "tiny-imagenet-200" / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn99\n")
    (folder / "tiny-imagenet-200" / "train" / "n02" / "images" / "n02_0.JPEG").write_bytes(b"not a jpeg")
    (problem,) = check_dataset(config(folder))
    assert "val_annotations.txt, line 1" in problem and "n99" in problem
    (folder / "tiny-imagenet-200" / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn02\n")
    with pytest.raises(InputError, match=r"n02_0\.JPEG: not a readable image"):
        load_dataset(config(folder), Streams(0).rng("data"))


def test_sizes_come_from_the_source(folder, zipped):
    # the folder is counted (n01_0 removed: 3 + 4 + 4 train images); the zip's sizes are known from its entry
    (folder / "tiny-imagenet-200" / "train" / "n01" / "images" / "n01_0.JPEG").unlink()
    problems = check_dataset(config(folder, validation_size=11, test_subset=7))
    assert [p.split(":")[0] for p in problems] == ["dataset.validation_size", "dataset.test_subset"]
    assert check_dataset(config(folder, validation_size=10, test_subset=6)) == []
    assert check_dataset(config(folder, train_per_class=2, validation_size=5, test_per_class=1, test_subset=3)) == []
    (problem,) = check_dataset(config(zipped, train_per_class=2, validation_size=400))  # 200 classes x 2
    assert problem.startswith("dataset.validation_size: 400 leaves nothing of the 400 train samples")
    with pytest.raises(InputError, match="leaves nothing of the 12 train samples"):  # the files hold fewer
        load_dataset(config(zipped, validation_size=12), Streams(0).rng("data"))


def test_checksum_mismatch_refused_before_opening(zipped, monkeypatch):
    monkeypatch.setattr(tiny_imagenet, "ARCHIVES", (Archive("tiny-imagenet-200.zip", 4, sha256="0" * 64),))
    (problem,) = check_dataset(config(zipped))
    assert "sha256 checksum mismatch" in problem
    for action in (lambda: load_dataset(config(zipped), Streams(0).rng("data")), lambda: class_names(config(zipped))):
        with pytest.raises(InputError, match="sha256 checksum mismatch"):
            action()


def test_missing_then_downloaded(tmp_path, zipped, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    (problem,) = check_dataset(config(empty))
    for needed in ("Tiny ImageNet not found", "tiny-imagenet-200.zip", "200/ folder", "downloading is off"):
        assert needed in problem
    with pytest.raises(InputError, match="Tiny ImageNet not found"):
        load_dataset(config(empty), Streams(0).rng("data"))
    (archive,) = tiny_imagenet.ARCHIVES
    source = (zipped / archive.name).as_uri()
    monkeypatch.setattr(tiny_imagenet, "ARCHIVES", (Archive(archive.name, 4, md5=archive.md5, urls=(source,)),))
    online = config(empty).model_copy(update={"download": True})
    assert check_dataset(online) == []
    assert load_dataset(online, Streams(0).rng("data")).class_names == tuple(WNIDS)
    assert sorted(p.name for p in empty.iterdir()) == ["tiny-imagenet-200.zip"]


REAL = Path(os.environ.get("EDGESIM_DATA", "/nonexistent"))


@pytest.mark.skipif(not (REAL / "tiny-imagenet-200-half.zip").is_file(),
                    reason="EDGESIM_DATA has no tiny-imagenet-200-half.zip")
def test_real_half_zip():
    config = DatasetConfig(name="tiny_imagenet", download=False, train_per_class=2, test_per_class=2, image_size=32)
    if (REAL / "tiny-imagenet-200.zip").exists():
        pytest.skip("EDGESIM_DATA also has the full zip, which takes precedence")
    assert check_dataset(config) == []
    ds = load_dataset(config, Streams(0).rng("data"))
    with zipfile.ZipFile(REAL / "tiny-imagenet-200-half.zip") as z:
        wnids = tuple(z.read("tiny-imagenet-200/wnids.txt").decode().split())
    assert len(wnids) == 200 and ds.class_names == wnids and class_names(config) == wnids
    assert ds.train_x.shape == (400, 3, 32, 32) and ds.test_x.shape == (400, 3, 32, 32) and ds.num_classes == 200
    assert ds.train_y.tolist() == [k for k in range(200) for _ in range(2)]
    assert np.bincount(ds.test_y.numpy(), minlength=200).tolist() == [2] * 200
    assert abs(ds.train_x.mean().item()) < 0.2 and 0.7 < ds.train_x.std().item() < 1.2


@pytest.mark.parametrize("name", ["../../../etc/passwd", "/etc/passwd", "..", "sub/val_0.JPEG"])
def test_annotations_naming_paths_outside_the_images_folder_are_refused(folder, name):
    annotations = folder / "tiny-imagenet-200" / "val" / "val_annotations.txt"
    annotations.write_text(f"{name}\tn02\t0\t0\t63\t63\n" + annotations.read_text())
    with pytest.raises(InputError, match="is not a file name in val/images/"):
        load_tiny_imagenet(folder, download=False)
    assert any("is not a file name" in p for p in tiny_imagenet.check_files(folder, download=False))


def test_a_member_that_resolves_outside_the_tree_is_refused(folder, tmp_path):
    outside = tmp_path / "outside.JPEG"
    write_jpeg(outside, (1, 2, 3))
    image = folder / "tiny-imagenet-200" / "val" / "images" / "val_0.JPEG"
    image.unlink()
    image.symlink_to(outside)
    with pytest.raises(InputError, match="lies outside"):
        load_tiny_imagenet(folder, download=False)


def test_a_fifo_a_huge_image_or_a_non_image_is_an_input_error_not_a_hang_or_traceback(folder):
    images = folder / "tiny-imagenet-200" / "val" / "images"
    (images / "val_0.JPEG").unlink()
    os.mkfifo(images / "val_0.JPEG")  # reading it would block forever
    with pytest.raises(InputError, match="val_0.JPEG: not a regular file"):
        load_tiny_imagenet(folder, download=False)
    (images / "val_0.JPEG").unlink()
    Image.new("L", (5000, 5000)).save(images / "val_0.JPEG", format="JPEG")  # small file, huge image
    with pytest.raises(InputError, match="a 5000x5000 image; Tiny ImageNet images are 64x64"):
        load_tiny_imagenet(folder, download=False)
    (images / "val_0.JPEG").write_bytes(b"not an image")
    with pytest.raises(InputError, match=r"val_0.JPEG: not a readable image \(not a format PIL knows\)"):
        load_tiny_imagenet(folder, download=False)
    wnids = folder / "tiny-imagenet-200" / "wnids.txt"
    wnids.unlink()
    os.mkfifo(wnids)
    with pytest.raises(InputError, match="wnids.txt: not a regular file"):
        load_tiny_imagenet(folder, download=False)
