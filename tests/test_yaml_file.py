"""Reading YAML files people give us: limits on size, encoding, depth and alias expansion, one line each."""

from __future__ import annotations

import pytest

from edgesim.errors import InputError
from edgesim.yaml_file import MAX_BYTES, parse_yaml, read_yaml_file


def problem(tmp_path, content: bytes) -> str:
    path = tmp_path / "f.yaml"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_yaml_file(path)
    [message] = caught.value.problems
    return message


def test_plain_yaml_with_anchors_reads_as_data(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("base: &b {a: 1}\nother: *b\nlist: [1, 2.5, x]\n")
    assert read_yaml_file(path) == {"base": {"a": 1}, "other": {"a": 1}, "list": [1, 2.5, "x"]}
    path.write_text("")
    assert read_yaml_file(path) is None


def test_the_first_byte_that_is_not_utf8_is_located(tmp_path):
    assert problem(tmp_path, b"name: x\nfleet: caf\xe9\n").endswith("f.yaml:2:11: not UTF-8 text (byte 0xe9); "
                                                                     "save the file as UTF-8")


def test_size_depth_and_expansion_limits(tmp_path):
    assert "KiB is larger than a scenario file may be (256 KiB)" in problem(tmp_path, b"#" * (MAX_BYTES + 1))
    assert "nested more than 32 levels deep" in problem(tmp_path, b"a: " + b"[" * 40 + b"]" * 40)
    bomb = "a: &a [" + ", ".join(["x"] * 50) + "]\n" + "".join(
        f"{n}: &{n} [" + ", ".join([f"*{p}"] * 50) + "]\n" for p, n in zip("abcd", "bcde"))
    assert "aliases expand to more than 100,000 values" in problem(tmp_path, bomb.encode())
    assert "an alias refers to a value that contains it" in problem(tmp_path, b"a: &a [1, *a]\n")


def test_syntax_errors_and_python_tags_are_one_line(tmp_path):
    assert "f.yaml:2:1: YAML syntax error" in problem(tmp_path, b"a: [1,\n")
    assert "YAML syntax error" in problem(tmp_path, b"a: !!python/object:os.system x\n")


def test_what_is_not_a_file(tmp_path):
    with pytest.raises(InputError, match="a directory, not a scenario file"):
        read_yaml_file(tmp_path)
    with pytest.raises(InputError, match="scenario file not found"):
        read_yaml_file(tmp_path / "missing.yaml")


def test_parse_yaml_names_its_source():
    with pytest.raises(InputError, match="^--set x:1:33: nested more than 32 levels deep"):
        parse_yaml("[" * 40 + "]" * 40, "--set x")


def test_exponent_numbers_without_a_dot_are_numbers():
    assert parse_yaml("a: 1e-9\nb: 5E3\nc: 1.5e3\nd: x1e3\ne: 12\n", "f") == {
        "a": 1e-9, "b": 5000.0, "c": 1500.0, "d": "x1e3", "e": 12}


def test_integers_beyond_what_python_reads_are_one_line(tmp_path):
    assert "a value beyond what can be read (Exceeds the limit" in problem(tmp_path, b"seed: " + b"9" * 5000)
