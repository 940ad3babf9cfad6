"""The real `ringback run` process: READY, texts sent, auth, reload, graceful stop."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.daemon import DaemonProcess, config_text, free_port, run_once, write_calls

pytestmark = pytest.mark.slow

TOKEN = "t0k3n-for-tests-only-4f9a8c7e1b2d3e4f5a6b7c8d9e0f1a2b"


def missed_call(
    call_id: str, caller: str, ended_at: str = "2026-11-23T15:00:20Z"
) -> dict[str, Any]:
    return {
        "source": "x",
        "call_id": call_id,
        "started_at": "2026-11-23T15:00:00Z",
        "ended_at": ended_at,
        "direction": "inbound",
        "outcome": "missed",
        "caller_raw": caller,
        "dialed": "5145550102",
        "ring_seconds": 20.0,
    }


def _setup(
    tmp_path: Path, calls: list[dict[str, Any]], senders: str | None = None
) -> tuple[Path, int, Path]:
    calls_file = write_calls(tmp_path / "calls.jsonl", calls)
    token_file = tmp_path / "status.token"
    token_file.write_text(TOKEN + "\n")
    port = free_port()
    pbx = f"  - type: replay\n    name: drill\n    path: {calls_file}\n"
    senders = senders or "    - type: log\n      name: dry-run\n"
    config = tmp_path / "ringback.yaml"
    config.write_text(config_text(tmp_path, port, pbx, senders, token_file))
    return config, port, calls_file


def _sent(doc: dict[str, Any]) -> int:
    count: int = doc["queue"]["by_state"]["sent"]
    return count


def test_daemon_sends_texts_and_serves_status(tmp_path: Path) -> None:
    """Two missed calls from two numbers, one withheld: READY is notified, two texts
    leave through the dry-run sender, /v1/status counts them, every call has a decision."""
    calls = [
        missed_call("a", "4385550111"),
        missed_call("b", "5145550122"),
        missed_call("c", "anonymous"),
    ]
    config, port, _ = _setup(tmp_path, calls)
    with DaemonProcess(config, port, TOKEN) as daemon:
        daemon.wait_ready()
        doc = daemon.wait_status(lambda d: _sent(d) == 2)
        assert doc["schema"] == "ringback.status/1"
        assert doc["today"]["sms_sent"] == 2  # created now, so today in site time
        assert doc["pipeline"]["calls"] == 3
        assert doc["pipeline"]["skips"] == 1
        assert "4385550111" not in str(doc) and "5145550122" not in str(doc)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait_exit() == 0
        daemon.wait_notification("STOPPING=1", timeout=2)
    out = daemon.output()
    assert out.count("text to +1") == 2
    assert "Traceback" not in out


def test_status_api_requires_the_token(tmp_path: Path) -> None:
    """With a token configured, /v1/status and /metrics answer 401 with
    WWW-Authenticate to no or a wrong token; /livez stays open on loopback."""
    config, port, _ = _setup(tmp_path, [])
    with DaemonProcess(config, port, TOKEN) as daemon:
        daemon.wait_ready()
        for path in ("/v1/status", "/metrics", "/readyz"):
            for token in (None, "wrong", TOKEN[:-1]):
                response = daemon.get(path, token=token)
                assert response.status_code == 401, (path, token)
                assert response.headers["WWW-Authenticate"] == 'Bearer realm="ringback"'
                assert response.text == ""
        assert daemon.get("/livez", token=None).status_code == 200
        assert daemon.get("/metrics").text.startswith("# HELP ringback_build_info")


def test_sighup_refuses_an_invalid_config_and_keeps_running(tmp_path: Path) -> None:
    """An invalid config on SIGHUP is refused with a log line, the daemon keeps serving
    with the old one; a valid one is then applied (its checksum changes)."""
    config, port, _ = _setup(tmp_path, [])
    good = config.read_text()
    with DaemonProcess(config, port, TOKEN) as daemon:
        daemon.wait_ready()
        before = daemon.status()["agent"]["config"]["sha256"]
        config.write_text(good.replace("grace_seconds: 0", "grace_seconds: soon"))
        daemon.signal(signal.SIGHUP)
        doc = daemon.wait_status(lambda d: d["agent"]["config"]["last_reload_ok"] is False)
        assert doc["agent"]["config"]["sha256"] == before
        config.write_text(good.replace("grace_seconds: 0", "grace_seconds: 5"))
        daemon.signal(signal.SIGHUP)
        doc = daemon.wait_status(lambda d: d["agent"]["config"]["sha256"] != before)
        assert doc["agent"]["config"]["last_reload_ok"] is True
        daemon.signal(signal.SIGTERM)
        assert daemon.wait_exit() == 0
    assert "reload refused" in daemon.output()
    assert "sms.grace_seconds" in daemon.output()


def test_invalid_config_exits_2_with_the_line(tmp_path: Path) -> None:
    """`ringback run` on a bad file exits 2 with PATH:LINE: key: problem, no traceback."""
    config, _, _ = _setup(tmp_path, [])
    text = config.read_text().replace("country: CA", "country: Canada")
    config.write_text(text)
    line = text.splitlines().index("  country: Canada") + 1
    result = run_once(config)
    assert result.returncode == 2
    assert f"{config}:{line}: site.country: 'Canada' is not a country code" in result.stderr
    assert "Traceback" not in result.stderr
    # the log masks numbers (an example number too): the last line says where to see them
    last = result.stderr.strip().splitlines()[-1]
    assert last.endswith(
        f"1 problem, not started: `ringback check-config {config}` shows them with the "
        "numbers the log masks"
    ), last


def test_unwritable_store_directory_exits_3_with_a_message(tmp_path: Path) -> None:
    """A store path in a missing directory stops the daemon with exit 3 (store
    unusable: the unit does not restart it) and one line."""
    config, _, _ = _setup(tmp_path, [])
    config.write_text(
        config.read_text().replace(str(tmp_path / "ringback.db"), "/nonexistent/dir/r.db")
    )
    result = run_once(config)
    assert result.returncode == 3
    assert "directory /nonexistent/dir does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_store_exits_3_with_a_message(tmp_path: Path) -> None:
    """A store file that is not SQLite gives a specific 'corrupt' message, exit 3."""
    config, _, _ = _setup(tmp_path, [])
    (tmp_path / "ringback.db").write_bytes(b"this is not a database" * 100)
    result = run_once(config)
    assert result.returncode == 3
    assert "corrupt or not a ringback database" in result.stderr
    assert "Traceback" not in result.stderr


def test_watchdog_pings_while_the_loops_are_alive(tmp_path: Path) -> None:
    """Under a systemd watchdog (WATCHDOG_USEC), the daemon keeps sending WATCHDOG=1 at
    half the interval while its loops are alive, and STATUS= says what it runs."""
    config, port, _ = _setup(tmp_path, [missed_call("a", "4385550111")])
    with DaemonProcess(config, port, TOKEN, env={"WATCHDOG_USEC": "600000"}) as daemon:
        daemon.wait_ready()
        daemon.wait_status(lambda d: _sent(d) == 1)
        daemon.wait_count("WATCHDOG=1", 4, timeout=10)
        status = daemon.wait_notification("STATUS=running")
    assert "1 PBX source(s), 1 sender(s)" in status


def test_global_cap_alert_is_in_status_and_survives_a_restart(tmp_path: Path) -> None:
    """With sms.global_hourly_cap at 1, the second caller is skipped `global_cap` and
    /v1/status says the cap is reached; a restarted daemon still says so (the count
    comes from the store, not from memory)."""
    calls = [missed_call("a", "4385550111"), missed_call("b", "5145550122")]
    config, port, _ = _setup(tmp_path, calls)
    config.write_text(
        config.read_text().replace('quiet_hours: ""', 'quiet_hours: ""\n  global_hourly_cap: 1')
    )
    with DaemonProcess(config, port, TOKEN) as daemon:
        daemon.wait_ready()
        doc = daemon.wait_status(lambda d: d["pipeline"]["calls"] == 2)
        assert doc["alerts"]["global_cap"]["reached"] is True
        assert doc["alerts"]["global_cap"]["hit_at"] is not None
        daemon.signal(signal.SIGTERM)
        assert daemon.wait_exit() == 0
    (tmp_path / "notify.sock").unlink()
    with DaemonProcess(config, port, TOKEN) as again:
        again.wait_ready()
        cap = again.status()["alerts"]["global_cap"]
    assert cap == {"cap": 1, "last_hour": 1, "reached": True, "hit_at": None}


def test_a_record_the_store_refuses_is_set_aside_and_the_rest_go_on(tmp_path: Path) -> None:
    """A source hands over a call the store refuses (a caller name holding a lone
    UTF-16 surrogate, which SQLite cannot encode; a NaN duration used to do it but is
    now refused by the replay source itself): after a few tries it is written to
    unstored-calls.jsonl beside the database, counted, logged, and the calls behind
    it are still stored and texted."""
    bad = {**missed_call("b", "5145550122"), "caller_name": "\ud800"}
    calls = [missed_call("a", "4385550111"), bad, missed_call("c", "5145550133")]
    config, port, _ = _setup(tmp_path, calls)
    with DaemonProcess(config, port, TOKEN) as daemon:
        daemon.wait_ready()
        doc = daemon.wait_status(lambda d: d["pipeline"].get("calls_set_aside") == 1, 30)
        doc = daemon.wait_status(lambda d: _sent(d) == 2)
        assert doc["pipeline"]["calls"] == 2
    aside = (tmp_path / "unstored-calls.jsonl").read_text().splitlines()
    assert len(aside) == 1 and '"call_id": "b"' in aside[0]
    assert "set aside" in daemon.output()
