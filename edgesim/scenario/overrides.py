"""Dotted-key edits of a raw scenario mapping (``--set``, sweep variants)."""

from __future__ import annotations

import copy
import re
from typing import Any

from edgesim.errors import InputError, brief
from edgesim.yaml_file import parse_yaml


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"fleet.groups.0.count=5"`` -> (key, value); the value is read as YAML (numbers, lists, ...)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("--set: the argument is not UTF-8 text") from None
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InputError(f"--set {brief(text)}: expected dotted.key=value")
    return key.strip(), parse_yaml(raw, f"--set {brief(key.strip())}")


_PART = re.compile(r"\[([^\[\]]+)\]|([^.\[\]]+)")
_KEY = re.compile(r"(?:\[[^\[\]]+\]|[^.\[\]]+)(?:\.[^.\[\]]+|\[[^\[\]]+\])*")


def split_key(key: str) -> list[str]:
    """The parts of a dotted key: ``a.b.0.c`` -> ``[a, b, 0, c]``. A part in square brackets is taken
    whole, dots and all, so that a key whose name holds dots can be addressed:
    ``sweep.grid[fleet.stragglers]`` -> ``[sweep, grid, fleet.stragglers]``."""
    if not _KEY.fullmatch(key):
        raise InputError(f"{brief(key)}: not a dotted key (parts separated by dots, none empty; a part with "
                         "dots in square brackets, e.g. sweep.grid[fleet.stragglers])")
    return [bracketed or plain for bracketed, plain in _PART.findall(key)]


def set_dotted(data: dict, key: str, value: Any) -> dict:
    """A copy of ``data`` with ``key`` (``a.b.0.c``, see ``split_key``) set to ``value``; missing mappings
    are created."""
    result = copy.deepcopy(data)
    parts = split_key(key)
    node: Any = result
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise InputError(f"{here}: index {brief(part)} is not in a list of {len(node)} items")
            index: Any = int(part)
        elif isinstance(node, dict):
            index = part
            if not last and not isinstance(node.get(part), (dict, list)):
                node[part] = {}
        else:
            raise InputError(f"{here}: cannot set a key inside a {type(node).__name__}")
        if last:
            node[index] = value
        else:
            node = node[index]
    return result
