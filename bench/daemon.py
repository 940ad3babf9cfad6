"""The real daemon for the benchmarks: `ringback run` with the example configuration
(the Asterisk site of agent/resources/ringback.example.yaml: departments, hours,
country and province holidays, the GSM and Twilio senders), pointed at a fake AMI
server in this process and at a temporary store and status port.

Only what cannot stay as shipped is changed: the AMI address (the fake peer), the
status listen address (a free port), the store path (a temporary file), Twilio's
address (a closed port on loopback: nothing leaves the machine) and the secrets
(given through the environment, as the example says). What the daemon costs
(start-up, resident memory) is read from the outside: the time from exec until the
status API answers, and /proc/PID/status of the daemon itself.
"""

from __future__ import annotations

import asyncio
import compileall
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine
from importlib import resources
from pathlib import Path
from typing import Any, Self

import httpx

from drivers.sources.asterisk.fake_server import FakeAmiServer

SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def example_config(tmp: Path, ami_port: int, status_port: int) -> Path:
    """The example configuration, its AMI, status and store moved to this run's."""
    text = resources.files("agent").joinpath("resources/ringback.example.yaml").read_text("utf-8")
    for old, new in (
        ("port: 5038 ", f"port: {ami_port} "),
        ('listen: "127.0.0.1:8787"', f'listen: "127.0.0.1:{status_port}"'),
        ("path: /var/lib/ringback/ringback.db", f"path: {tmp / 'ringback.db'}"),
        # no traffic off this machine: Twilio's address is a closed port on loopback
        ("base_url: https://api.twilio.com", f"base_url: http://127.0.0.1:{free_port()}"),
    ):
        if old not in text:
            raise SystemExit(f"the example configuration has no {old!r} any more")
        text = text.replace(old, new, 1)
    path = tmp / "ringback.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class AmiPeer:
    """A `FakeAmiServer` on its own event loop in a thread of this process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = FakeAmiServer(secret=SECRET)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        self.run(self.server.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def precompile() -> None:
    """Byte-compile ringback's own modules, as an installed package is: a start-up
    measured while every module is compiled from source (PYTHONDONTWRITEBYTECODE, an
    editable install) measures the compiler, not ringback."""
    root = Path(__file__).resolve().parent.parent
    for folder in ("agent", "drivers"):
        compileall.compile_dir(root / folder, quiet=1)


class Daemon:
    """`ringback run -c CONFIG`, its status API on `status_port`."""

    def __init__(self, config: Path, status_port: int) -> None:
        self.config, self.status_port = config, status_port
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def __enter__(self) -> Self:
        precompile()
        env = {
            **os.environ,
            "RINGBACK_PBX_SECRET": SECRET,
            "RINGBACK_TWILIO_AUTH_TOKEN": "bench-token",
            "RINGBACK_WEBHOOK_SECRET": "bench-webhook",
        }
        env.pop("NOTIFY_SOCKET", None)
        env.pop("RINGBACK_CONFIG", None)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli.parser", "run", "-c", str(self.config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(self.config.parent / "daemon.log").open("wb"),
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_answering(self, timeout: float = 60) -> float:
        """Seconds from exec until GET /livez answered."""
        deadline = time.perf_counter() + timeout
        url = f"http://127.0.0.1:{self.status_port}/livez"
        while True:
            try:
                httpx.get(url, timeout=1)
                return time.perf_counter() - self.started
            except httpx.TransportError:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    log = (self.config.parent / "daemon.log").read_text(errors="replace")
                    raise SystemExit(f"ringback run exited {self.proc.returncode}: {log}") from None
                if time.perf_counter() > deadline:
                    raise
                time.sleep(0.005)

    def cpu_seconds(self) -> float:
        """User + system CPU time the daemon has used so far (/proc/PID/stat): on a
        shared machine, what its start costs whatever else runs."""
        with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status(self) -> dict[str, Any]:
        response = httpx.get(f"http://127.0.0.1:{self.status_port}/v1/status", timeout=10)
        response.raise_for_status()
        doc: dict[str, Any] = response.json()
        return doc
