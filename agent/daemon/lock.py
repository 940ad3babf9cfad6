"""One daemon per database: an exclusive `flock` on `<database>.lock`, held for the
life of the process.

A second `ringback run` on the same store is refused with the pid of the one holding
it (written into the lock file) and the database's path, as a `StoreError` (exit 3:
restarting would not help while the other one runs). The lock dies with the process,
SIGKILL included, so a crash never leaves a stale lock behind. The technician's
commands that work on the store beside the daemon (`outbox`, `cases`, `purge`) do not
take it: SQLite's WAL lets them in.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from agent.errors import StoreError
from agent.store.base import check_directory


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextlib.contextmanager
def daemon_lock(database: Path) -> Iterator[Path]:
    """Hold the database's lock for the block; StoreError if another process has it."""
    check_directory(database)
    path = lock_path(database)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    except OSError as err:
        raise StoreError(f"cannot create the lock file {path}: {err.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise StoreError(
                f"another ringback daemon (pid {holder}) is already running on {database}; "
                "stop it first (systemctl stop ringback) or give this one its own "
                "storage.path"
            ) from None
        with contextlib.suppress(OSError):  # a full disk: the lock holds, its pid unsaid
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)
