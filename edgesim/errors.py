"""User-facing errors: problems with input, reported without a traceback (exit 2).

Messages quote what the user wrote through ``brief``, so a message stays one
readable line however long the input was.
"""

from __future__ import annotations

import reprlib

BRIEF_LIMIT = 80

_SHALLOW = reprlib.Repr()
_SHALLOW.fillvalue = "…"
"""Shows a few levels and items of a value nested too deeply for ``repr``."""


class InputError(Exception):
    """One or more problems with what the user gave us, each naming where it is."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class OutputError(InputError):
    """A result file or directory cannot be written (a file in the way, read-only, disk full, too large)."""


def brief(value: object, limit: int = BRIEF_LIMIT) -> str:
    """``repr(value)``, cut to about ``limit`` characters with an ellipsis (a few levels of a value nested too
    deeply for ``repr``)."""
    try:
        text = repr(value)
    except RecursionError:
        text = _SHALLOW.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def brief_path(path: object, limit: int = 2 * BRIEF_LIMIT) -> str:
    """``str(path)``, keeping its last ``limit`` characters (the file's own name) behind an ellipsis."""
    text = str(path)
    return text if len(text) <= limit else "…" + text[-(limit - 1):]
