"""Fetching dataset files: checksum verification and download with atomic writes.

Every failure (missing file, bad checksum, no network) becomes an ``InputError``
that says which file, where it was looked for, and how to fix it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from edgesim.errors import InputError

TIMEOUT_S = 30
_CHUNK = 1 << 20
_FIX = "set EDGESIM_DATA or dataset.data_dir to a folder that has it, or place the file there"


class _BadDownload(Exception):
    """A download finished but its content failed the checksum."""


def verify(path: Path, md5: str | None = None, sha256: str | None = None) -> None:
    """Raise ``InputError`` unless ``path`` has the given digests (hex; ``None`` skips a check)."""
    problem = _checksum_problem(path, md5, sha256)
    if problem:
        raise InputError(
            f"{path}: {problem}; the file is corrupt or not the expected one: "
            "delete it to download it again, or replace it with a good copy"
        )


def _checksum_problem(path: Path, md5: str | None, sha256: str | None) -> str | None:
    expected = {name: digest.lower() for name, digest in (("md5", md5), ("sha256", sha256)) if digest}
    if not expected:
        return None
    hashers = {name: hashlib.new(name) for name in expected}
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            for h in hashers.values():
                h.update(chunk)
    for name, want in expected.items():
        got = hashers[name].hexdigest()
        if got != want:
            return f"{name} checksum mismatch (expected {want}, got {got})"
    return None


def fetch(
    path: Path,
    urls: list[str],
    md5: str | None = None,
    sha256: str | None = None,
    allow_download: bool = True,
) -> Path:
    """Return ``path`` once it exists with the right checksum, downloading it from ``urls`` if needed.

    An existing file is verified, never re-downloaded. A missing one is tried from
    each url in turn, written to a temporary file beside ``path``, verified and
    renamed into place, so a partial download never looks like a finished one.
    """
    path = Path(path)
    if path.exists():
        verify(path, md5, sha256)
        return path
    if not allow_download:
        raise InputError(
            f"{path.name} not found in {path.parent} and downloading is off (dataset.download: false); "
            f"{_FIX} (sources: {', '.join(urls) or 'none'})"
        )
    failures = []
    for url in urls:
        try:
            _download(url, path, md5, sha256)
            return path
        except (OSError, http.client.HTTPException, _BadDownload) as exc:  # URLError and timeouts are OSErrors
            failures.append(f"  {url}: {exc}")
    raise InputError(
        f"{path.name} not found in {path.parent} and could not be downloaded; {_FIX}. Tried:\n"
        + ("\n".join(failures) or "  (no urls)")
    )


def _download(url: str, path: Path, md5: str | None, sha256: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            shutil.copyfileobj(response, out, _CHUNK)
        problem = _checksum_problem(Path(tmp), md5, sha256)
        if problem:
            raise _BadDownload(f"downloaded file has a {problem}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
