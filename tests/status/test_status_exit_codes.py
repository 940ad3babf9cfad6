"""`ringback status` exit codes (0 ready, 1 not ready or unreachable, 2 usage) and
`--url`, against a small HTTP server answering as the status API does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def document(ready: bool) -> dict[str, Any]:
    """The parts of a `ringback.status/1` document `ringback status` reads."""
    checks = {"pbx drill": "ok" if ready else "not connected"}
    return {
        "schema": "ringback.status/1",
        "agent": {"version": "0.1.0", "site": "Garage Laval", "uptime_seconds": 12},
        "health": {"ready": ready, "live": True, "checks": checks},
    }


@pytest.fixture
def api() -> Iterator[tuple[str, dict[str, Any]]]:
    """(base URL, the document it serves); the test sets `ready` in the document."""
    state: dict[str, Any] = {"doc": document(True), "paths": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["paths"].append(self.path)
            body = json.dumps(state["doc"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


def cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RINGBACK_CONFIG": str(tmp_path / "absent.yaml")}
    return subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "status", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_status_exit_code_says_ready_or_not(
    api: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    """A ready daemon exits 0; the same answer with `ready: false` prints "ready: NO"
    and exits 1; `--url` reaches a daemon on another port with no configuration."""
    url, state = api
    result = cli("--url", url, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ready: yes" in result.stdout
    state["doc"] = document(False)
    result = cli("--url", url, tmp_path=tmp_path)
    assert "ready: NO" in result.stdout
    assert result.returncode == 1
    assert state["paths"] == ["/v1/status", "/v1/status"]


def test_status_usage_errors_exit_2(tmp_path: Path) -> None:
    """A URL that is not http(s) and an unknown option are usage errors (exit 2);
    no daemon listening is 1."""
    assert cli("--url", "127.0.0.1:8788", tmp_path=tmp_path).returncode == 2
    assert cli("--bogus", tmp_path=tmp_path).returncode == 2
    unreachable = cli("--url", "http://127.0.0.1:9", tmp_path=tmp_path)
    assert unreachable.returncode == 1
    assert "cannot reach the status API at http://127.0.0.1:9/v1/status" in unreachable.stderr
