"""What stops `ringback run` at the start, before READY: its status API's or desk's
address already in use, and a second daemon on a database another one holds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.daemon import DaemonProcess, config_text, free_port, run_once

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, port: int, name: str = "ringback.yaml", extra: str = "") -> Path:
    calls = tmp_path / "calls.jsonl"
    calls.touch()
    pbx = f"  - type: replay\n    name: drill\n    path: {calls}\n"
    config = tmp_path / name
    config.write_text(
        config_text(tmp_path, port, pbx, "    - type: log\n      name: dry-run\n", extra=extra)
    )
    return config


def _held_port() -> socket.socket:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


def _drain(daemon: DaemonProcess) -> list[str]:
    daemon.notify.setblocking(False)
    while True:
        try:
            daemon.notifications.extend(daemon.notify.recv(4096).decode().splitlines())
        except BlockingIOError:
            return daemon.notifications


def test_status_port_in_use_fails_the_start_naming_the_address_and_holder(
    tmp_path: Path,
) -> None:
    """Another socket listens on status.listen: the daemon exits 1 with one line naming
    the address and this test's pid as the holder; it never says READY nor 'ready'."""
    with _held_port() as holder:
        port = holder.getsockname()[1]
        config = _config(tmp_path, port)
        with DaemonProcess(config, port) as daemon:
            assert daemon.wait_exit() == 1
            notified = _drain(daemon)
        out = daemon.output()
    assert f"status API cannot listen on 127.0.0.1:{port}: address already in use" in out
    assert f"(held by pid {os.getpid()} " in out
    assert "READY=1" not in notified
    assert "ready:" not in out
    assert "Traceback" not in out


def test_desk_port_in_use_fails_the_start(tmp_path: Path) -> None:
    """The same for the desk: exit 1, its address named, no READY."""
    with _held_port() as holder:
        desk_port = holder.getsockname()[1]
        port = free_port()
        extra = f'desk:\n  listen: "127.0.0.1:{desk_port}"\n'
        config = _config(tmp_path, port, extra=extra)
        with DaemonProcess(config, port) as daemon:
            assert daemon.wait_exit() == 1
            notified = _drain(daemon)
        out = daemon.output()
    assert f"desk cannot listen on 127.0.0.1:{desk_port}: address already in use" in out
    assert "READY=1" not in notified
    assert "Traceback" not in out


def test_ready_is_logged_with_the_desk_once_both_listen(tmp_path: Path) -> None:
    """With the desk configured, 'ready' names both addresses, and both answer."""
    port, desk_port = free_port(), free_port()
    extra = f'desk:\n  listen: "127.0.0.1:{desk_port}"\n'
    config = _config(tmp_path, port, extra=extra)
    with DaemonProcess(config, port) as daemon:
        daemon.wait_ready()
        with socket.create_connection(("127.0.0.1", desk_port), timeout=5):
            pass
        out = daemon.output()
    assert f"ready: status API on 127.0.0.1:{port}, desk on 127.0.0.1:{desk_port}" in out


def test_a_second_daemon_on_the_same_database_is_refused(tmp_path: Path) -> None:
    """While one daemon runs, a second on the same storage.path (its own status port)
    exits 3 naming the first one's pid and the database; the technician's commands
    on the store (outbox, cases) keep working beside the first."""
    port = free_port()
    config = _config(tmp_path, port)
    second = _config(tmp_path, free_port(), name="second.yaml")
    with DaemonProcess(config, port) as daemon:
        daemon.wait_ready()
        assert daemon.proc is not None
        result = run_once(second)
        assert result.returncode == 3, result.stderr
        assert (
            f"another ringback daemon (pid {daemon.proc.pid}) is already running on "
            f"{tmp_path / 'ringback.db'}" in result.stderr
        )
        assert "Traceback" not in result.stderr
        for command in (["outbox", "list"], ["cases", "list"]):
            beside = subprocess.run(
                [sys.executable, "-m", "agent.cli.parser", *command, "-c", str(config)],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            assert beside.returncode == 0, beside.stderr
        assert daemon.get("/livez").status_code == 200
    # the lock dies with the process (killed here): a new daemon starts
    (tmp_path / "notify.sock").unlink()
    with DaemonProcess(second, 0) as again:
        again.wait_notification("READY=1")
