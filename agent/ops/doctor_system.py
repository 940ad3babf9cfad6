"""The host side of `ringback doctor`: secret files, the store, the disk, the clock.

Each function returns `Finding`s and raises nothing. Nothing here changes the host,
except that opening the store may create its WAL files, which is done with the
database owner's identity (see `agent.ops.outbox.as_owner`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import sqlite3
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from agent.ops.outbox import as_owner
from agent.plural import counted
from agent.store.schema import MIGRATIONS

Level = Literal["ok", "warn", "fail"]
SECRET_KEYS = frozenset({"secret", "auth_token", "pin", "token", "token_next", "password"})
DISK_FAIL_BYTES = 50 * 1024 * 1024
DISK_WARN_BYTES = 500 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    level: Level
    message: str
    hint: str = ""


def secret_files(config_path: Path, raw: Any) -> list[Finding]:
    """The config (if it holds secrets inline) and every secret file it names, plus the
    credentials directory: none may be readable by every user."""
    found: list[Finding] = []
    inline, files = _secret_refs(raw)
    mode = _mode(config_path)
    if inline and mode is not None and mode & 0o004:
        found.append(
            Finding(
                "secrets",
                "fail",
                f"{config_path} holds secrets ({', '.join(sorted(inline))}) and every user "
                "can read it",
                f"chmod 0640 {config_path} (root:ringback), or move them to credential files",
            )
        )
    credentials = config_path.parent / "credentials"
    paths = [*files, *(sorted(credentials.iterdir()) if _listable(credentials) else [])]
    for path in paths:
        mode = _mode(path)
        if mode is not None and mode & 0o004:
            found.append(
                Finding(
                    "secrets", "fail", f"{path} is readable by every user", f"chmod 0600 {path}"
                )
            )
    if _listable(credentials) and (_mode(credentials) or 0) & 0o077:
        found.append(
            Finding(
                "secrets",
                "fail",
                f"{credentials} is open to other users",
                f"chmod 0700 {credentials} (systemd reads it as root)",
            )
        )
    if not found:
        seen = counted(len(paths), "secret file", "secret files")
        found.append(Finding("secrets", "ok", f"{seen}, none world-readable"))
    return found


def _secret_refs(raw: Any) -> tuple[set[str], list[Path]]:
    inline: set[str] = set()
    files: list[Path] = []
    stack = [raw]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in SECRET_KEYS and isinstance(value, str | int) and str(value):
                    inline.add(str(key))
                elif isinstance(key, str) and key.endswith("_file") and isinstance(value, str):
                    if key.removesuffix("_file") in SECRET_KEYS | {"tls_key"}:
                        files.append(Path(value))
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return inline, files


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _listable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.R_OK | os.X_OK)


def store(path: Path) -> list[Finding]:
    """Exists, its directory writable by its owner, intact, schema known."""
    if not path.parent.is_dir():
        return [
            Finding(
                "store",
                "fail",
                f"directory {path.parent} does not exist",
                "run `ringback install` (it creates /var/lib/ringback for the service)",
            )
        ]
    with as_owner(path):
        writable = os.access(path.parent, os.W_OK)
        if not path.exists():
            level: Level = "ok" if writable else "fail"
            return [
                Finding(
                    "store",
                    level,
                    f"{path} not created yet (ringback run creates it)",
                    "" if writable else f"make {path.parent} writable by the ringback user",
                )
            ]
        verdict, version = _inspect(path)
    return [_store_finding(path, writable, verdict, version)]


def _inspect(path: Path) -> tuple[str, int]:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            verdict = str(conn.execute("PRAGMA quick_check").fetchone()[0])
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.close()
    except sqlite3.DatabaseError as err:
        return str(err), -1
    return verdict, version


def _store_finding(path: Path, writable: bool, verdict: str, version: int) -> Finding:
    if verdict != "ok":
        return Finding(
            "store",
            "fail",
            f"{path} is damaged or not a ringback database ({verdict[:80]})",
            "stop ringback, move the file aside, start again (or restore a .bak copy)",
        )
    if version > len(MIGRATIONS):
        return Finding(
            "store",
            "fail",
            f"{path} has schema {version}, newer than this ringback ({len(MIGRATIONS)})",
            "upgrade ringback, or restore the backup made before the upgrade",
        )
    if not writable:
        return Finding(
            "store", "fail", f"{path.parent} is not writable", "chown ringback: the directory"
        )
    size = path.stat().st_size // 1024
    if version < len(MIGRATIONS):
        return Finding(
            "store",
            "warn",
            f"{path} intact, schema {version}: migrated to {len(MIGRATIONS)} at the next start "
            "(a copy is kept first)",
        )
    return Finding("store", "ok", f"{path} intact, writable, schema {version}, {size} KiB")


def notifications(path: Path) -> list[Finding]:
    """The staff channels whose notifications are failing (being retried or given up
    in the last day), each named with its department and last error."""
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute(
                "SELECT department, target, state, COUNT(*), MAX(tried_at), "
                "(SELECT last_error FROM case_notifications i WHERE i.department = o.department "
                " AND i.target = o.target AND i.last_error IS NOT NULL "
                " ORDER BY tried_at DESC LIMIT 1) "
                "FROM case_notifications o WHERE target IS NOT NULL AND last_error IS NOT NULL "
                "AND (state = 'pending' OR (state = 'failed' AND tried_at >= ?)) "
                "GROUP BY department, target, state ORDER BY department, target",
                ((datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="microseconds"),),
            ).fetchall()
        conn.close()
    except sqlite3.DatabaseError:
        return []  # no notifications table yet (an old schema): the store check says so
    if not rows:
        return [Finding("staff notifications", "ok", "no channel failing")]
    named = [
        f"departments.{dept} {target} ({'retrying' if state == 'pending' else 'given up'}, "
        f"{count} waiting): {error}"
        for dept, target, state, count, _at, error in rows
    ]
    return [
        Finding(
            "staff notifications",
            "fail" if any(r[2] == "failed" for r in rows) else "warn",
            "; ".join(named),
            "fix the channel (smtp: login, webhook URL) in the configuration; "
            "ringback retries on its own",
        )
    ]


def disk(path: Path) -> Finding:
    directory = path.parent if path.parent.is_dir() else Path("/")
    free = shutil.disk_usage(directory).free
    text = f"{free // (1024 * 1024)} MiB free on {directory}"
    if free < DISK_FAIL_BYTES:
        return Finding("disk", "fail", text, "free space: journal (journalctl --vacuum-size=200M)")
    if free < DISK_WARN_BYTES:
        return Finding("disk", "warn", text, "free some space soon")
    return Finding("disk", "ok", text)


class _Timex(ctypes.Structure):
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("rest", ctypes.c_long * 16),
    ]


STA_UNSYNC = 0x0040
TIME_ERROR = 5


def clock_synchronised() -> bool | None:
    """What the kernel says (the same source as `timedatectl`'s NTPSynchronized); None
    when it cannot be asked."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR and not timex.status & STA_UNSYNC


def clock(site_zone: str) -> list[Finding]:
    synced = clock_synchronised()
    if synced:
        found = [Finding("clock", "ok", "system clock synchronised (NTP)")]
    else:
        found = [
            Finding(
                "clock",
                "warn",
                "system clock not synchronised" if synced is False else "clock sync unknown",
                "enable NTP: apt-get install systemd-timesyncd (or chrony); quiet hours and "
                "report times depend on it",
            )
        ]
    system = system_zone()
    if system in (site_zone, None):
        found.append(Finding("timezone", "ok", f"site time zone {site_zone}"))
    else:
        found.append(
            Finding(
                "timezone",
                "warn",
                f"server zone {system} differs from site.timezone {site_zone} (ringback uses "
                "the site's; the journal shows the server's)",
                f"timedatectl set-timezone {site_zone}, or fix site.timezone",
            )
        )
    return found


def system_zone() -> str | None:
    if os.environ.get("TZ"):
        return os.environ["TZ"].lstrip(":")
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return None
    zone = target.partition("zoneinfo/")[2]
    return {"Etc/UTC": "UTC", "Etc/GMT": "UTC"}.get(zone, zone) or None
