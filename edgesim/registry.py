"""Open families of scenario blocks chosen by a tag: algorithms, protocols, client selectors, distributions.

A ``Kinds`` registry maps each tag value (an algorithm's ``name``, a
protocol's ``kind``) to the config class that reads such a block. Its
``field`` is the pydantic type of a scenario key that holds one of them: the
block is validated by the class its tag names, so a class registered at any
time, by edgesim or by a user, is accepted wherever the family is (a static
``Union`` would be fixed when the schema is defined). Unknown and missing
tags give the same messages as pydantic's tagged unions.

Users add their own with the family's ``register`` (a class decorator), or
from an installed package through the entry-point group ``edgesim.plugins``:
each entry point names a module (or callable) that registers what it brings;
they are loaded the first time any registry is asked for a class, in every
process that reads scenarios (sweep workers included).
"""

from __future__ import annotations

import types
import typing
from importlib import metadata
from typing import Annotated, Any, Callable, Generic, TypeVar

from pydantic import BaseModel, SerializeAsAny, ValidationInfo, WrapValidator
from pydantic_core import PydanticCustomError

PLUGIN_GROUP = "edgesim.plugins"

Config = TypeVar("Config", bound=BaseModel)

_plugins_loaded = False


def load_plugins() -> None:
    """Import every ``edgesim.plugins`` entry point once (each registers its classes on import)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in metadata.entry_points(group=PLUGIN_GROUP):
        loaded = entry.load()
        if callable(loaded) and not isinstance(loaded, type):
            loaded()


class Kinds(Generic[Config]):
    """The config classes of one family, by the value of their ``tag`` field (a ``Literal``)."""

    def __init__(self, family: str, tag: str = "kind", default: str | None = None,
                 before: Callable[[Any], Any] | None = None, base: type | None = None,
                 required: tuple[str, ...] = ()):
        """``family`` names the family in messages; ``default`` is the tag a block without one means;
        ``before`` rewrites raw input first (e.g. a bare number into a constant distribution); ``required``
        names the methods of ``base`` a class must override (``"a|b"``: at least one of them)."""
        self.family = family
        self.tag = tag
        self.default = default
        self.before = before
        self.base = base
        self.required = required
        self._classes: dict[str, type[Config]] = {}

    def register(self, cls: type[Config]) -> type[Config]:
        """Add ``cls`` under the values of its tag field, a ``Literal`` (usable as a class decorator); a value
        already taken by another class is an error."""
        field = cls.model_fields.get(self.tag)
        if field is None or typing.get_origin(field.annotation) is not typing.Literal:
            raise TypeError(f"{cls.__name__}: a {self.family} class needs a field {self.tag}: Literal['<its name>']")
        values = typing.get_args(field.annotation)
        missing = [name.replace("|", " or ") for name in self.required
                   if all(getattr(cls, part) is getattr(self.base, part) for part in name.split("|"))]
        if missing:
            raise TypeError(f"{cls.__name__}: a {self.family} class must define {', '.join(missing)}")
        for value in values:
            if value in self._classes and self._classes[value] is not cls:
                raise ValueError(f"{self.family} {value!r} is already registered ({self._classes[value].__name__})")
        self._classes.update(dict.fromkeys(values, cls))
        return cls

    def names(self) -> list[str]:
        load_plugins()
        return list(self._classes)

    def classes(self) -> list[type[Config]]:
        load_plugins()
        return list(dict.fromkeys(self._classes.values()))

    def get(self, name: str) -> type[Config]:
        """The class registered as ``name`` (``KeyError`` if none is)."""
        load_plugins()
        return self._classes[name]

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._classes

    def tag_of(self, data: Any) -> Any:
        """The tag value a raw block names (the default when it has none)."""
        return data.get(self.tag, self.default) if isinstance(data, dict) else None

    def _validate(self, value: Any, handler, info: ValidationInfo):
        if self.before is not None:
            value = self.before(value)
        if isinstance(value, BaseModel) and type(value) in self.classes():
            return value
        expected = ", ".join(f"'{n}'" for n in self.names())
        if not isinstance(value, dict):
            hint = f" ({{{self.tag}: {value}}})" if isinstance(value, str) and value in self else ""
            raise PydanticCustomError("model_type", "must be a mapping with a {tag} key{hint}; {tag}: one of "
                                      "{expected}", {"tag": self.tag, "hint": hint, "expected": expected})
        name = self.tag_of(value)
        if name is None:
            raise PydanticCustomError("union_tag_not_found", "Unable to extract tag using discriminator '{tag}'",
                                      {"discriminator": f"'{self.tag}'", "tag": self.tag, "expected_tags": expected})
        if name not in self:
            raise PydanticCustomError(
                "union_tag_invalid",
                "Input tag '{tag}' found using '{discriminator}' does not match any of the expected tags: "
                "{expected_tags}",
                {"discriminator": f"'{self.tag}'", "tag": str(name), "expected_tags": expected})
        return self.get(name).model_validate(value, context=info.context)

    @property
    def field(self):
        """The pydantic type of a key holding one block of this family."""
        return Annotated[SerializeAsAny[BaseModel], WrapValidator(self._validate), self]


def kinds_of(annotation) -> Kinds | None:
    """The ``Kinds`` behind a field annotation made by ``Kinds.field`` (through Optional), else ``None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            found = next((m for m in annotation.__metadata__ if isinstance(m, Kinds)), None)
            if found is not None:
                return found
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return None
            annotation = members[0]
        else:
            return None
