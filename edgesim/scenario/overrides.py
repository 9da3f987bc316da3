"""Dotted-key edits of a raw scenario mapping (``--set``, sweep variants)."""

from __future__ import annotations

import copy
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


def set_dotted(data: dict, key: str, value: Any) -> dict:
    """A copy of ``data`` with ``key`` (``a.b.0.c``) set to ``value``; missing mappings are created."""
    result = copy.deepcopy(data)
    parts = key.split(".")
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
