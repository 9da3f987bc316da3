"""Built-in hardware and network profiles.

``devices.yaml`` and ``networks.yaml`` beside this file map a profile name to
the fields of :class:`DeviceProfile` / :class:`NetworkProfile`; each entry
cites where its figures come from. :func:`builtin_devices` and
:func:`builtin_networks` parse and validate them once and hand out fresh dicts
of frozen models, so callers can merge in a scenario's own profiles without
touching shared state. :func:`validate_profiles` does the checking for any
such name -> fields mapping and reports every problem with where it is.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Mapping, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from edgesim.errors import InputError
from edgesim.profiles.models import DeviceProfile, NetworkProfile

__all__ = [
    "DeviceProfile",
    "NetworkProfile",
    "builtin_devices",
    "builtin_networks",
    "validate_profiles",
]

M = TypeVar("M", bound=BaseModel)


def validate_profiles(data: Any, model: type[M], where: str) -> dict[str, M]:
    """Validate a ``name -> fields`` mapping into ``model`` instances.

    ``where`` names the origin (a file, a scenario section) in messages.
    Raises :class:`InputError` listing every problem, e.g.
    ``devices.yaml: raspberry_pi_4.train_gflops: Input should be greater than 0``.
    """
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: expected a mapping of profile name -> fields, got {type(data).__name__}")
    profiles: dict[str, M] = {}
    problems: list[str] = []
    for name, fields in data.items():
        if not isinstance(name, str) or not name:
            problems.append(f"{where}: profile name {name!r} must be a non-empty string")
            continue
        try:
            profiles[name] = model.model_validate(fields)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(part) for part in (name, *err["loc"]))
                problems.append(f"{where}: {loc}: {err['msg'].removeprefix('Value error, ')}")
    if problems:
        raise InputError(problems)
    return profiles


def _load_builtin(filename: str, model: type[M]) -> Mapping[str, M]:
    """Parse and validate one YAML file shipped in this package."""
    where = f"built-in edgesim/profiles/{filename}"
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: invalid YAML: {exc}") from exc
    return MappingProxyType(validate_profiles(data, model, where))


@lru_cache(maxsize=None)
def _devices() -> Mapping[str, DeviceProfile]:
    return _load_builtin("devices.yaml", DeviceProfile)


@lru_cache(maxsize=None)
def _networks() -> Mapping[str, NetworkProfile]:
    return _load_builtin("networks.yaml", NetworkProfile)


def builtin_devices() -> dict[str, DeviceProfile]:
    """The built-in device profiles by name (a new dict each call; models are frozen)."""
    return dict(_devices())


def builtin_networks() -> dict[str, NetworkProfile]:
    """The built-in network profiles by name (a new dict each call; models are frozen)."""
    return dict(_networks())
