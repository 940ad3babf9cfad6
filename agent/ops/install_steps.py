"""The file steps of `ringback install`, each recorded in a journal that can undo it.

A step makes one path what it should be (a directory, a file's content, its mode and
owner) and says what it did: `created`, `updated`, `fixed` (mode or owner only) or
`kept`. Writes go to `.ringback-tmp-<name>` beside the target and are renamed over
it; a temporary left by an interrupted earlier run is removed first. In a staged
install (`--root`) owners are not applied, only recorded.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TMP_PREFIX = ".ringback-tmp-"


# Shipped beside the unit (their text comes from the command's parser, agent/cli/docs.py).
COMPLETION_PATH = "/usr/local/share/bash-completion/completions/ringback"
MAN_PATH = "/usr/local/share/man/man1/ringback.1"


@dataclass(frozen=True)
class Layout:
    root: Path
    staged: bool
    user: str = "ringback"
    etc: str = "/etc/ringback"
    credentials: str = "/etc/ringback/credentials"
    config: str = "/etc/ringback/ringback.yaml"
    state: str = "/var/lib/ringback"
    unit: str = "/etc/systemd/system/ringback.service"
    wants: str = "/etc/systemd/system/multi-user.target.wants/ringback.service"

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")


@dataclass(frozen=True)
class Planned:
    path: str
    action: str
    mode: int
    owner: str
    group: str
    kind: str = "file"


@dataclass
class Journal:
    """What this run changed, newest last; `undo()` puts it back in reverse order."""

    _undo: list[Callable[[], object]] = field(default_factory=list)

    def on_undo(self, action: Callable[[], object]) -> None:
        self._undo.append(action)

    def created(self, path: Path) -> None:
        def remove() -> None:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

        self._undo.append(remove)

    def changed(self, path: Path) -> None:
        """Remember content (files), mode and owner of `path` as they are now."""
        info = path.stat()
        data = path.read_bytes() if path.is_file() else None

        def restore() -> None:
            if data is not None:
                path.write_bytes(data)
            os.chmod(path, stat.S_IMODE(info.st_mode))
            os.chown(path, info.st_uid, info.st_gid)

        self._undo.append(restore)

    def undo(self) -> None:
        for action in reversed(self._undo):
            try:
                action()
            except OSError:
                continue
        self._undo.clear()


def _ids(layout: Layout, owner: str, group: str) -> tuple[int, int] | None:
    if layout.staged:
        return None
    return pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid


def _needs_fix(path: Path, mode: int, ids: tuple[int, int] | None) -> bool:
    info = path.stat()
    wrong_owner = ids is not None and (info.st_uid, info.st_gid) != ids
    return stat.S_IMODE(info.st_mode) != mode or wrong_owner


def _set(path: Path, mode: int, ids: tuple[int, int] | None) -> None:
    if ids is not None:
        os.chown(path, *ids)
    os.chmod(path, mode)


def _missing_parents(path: Path) -> list[Path]:
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    return missing


def ensure_dir(
    layout: Layout, target: str, mode: int, owner: str, group: str, journal: Journal
) -> Planned:
    path = layout.path(target)
    ids = _ids(layout, owner, group)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(20, "exists and is not a directory", str(path))
    if not path.exists():
        parents = _missing_parents(path)
        path.mkdir(parents=True, mode=0o700)
        journal.created(parents[-1])
        _set(path, mode, ids)
        return Planned(target, "created", mode, owner, group, "dir")
    if _needs_fix(path, mode, ids):
        journal.changed(path)
        _set(path, mode, ids)
        return Planned(target, "fixed", mode, owner, group, "dir")
    return Planned(target, "kept", mode, owner, group, "dir")


def fix_file(
    layout: Layout, target: str, mode: int, owner: str, group: str, journal: Journal
) -> Planned:
    path = layout.path(target)
    ids = _ids(layout, owner, group)
    if _needs_fix(path, mode, ids):
        journal.changed(path)
        _set(path, mode, ids)
        return Planned(target, "fixed", mode, owner, group)
    return Planned(target, "kept", mode, owner, group)


def atomic_write(
    layout: Layout,
    target: str,
    data: bytes,
    mode: int,
    owner: str,
    group: str,
    journal: Journal,
) -> Planned:
    """Content, mode and owner of one file, replaced in one rename."""
    path = layout.path(target)
    parents = _missing_parents(path.parent)
    if parents:
        path.parent.mkdir(parents=True, mode=0o755)
        journal.created(parents[-1])
    for stale in path.parent.glob(TMP_PREFIX + path.name + "*"):
        stale.unlink()
    existed = path.exists()
    if existed and path.read_bytes() == data:
        return fix_file(layout, target, mode, owner, group, journal)
    ids = _ids(layout, owner, group)
    tmp = path.with_name(TMP_PREFIX + path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        _set(tmp, mode, ids)
        if existed:
            journal.changed(path)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise OSError(err.errno, err.strerror, str(path)) from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if not existed:
        journal.created(path)
    return Planned(target, "updated" if existed else "created", mode, owner, group)
