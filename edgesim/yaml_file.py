"""Reading a YAML file that a person gave us, safely: whatever its bytes, one line of error within a second.

Limits, each an ``InputError`` naming the file:

- at most ``MAX_BYTES`` (256 KiB; a scenario is a page of settings, long
  traces belong in their own files);
- UTF-8 text (the error gives the line and column of the first bad byte);
- nesting at most ``MAX_DEPTH`` mappings and lists deep;
- at most ``MAX_VALUES`` values once aliases (``*anchor``) are expanded, so
  an "alias bomb" of a few lines cannot expand to billions of values.

Only plain YAML is built (``SafeLoader``: no Python objects). libyaml's C
parser is used when PyYAML has it, as it reads a file the size of the limit
in about a tenth of a second. Numbers in exponent notation without a dot
(``1e-9``, ``5e3``) are numbers, as in YAML 1.2, not the strings YAML 1.1
makes of them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from edgesim.errors import InputError, brief_path
from edgesim.text_file import read_text_file

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_VALUES = 100_000



class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe loader, reading ``1e-9`` as a float."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))
_LOADER = _Loader
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def read_yaml_file(path: Path, what: str = "scenario file") -> Any:
    """The file's YAML document as plain Python data (``None`` for an empty file)."""
    return parse_yaml(read_text_file(path, what, MAX_BYTES), str(path))


def read_yaml_mapping(path: Path, what: str = "scenario file") -> dict:
    """``read_yaml_file`` for a file whose top level must be a mapping (an empty file is an empty one)."""
    data = read_yaml_file(path, what)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{brief_path(path)}: the top level must be a mapping of keys (name:, fleet:, ...)")
    return data


def parse_yaml(text: str, where: str) -> Any:
    """``text`` as plain data, within the limits above; ``where`` names the source in messages."""
    try:
        if _scan(text, where):
            _check_expansion(text, where)
        return yaml.load(text, Loader=_LOADER)
    except ValueError as exc:  # Python's own limits, e.g. an integer of thousands of digits
        raise InputError(f"{where}: a value beyond what can be read ({str(exc).split(':')[0][:100]})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{at}: YAML syntax error: {problem}") from None


def _scan(text: str, where: str) -> int:
    """The alias uses in ``text``, checking nesting depth and value count as the events stream past."""
    depth = values = aliases = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, _OPEN):
            depth += 1
            values += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise InputError(f"{where}:{mark.line + 1}:{mark.column + 1}: nested more than {MAX_DEPTH} "
                                 "levels deep")
        elif isinstance(event, _CLOSE):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent):
            values += 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
        if values > MAX_VALUES:
            raise InputError(f"{where}: more than {MAX_VALUES:,} values")
    return aliases


def _check_expansion(text: str, where: str) -> None:
    """Count the values the document holds once every alias is expanded, without expanding them."""
    root = yaml.compose(text, Loader=_LOADER)
    if root is None:
        return
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack = [(root, False)]
    while stack:  # post-order over the node graph; an alias is the same node object as its anchor
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[id(node)] > MAX_VALUES:
                raise InputError(f"{where}: its aliases expand to more than {MAX_VALUES:,} values; "
                                 "write the values out or use fewer aliases")
            continue
        if id(node) in open_nodes:
            raise InputError(f"{where}: an alias refers to a value that contains it")
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
