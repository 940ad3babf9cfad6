"""`ringback outbox` against the real running daemon: the technician's commands change
the shared store safely and the daemon acts on them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from drivers.senders.gsm.pdu_decode import decode_submit
from tests.e2e.daemon import DaemonProcess, config_text, free_port, write_calls
from tests.peers.modem import Behaviour, FakeModem

pytestmark = pytest.mark.slow


def missed(call_id: str, caller: str) -> dict[str, Any]:
    return {
        "source": "x",
        "call_id": call_id,
        "started_at": "2026-11-23T15:00:00Z",
        "ended_at": "2026-11-23T15:00:20Z",
        "direction": "inbound",
        "outcome": "missed",
        "caller_raw": caller,
        "dialed": "5145550102",
        "ring_seconds": 20.0,
    }


def outbox(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "outbox", "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def by_state(doc: dict[str, Any], state: str) -> int:
    count: int = doc["queue"]["by_state"][state]
    return count


async def test_retry_and_cancel_while_the_daemon_runs(tmp_path: Path) -> None:
    """Two missed calls; the modem rejects the first text (CMS 1, failed) and defers the
    second (CMS 27, retry_wait in 10 min). `outbox list` shows both with masked numbers;
    cancel refuses the failed one and suppresses the waiting one; retry refuses the
    suppressed one and requeues the failed one, which the running daemon then sends."""
    port = free_port()
    calls = write_calls(
        tmp_path / "calls.jsonl", [missed("a", "4385550111"), missed("b", "5145550122")]
    )
    pbx = f"  - type: replay\n    name: drill\n    path: {calls}\n"
    with FakeModem(tmp_path, Behaviour(pin=None, outcomes=[1, 27])) as modem:
        gsm = (
            f"    - type: gsm\n      name: modem\n      port: {modem.path}\n"
            "      command_timeout_seconds: 2\n      submit_timeout_seconds: 5\n"
            # a text due while the modem still initialises comes back within a second
            "      not_ready_retry_seconds: 1\n"
        )
        config = tmp_path / "ringback.yaml"
        config.write_text(config_text(tmp_path, port, pbx, gsm))
        with DaemonProcess(config, port) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            await asyncio.to_thread(
                daemon.wait_status,
                lambda d: by_state(d, "failed") == 1 and by_state(d, "retry_wait") == 1,
                30.0,
            )
            listed = outbox(config, "list", "--json")
            assert listed.returncode == 0, listed.stderr
            rows = {r["state"]: r for r in json.loads(listed.stdout)}
            failed, waiting = rows["failed"]["id"], rows["retry_wait"]["id"]
            assert rows["failed"]["to"].endswith("11") and "438555" not in listed.stdout

            refused = outbox(config, "cancel", str(failed))
            assert refused.returncode == 1 and "nothing changed" in refused.stderr
            assert outbox(config, "cancel", str(waiting)).returncode == 0
            assert outbox(config, "retry", str(waiting)).returncode == 1
            done = outbox(config, "retry", str(failed))
            assert done.returncode == 0 and "queued again" in done.stdout

            doc = await asyncio.to_thread(
                daemon.wait_status, lambda d: by_state(d, "sent") == 1, 45.0
            )
            assert by_state(doc, "suppressed") == 1
            shown = outbox(config, "show", str(failed), "--json")
            history = [h["result"] for h in json.loads(shown.stdout)["history"]]
            assert history[-2:] == ["retry_requested", "sent"]
    assert len(modem.received) == 1  # only the retried text was accepted by the modem
    assert decode_submit(modem.received[0].hex).recipient == "+14385550111"
