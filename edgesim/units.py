"""Units: durations written by people (``90``, ``"45s"``, ``"30m"``, ``"12h"``, ``"7d"``; seconds by default),
and the unit a quantity of energy or bytes reads best in."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(s|min|m|h|d|w)?\s*$")


def parse_duration(value):
    """Seconds from a number or a string with a unit suffix (s, m/min, h, d, w)."""
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if not match:
            raise ValueError(f"'{value}' is not a duration; write seconds or a number with s, m, h, d or w")
        return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]


def energy_unit(largest: float) -> tuple[str, float]:
    """The unit joules up to ``largest`` read best in (J, kJ or MJ), and joules per unit."""
    for unit, size in (("MJ", 1e6), ("kJ", 1e3)):
        if largest >= size:
            return unit, size
    return "J", 1.0


def byte_unit(largest: float) -> tuple[str, float]:
    """The unit bytes up to ``largest`` read best in (kB, MB or GB), and bytes per unit."""
    for unit, size in (("GB", 1e9), ("MB", 1e6)):
        if largest >= size:
            return unit, size
    return "kB", 1e3
