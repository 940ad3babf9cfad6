"""Whether the store can take a write now: `ok`, `full` or `readonly`.

A write that fails with SQLITE_FULL (the disk, or `PRAGMA max_page_count`), with
SQLITE_READONLY (the file or its file system remounted read-only) or with an I/O
error on a disk with no room left is not a bug and not a corrupt store: it is waited
out (the pipeline holds its calls in memory and in the spill file, the dispatcher
waits) and readiness says which. `classify` names such an error; `probe` looks
without writing: the last write's failure until a write succeeds, the file system's
read-only flag, the file's write permission, the page limit and the free space.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

OK, FULL, READONLY = "ok", "full", "readonly"
MIN_FREE_BYTES = 1024 * 1024


def classify(err: BaseException) -> str | None:
    """`full` or `readonly` for an error that waiting can mend, None for others."""
    if not isinstance(err, sqlite3.OperationalError):
        return None
    name = getattr(err, "sqlite_errorname", "") or ""
    text = str(err).lower()
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return FULL
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return READONLY
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in text:
        return FULL
    return None


def probe(path: Path, pages: int | None, max_pages: int | None) -> str:
    """The state the file system and the page limit show, without writing."""
    directory = path.parent
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return READONLY
        if path.exists() and not os.access(path, os.W_OK):
            return READONLY
        if shutil.disk_usage(directory).free < MIN_FREE_BYTES:
            return FULL
    except OSError:
        return READONLY
    if pages is not None and max_pages is not None and pages >= max_pages:
        return FULL
    return OK
