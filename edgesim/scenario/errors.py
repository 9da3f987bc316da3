"""Turn pydantic validation errors into one line per problem, named by YAML path.

Paths follow the user's file (``fleet.groups[0].count``): location parts that
pydantic adds for its own bookkeeping (the tag of a tagged union, validator
names) are dropped because they do not exist in the file. Unknown keys list
the keys that are allowed at that place.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any, Sequence

from pydantic import BaseModel, ValidationError

from edgesim.errors import brief
from edgesim.registry import Kinds, kinds_of

KEY_LIMIT = 40
UNION_MEMBER = re.compile(r"^(tagged-union|literal|function-[a-z-]+)\[")
"""How pydantic labels the member of an untagged union in an error's location (``literal['a','b']``)."""


def yaml_path(parts: Sequence[Any]) -> str:
    """``fleet.groups[0].count``; a key longer than ``KEY_LIMIT`` characters is cut with an ellipsis."""
    text = ""
    for part in parts:
        if not isinstance(part, int):
            part = str(part) if len(str(part)) <= KEY_LIMIT else str(part)[: KEY_LIMIT - 1] + "…"
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _user_path(loc: Sequence[Any], data: Any, model: type[BaseModel]) -> list[Any]:
    """Keep the parts of ``loc`` that exist in ``data`` (and the last one, which may be missing), walking the
    schema beside it: pydantic names the member of a tagged union by its tag (``windows``, ``constant``,
    ``bnn_fl``), which is not a place in the file even where a key of the same name exists."""
    kept, node, annotation = [], data, model
    loc = [part for part in loc if not (isinstance(part, str) and UNION_MEMBER.match(part))]
    for i, part in enumerate(loc):
        members = _union_members(annotation)
        named = [m for m in members if isinstance(part, str) and part in _tags(m)]
        if len(members) > 1 and named:
            annotation = named[0]
            continue
        annotation = _child(annotation, part, node)
        if isinstance(node, dict) and part in node:
            kept.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            kept.append(part)
            node = node[part]
        elif i == len(loc) - 1 and isinstance(node, dict):
            kept.append(part)  # a missing key (not a field inside a bare number)
    return kept


def _union_members(annotation) -> list[type[BaseModel]]:
    """The models of a (possibly Annotated or Optional) union of models, or of a ``Kinds`` family; empty for
    anything else."""
    kinds = kinds_of(annotation)
    if kinds is not None:
        return kinds.classes()
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return []
    members = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(members) == 1:
        return _union_members(members[0])
    return [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]


def _tags(model: type[BaseModel]) -> tuple:
    """The values of a union member's tag (its ``kind`` or ``name`` literal)."""
    for field_name in ("kind", "name"):
        field = model.model_fields.get(field_name)
        if field is not None and typing.get_origin(field.annotation) is typing.Literal:
            return typing.get_args(field.annotation)
    return ()


def _field_annotation(field) -> Any:
    """A field's annotation with the ``Kinds`` family pydantic moved into its metadata (a bare
    ``Annotated[..., kinds]`` field keeps only its first argument as ``annotation``)."""
    kinds = next((m for m in field.metadata if isinstance(m, Kinds)), None)
    return field.annotation if kinds is None else typing.Annotated[field.annotation, kinds]


def _child(annotation, part, node):
    """The annotation of ``part`` inside ``annotation`` (``Any`` when the schema does not say)."""
    annotation = _unwrap(annotation, node)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = next((f for n, f in annotation.model_fields.items() if (f.alias or n) == part), None)
        return Any if field is None else _field_annotation(field)
    if typing.get_origin(annotation) in (list, tuple, dict):
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) is tuple and isinstance(part, int) and part < len(args) \
                and args[-1] is not Ellipsis:
            return args[part]
        return args[0] if typing.get_origin(annotation) is list and args else (args[-1] if args else Any)
    return Any


def _unwrap(annotation, node):
    """Strip Annotated/Optional/Union down to the member that fits ``node`` (a ``Kinds`` family: the class its
    tag names)."""
    while True:
        kinds = kinds_of(annotation)
        if kinds is not None:
            name = kinds.tag_of(node)
            return kinds.get(name) if name in kinds else Any
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            chosen = None
            for model in models:  # tagged unions: the member whose tag the data names
                for field_name in ("kind", "name"):
                    field = model.model_fields.get(field_name)
                    args = typing.get_args(field.annotation) if field else ()
                    if isinstance(node, dict) and node.get(field_name) in args:
                        chosen = model
            annotation = chosen or (models[0] if models else members[0])
        else:
            return annotation


def allowed_keys(model: type[BaseModel], path: Sequence[Any], data: Any) -> list[str] | None:
    """The keys the schema accepts in the mapping at ``path``, or None if it cannot tell."""
    annotation: Any = model
    node = data
    for part in path:
        annotation = _unwrap(annotation, node)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next((f for n, f in annotation.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return None
            annotation = _field_annotation(field)
        elif typing.get_origin(annotation) in (list, tuple, dict):
            annotation = typing.get_args(annotation)[-1] if typing.get_args(annotation) else Any
        else:
            return None
        node = node[part] if isinstance(node, (dict, list)) else None
    annotation = _unwrap(annotation, node)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or n for n, f in annotation.model_fields.items()]
    return None


def _annotation_at(model: type[BaseModel], path: Sequence[Any], data: Any):
    """The schema's annotation of the value at ``path`` (``Any`` when the schema does not say)."""
    annotation, node = model, data
    for part in path:
        annotation = _child(annotation, part, node)
        node = node[part] if isinstance(node, (dict, list)) and (
            isinstance(node, dict) and part in node or isinstance(node, list) and isinstance(part, int)) else None
    return annotation


def _description(model: type[BaseModel], path: Sequence[Any], data: Any) -> str | None:
    """The schema's description of the field at ``path`` (a key of a model the data's tags choose), if any."""
    node = data
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    parent = _unwrap(_annotation_at(model, path[:-1], data), node)
    if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
        return None
    field = next((f for n, f in parent.model_fields.items() if path[-1] in (n, f.alias)), None)
    return field.description if field is not None else None


MAPPING_ERRORS = {"model_type", "model_attributes_type", "dict_type"}
"""pydantic's error types for a value that should have been a mapping of keys."""


def format_validation_error(exc: ValidationError, model: type[BaseModel], data: Any, prefix: str = "") -> list[str]:
    """One message per problem: ``<yaml path>: <what is wrong>``. Where a value may be a word or a mapping
    (``charging: availability`` or ``{kind: windows, ...}``) and is neither, the word's message stands alone."""
    found, errors = [], exc.errors()
    for error in errors:
        if error["type"] == "literal_error" and isinstance(error["input"], dict) and len(errors) > 1:
            continue  # a mapping given where a word or a mapping may stand: the mapping's own errors say more
        path = _user_path(error["loc"], data, model)
        found.append((prefix + yaml_path(path), error["type"], _problem(error, path, model, data, prefix)))
    words = {where for where, kind, _ in found if kind not in MAPPING_ERRORS}
    blocks = {where for where, kind, _ in found if kind in MAPPING_ERRORS}
    problems = []
    for where, kind, line in found:
        if kind in MAPPING_ERRORS and where in words:
            continue  # the word's message stands for both
        if kind == "literal_error" and where in blocks:
            line = line.replace(" (got ", ", or a mapping (got ", 1)
        if line not in problems:
            problems.append(line)
    return problems


def _problem(error: dict, path: list, model: type[BaseModel], data: Any, prefix: str) -> str:
    """``<yaml path>: <what is wrong>`` for one pydantic error whose place in the file is ``path``."""
    where = prefix + yaml_path(path)
    if error["type"] == "extra_forbidden":
        keys = allowed_keys(model, path[:-1], data)
        return f"{where}: unknown key" + (f"; allowed keys: {', '.join(keys)}" if keys else "")
    if error["type"] == "missing":
        about = _description(model, path, data) if path else None
        return f"{where}: required key is missing" + (f" ({about})" if about else "")
    if error["type"] in ("union_tag_not_found", "union_tag_invalid"):
        ctx = error.get("ctx", {})
        key = str(ctx.get("discriminator", "kind")).strip("'")
        if error["type"] == "union_tag_invalid":  # pydantic's message quotes the whole tag first
            return f"{where}.{key}: {brief(ctx.get('tag'))} is not one of {ctx.get('expected_tags', '')}"
        expected = ctx.get("expected_tags") or ", ".join(f"'{t}'" for m in _union_members(
            _annotation_at(model, path, data)) for t in _tags(m))  # a tagged block without its tag
        return f"{where}.{key}: required key is missing" + (f"; one of {expected}" if expected else "")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in MAPPING_ERRORS and message.startswith("Input should be a valid dictionary or "):
        keys = allowed_keys(model, path, data)  # pydantic names the model's class here, no word of the file
        message = "Input should be a valid dictionary" + (f" of the keys {', '.join(keys)}" if keys else "")
    shown = not isinstance(error["input"], (dict, list))
    return f"{where}: {message} (got {brief(error['input'])})" if shown else f"{where}: {message}"
