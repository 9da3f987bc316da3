"""fetch/verify: checksums, offline messages, download via file:// URLs (never the network)."""

import hashlib

import pytest

from edgesim.download import fetch, verify
from edgesim.errors import InputError

PAYLOAD = b"edgesim test payload\n" * 100
MD5 = hashlib.md5(PAYLOAD).hexdigest()
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "source" / "blob.bin"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def test_verify_accepts_matching_and_rejects_mismatch(source):
    verify(source, md5=MD5, sha256=SHA256)
    verify(source)
    with pytest.raises(InputError) as err:
        verify(source, md5="0" * 32)
    message = str(err.value)
    assert str(source) in message and "0" * 32 in message and MD5 in message


def test_fetch_existing_file_is_verified(source):
    assert fetch(source, [], md5=MD5) == source
    with pytest.raises(InputError, match="sha256 checksum mismatch"):
        fetch(source, [], sha256="f" * 64)


def test_fetch_missing_without_download_explains(tmp_path):
    target = tmp_path / "mnist" / "train.gz"
    with pytest.raises(InputError) as err:
        fetch(target, ["https://example.invalid/train.gz"], md5=MD5, allow_download=False)
    message = str(err.value)
    for needed in ("train.gz", str(target.parent), "EDGESIM_DATA", "dataset.data_dir", "example.invalid"):
        assert needed in message
    assert not target.exists()


def test_fetch_downloads_from_first_working_url(tmp_path, source):
    target = tmp_path / "cache" / "blob.bin"
    missing = (tmp_path / "nope.bin").as_uri()
    assert fetch(target, [missing, source.as_uri()], md5=MD5) == target
    assert target.read_bytes() == PAYLOAD
    assert [p.name for p in target.parent.iterdir()] == ["blob.bin"], "no temp files left behind"


def test_fetch_rejects_corrupt_download_and_lists_every_url(tmp_path, source):
    target = tmp_path / "cache" / "blob.bin"
    missing = (tmp_path / "nope.bin").as_uri()
    with pytest.raises(InputError) as err:
        fetch(target, [missing, source.as_uri()], md5="0" * 32)
    message = str(err.value)
    assert missing in message and source.as_uri() in message and "checksum mismatch" in message
    assert not target.exists() and list(target.parent.iterdir()) == []
