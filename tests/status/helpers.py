"""The real `ringback run` process for the status API tests: config, tokens, calls."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.daemon import DaemonProcess, config_text, free_port, write_calls

TOKEN = "status-test-token-0123456789abcdef0123456789abcdef"
TOKEN_NEXT = "status-test-token-next-fedcba9876543210fedcba98765"


def missed_call(n: int, caller: str | None = None) -> dict[str, Any]:
    """A missed inbound call, the n-th of a drill, hanging up n seconds after 15:00."""
    return {
        "source": "x",
        "call_id": f"call-{n:04d}",
        "started_at": f"2026-11-23T15:{n // 60:02d}:{n % 60:02d}Z",
        "ended_at": f"2026-11-23T16:{n // 60:02d}:{n % 60:02d}Z",
        "direction": "inbound",
        "outcome": "missed",
        "caller_raw": caller or f"43855{n:05d}",
        "dialed": "5145550102",
        "ring_seconds": 20.0,
    }


def replay_pbx(calls_file: Path, speed: float = 0.0) -> str:
    return f"  - type: replay\n    name: drill\n    path: {calls_file}\n    speed: {speed}\n"


def asterisk_pbx(port: int) -> str:
    return (
        "  - type: asterisk\n    name: main\n    host: 127.0.0.1\n"
        f"    port: {port}\n    secret: s3cret\n"
        "    reconnect_min_seconds: 0.05\n    reconnect_max_seconds: 0.2\n"
    )


LOG_SENDER = "    - type: log\n      name: dry-run\n      print: false\n"


def write_config(
    tmp: Path,
    pbx: str,
    *,
    senders: str = LOG_SENDER,
    status: str = "",
    token: str | None = TOKEN,
    token_next: str | None = None,
) -> tuple[Path, int]:
    """A config whose `status:` section listens on a free loopback port, with the
    tokens in files (`status.token`, `status.token_next` beside it)."""
    port = free_port()
    lines = []
    for name, value in (("token", token), ("token_next", token_next)):
        if value is not None:
            path = tmp / f"status.{name}"
            path.write_text(value + "\n")
            lines.append(f"  {name}_file: {path}")
    config = tmp / "ringback.yaml"
    caps = "  per_number_daily_cap: 100\n  global_hourly_cap: 10000"
    status_extra = "\n".join([*lines, status])
    config.write_text(
        config_text(tmp, port, pbx, senders, sms_extra=caps, status_extra=status_extra)
    )
    return config, port


def calls_file(tmp: Path, count: int) -> Path:
    return write_calls(tmp / "calls.jsonl", [missed_call(n) for n in range(count)])


@contextlib.contextmanager
def running(
    config: Path, port: int, token: str | None = TOKEN
) -> Iterator[tuple[DaemonProcess, httpx.Client]]:
    """The daemon, READY and answering, and one HTTP client on its status API."""
    with DaemonProcess(config, port, token) as daemon:
        daemon.wait_ready()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            yield daemon, http


def wait_for(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never held within {timeout}s")
        time.sleep(0.05)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def page_all(http: httpx.Client, feed: str, limit: int, token: str = TOKEN) -> list[dict[str, Any]]:
    """Every item of a feed, following `next_cursor` until `has_more` is false."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = http.get(f"/v1/{feed}", params=params, headers=auth(token))
        response.raise_for_status()
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items
