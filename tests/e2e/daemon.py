"""Run the real `ringback run` process in tests: config file, notify socket, status API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_calls(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def config_text(
    tmp: Path,
    port: int,
    pbx: str,
    senders: str,
    token_file: Path | None = None,
    extra: str = "",
    sms_extra: str = "",
    status_extra: str = "",
) -> str:
    """The test site's configuration; `*_extra` are lines added to a section."""
    token = f"\n  token_file: {token_file}" if token_file else ""
    return f"""
site:
  name: Garage Test
  timezone: America/Toronto
  country: CA
  callback_number: "514-555-0100"
pbx:
{pbx}
departments:
  default: service
  service:
    label: Service
sms:
  grace_seconds: 0
  quiet_hours: ""
{sms_extra}
  retry:
    first_seconds: 0.2
    max_seconds: 1
  senders:
{senders}
status:
  listen: "127.0.0.1:{port}"{token}
{status_extra}
storage:
  path: {tmp / "ringback.db"}
{extra}
"""


def set_passwords(
    config: Path, passwords: dict[str, str], env: dict[str, str] | None = None
) -> None:
    """Each desk user's password through the real command (`ringback desk passwd`,
    asked twice on stdin), as a technician sets it."""
    for name, password in passwords.items():
        subprocess.run(
            [sys.executable, "-m", "agent.cli.parser", "desk", "passwd", name, "-c", str(config)],
            input=f"{password}\n{password}\n",
            text=True,
            check=True,
            capture_output=True,
            env={**os.environ, **(env or {})},
        )


def run_once(config: Path) -> subprocess.CompletedProcess[str]:
    """`ringback run -c CONFIG` expected to stop on its own (a bad config or store)."""
    return subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "run", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


class DaemonProcess:
    """`ringback run -c CONFIG` with a NOTIFY_SOCKET the test reads."""

    def __init__(
        self, config: Path, port: int, token: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.config = config
        self.port = port
        self.token = token
        self.notify_path = config.parent / "notify.sock"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.settimeout(0.2)
        self.notifications: list[str] = []
        self.extra_env = env or {}
        self.proc: subprocess.Popen[str] | None = None
        self.log_path = config.parent / "daemon.log"
        self.log = self.log_path.open("w", encoding="utf-8")

    def __enter__(self) -> Self:
        env = {**os.environ, "NOTIFY_SOCKET": str(self.notify_path), **self.extra_env}
        env.pop("RINGBACK_CONFIG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli.parser", "run", "-c", str(self.config)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.notify.close()
        self.log.close()

    def wait_notification(self, prefix: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.notifications:
                if line.startswith(prefix):
                    return line
            try:
                data = self.notify.recv(4096).decode()
            except TimeoutError:
                if self.proc and self.proc.poll() is not None:
                    raise AssertionError(
                        f"daemon exited {self.proc.returncode}: {self.output()}"
                    ) from None
                continue
            self.notifications.extend(data.splitlines())
        raise AssertionError(f"no {prefix} within {timeout}s; got {self.notifications}")

    def wait_count(self, line: str, count: int, timeout: float = 15.0) -> None:
        """Until `line` was notified at least `count` times."""
        deadline = time.monotonic() + timeout
        while self.notifications.count(line) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{line} seen {self.notifications.count(line)} times")
            try:
                self.notifications.extend(self.notify.recv(4096).decode().splitlines())
            except TimeoutError:
                continue

    def wait_ready(self, timeout: float = 15.0) -> None:
        """READY=1 from systemd's point of view, then the status API answering
        (it starts right after READY)."""
        self.wait_notification("READY=1", timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/livez", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def get(self, path: str, token: str | None = "default") -> httpx.Response:
        headers = {}
        chosen = self.token if token == "default" else token
        if chosen:
            headers["Authorization"] = f"Bearer {chosen}"
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", headers=headers, timeout=5)

    def status(self) -> dict[str, Any]:
        response = self.get("/v1/status")
        response.raise_for_status()
        doc: dict[str, Any] = response.json()
        return doc

    def wait_status(self, predicate: Any, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        doc: dict[str, Any] = {}
        while time.monotonic() < deadline:
            doc = self.status()
            if predicate(doc):
                return doc
            time.sleep(0.1)
        raise AssertionError(f"status never matched: {json.dumps(doc)[:2000]}")

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(encoding="utf-8")
