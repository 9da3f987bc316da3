"""Reading a text file a person gave us: what it must be, and one line naming why it is not."""

from pathlib import Path

import pytest

from edgesim.errors import InputError
from edgesim.text_file import read_text_file


def test_a_utf8_file_is_its_text(tmp_path):
    (tmp_path / "f.txt").write_text("café\n", encoding="utf-8")
    assert read_text_file(tmp_path / "f.txt", "list", 100) == "café\n"


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing.txt", "list not found"),
    (lambda tmp: tmp, "a directory, not a list"),
    (lambda tmp: Path("/dev/null"), "not a regular file, not a list"),
])
def test_what_is_not_a_regular_file(tmp_path, make, message):
    with pytest.raises(InputError, match=message):
        read_text_file(make(tmp_path), "list", 100)


def test_size_and_encoding_limits(tmp_path):
    (tmp_path / "big.txt").write_text("x" * 3000)
    with pytest.raises(InputError, match=r"big.txt: 3 KiB is larger than a list may be \(2 KiB\)"):
        read_text_file(tmp_path / "big.txt", "list", 2048)
    (tmp_path / "bad.txt").write_bytes(b"ok\nab\xffc\n")
    with pytest.raises(InputError, match=r"bad.txt:2:3: not UTF-8 text \(byte 0xff\)"):
        read_text_file(tmp_path / "bad.txt", "list", 100)


def test_a_long_path_is_shown_by_its_end(tmp_path):
    deep = tmp_path / ("d" * 200) / "missing.yaml"
    with pytest.raises(InputError) as caught:
        read_text_file(deep, "scenario file", 1000)
    (message,) = caught.value.problems
    assert message.startswith("…") and message.endswith("missing.yaml: scenario file not found")
    assert len(message) < 200
