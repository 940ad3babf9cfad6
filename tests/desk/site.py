"""A desk-enabled site for the tests: the real daemon (replaying recorded calls) with
two departments, five desk users (two managers: French and English) and their
passwords set with `ringback desk passwd`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.daemon import config_text, free_port, set_passwords, write_calls

PASSWORDS = {
    "ana": "ana-password-1",
    "bob": "bob-password-2",
    "chef": "chef-password-3",
    "dora": "dora-password-4",
    "eve": "eve-password-5",
}
DESK_USERS = """
desk:
  listen: "127.0.0.1:{port}"
  login_attempts: 3
  lockout_minutes: 1
  users:
    - {{name: ana, role: staff, departments: [service], language: fr}}
    - {{name: bob, role: staff, departments: [sales], language: en}}
    - {{name: chef, role: manager}}
    - {{name: dora, role: staff, departments: [sales]}}
    - {{name: eve, role: manager, language: en}}
"""


def missed(call_id: str, caller: str, dialed: str, name: str = "") -> dict[str, Any]:
    return {
        "source": "x",
        "call_id": call_id,
        "started_at": "2026-11-23T15:00:00Z",
        "ended_at": "2026-11-23T15:00:20Z",
        "direction": "inbound",
        "outcome": "missed",
        "caller_raw": caller,
        "caller_name": name,
        "dialed": dialed,
        "ring_seconds": 20.0,
    }


def desk_site(tmp_path: Path, calls: list[dict[str, Any]]) -> tuple[Path, int, int]:
    """(config, status port, desk port); passwords set through the CLI."""
    calls_file = write_calls(tmp_path / "calls.jsonl", calls)
    port, desk_port = free_port(), free_port()
    pbx = f"  - type: replay\n    name: drill\n    path: {calls_file}\n    shift_to_now: true\n"
    senders = "    - type: log\n      name: dry-run\n"
    text = config_text(tmp_path, port, pbx, senders, extra=DESK_USERS.format(port=desk_port))
    text = text.replace(
        "  service:\n    label: Service\n",
        "  service:\n    label: Service\n    dids: ['5145550102']\n"
        "  sales:\n    label: Ventes\n    dids: ['5145550101']\n",
    )
    config = tmp_path / "ringback.yaml"
    config.write_text(text)
    set_passwords(config, PASSWORDS)
    return config, port, desk_port


def login_form(client: httpx.Client) -> str:
    page = client.get("/desk/")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def log_in(client: httpx.Client, name: str, password: str | None = None) -> httpx.Response:
    token = login_form(client)
    return client.post(
        "/desk/login",
        data={"name": name, "password": password or PASSWORDS[name], "csrf": token},
    )
