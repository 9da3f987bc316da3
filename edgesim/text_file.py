"""Reading a text file a person gave us: a regular file, of bounded size, in UTF-8, or one line saying why not."""

from __future__ import annotations

from pathlib import Path

from edgesim.errors import InputError, brief_path


def read_text_file(path: Path, what: str, max_bytes: int) -> str:
    """The text of ``path``; ``InputError`` naming it when it is missing, not a regular file (a directory, a
    device), larger than ``max_bytes`` or not UTF-8 (with the line and column of the first bad byte).
    ``what`` names the file in messages, e.g. ``"scenario file"``."""
    path = Path(path)
    shown = brief_path(path)
    try:
        if not path.exists():
            raise InputError(f"{shown}: {what} not found")
        if not path.is_file():
            raise InputError(f"{shown}: {'a directory' if path.is_dir() else 'not a regular file'}, not a {what}")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{shown}: {_amount(size)} is larger than a {what} may be ({_amount(max_bytes)})")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{shown}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(f"{shown}:{line}:{column}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                         "save the file as UTF-8") from None


def _amount(size: int) -> str:
    return f"{size / 2**20:.0f} MiB" if size >= 2**20 else f"{size / 1024:.0f} KiB"
