"""A real MariaDB server for the tests: Debian's `mariadbd`, in a temporary data
directory, listening on a unix socket only (no network), run as the current user.

`MariaDB.start()` runs `mariadb-install-db` then `mariadbd` and waits for the socket;
`stop()` shuts it down by its pid. When `mariadbd` is not installed the tests that need
it skip with the reason, unless `CI=true` (then `.ci/run` must have installed it, and
its absence is a failure).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pymysql
import pytest

_SBIN = ("/usr/sbin", "/usr/local/sbin", "/usr/bin")


def _find(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in _SBIN:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require_mariadb() -> tuple[str, str]:
    """The paths of mariadbd and mariadb-install-db, or skip (fail under CI)."""
    server, install = _find("mariadbd"), _find("mariadb-install-db")
    if server and install:
        return server, install
    reason = "mariadbd is not installed (apt-get install mariadb-server)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: .ci/run must install it")
    pytest.skip(reason)


class MariaDB:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "mysqld.sock"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, within: float = 120.0) -> None:
        server, install = require_mariadb()
        data = self.root / "data"
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(
            [
                install,
                "--no-defaults",
                f"--datadir={data}",
                *user,
                "--skip-test-db",
                "--auth-root-authentication-method=normal",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._process = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={data}",
                *user,
                f"--socket={self.socket}",
                "--skip-networking",
                f"--pid-file={self.root / 'mysqld.pid'}",
                f"--log-error={self.root / 'error.log'}",
                "--innodb-buffer-pool-size=16M",
                "--skip-log-bin",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + within
        log_file = self.root / "error.log"
        while "ready for connections" not in _read(log_file):
            if self._process.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {_read(log_file)[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mariadbd not ready within {within:.0f}s")
            time.sleep(0.2)
        self.connect().close()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def connect(
        self, user: str = "root", password: str = "", database: str | None = None
    ) -> pymysql.connections.Connection[Any]:
        return pymysql.connect(
            unix_socket=str(self.socket),
            user=user,
            password=password,
            database=database,
            autocommit=True,
            connect_timeout=5,
        )

    def execute(self, statements: Iterable[str], database: str | None = None) -> None:
        conn = self.connect(database=database)
        try:
            with conn.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
        finally:
            conn.close()

    def insert(self, database: str, table: str, rows: Sequence[dict[str, object]]) -> None:
        if not rows:
            return
        conn = self.connect(database=database)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET SESSION sql_mode = ''")
                for row in rows:
                    names = ", ".join(f"`{k}`" for k in row)
                    marks = ", ".join(["%s"] * len(row))
                    cursor.execute(
                        f"INSERT INTO `{table}` ({names}) VALUES ({marks})", tuple(row.values())
                    )
        finally:
            conn.close()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def sql_statements(text: str) -> list[str]:
    """A schema file split into statements (comments dropped)."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
