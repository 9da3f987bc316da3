"""The base of every typed configuration block (scenario sections, profiles, distributions, algorithm keys),
and the type of the file paths they hold.

Unknown keys are errors, parsed values are frozen, and every float must be
finite: YAML's ``.nan`` and ``.inf`` are refused wherever a number is read.
A ``ConfigPath`` written relative is resolved against the ``base_dir`` in the
validation context (the scenario file's folder), else the current folder, and
kept absolute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _absolute(value: str, info: ValidationInfo) -> str:
    if "\0" in value:
        raise ValueError("a path cannot contain a NUL character")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path((info.context or {}).get("base_dir") or Path.cwd()) / path
    return str(path)


ConfigPath = Annotated[str, AfterValidator(_absolute)]
"""A file or folder path; relative ones are taken from the scenario file's folder."""
