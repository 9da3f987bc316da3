"""User-facing errors: problems with input, reported without a traceback (exit 2)."""

from __future__ import annotations


class InputError(Exception):
    """One or more problems with what the user gave us, each naming where it is."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))
