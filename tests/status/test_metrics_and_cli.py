"""`/metrics` read by Prometheus' own parser, and `ringback status` for technicians,
against one real daemon that has taken three calls (one line of its file is bad) and
sent their texts through a dry-run sender that fails every second send."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.status.helpers import (
    TOKEN,
    auth,
    missed_call,
    replay_pbx,
    running,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.slow

FLAKY_SENDER = "    - type: log\n      name: dry-run\n      print: false\n      fail_every: 2\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, httpx.Client]]:
    tmp = tmp_path_factory.mktemp("metrics")
    lines = [json.dumps(missed_call(n, f"43855501{n:02d}")) for n in range(3)]
    (tmp / "calls.jsonl").write_text("\n".join([*lines, "{not json"]) + "\n")
    config, port = write_config(tmp, replay_pbx(tmp / "calls.jsonl"), senders=FLAKY_SENDER)
    with running(config, port) as (_, http):
        wait_for(lambda: _doc(http)["queue"]["by_state"]["sent"] == 3, what="3 texts sent")
        yield config, http


def _doc(http: httpx.Client) -> dict[str, Any]:
    doc: dict[str, Any] = http.get("/v1/status", headers=auth()).json()
    return doc


def _samples(http: httpx.Client) -> tuple[dict[str, str], dict[tuple[str, tuple[Any, ...]], float]]:
    response = http.get("/metrics", headers=auth())
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    kinds: dict[str, str] = {}
    values: dict[tuple[str, tuple[Any, ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        kinds[family.name] = family.type
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return kinds, values


def test_metrics_parse_and_count_what_happened(site: tuple[Path, httpx.Client]) -> None:
    """The exposition parses with prometheus_client; every family is `ringback_` (but
    the standard `process_*` ones); the
    outbox gauge, the send attempts read from the store (3 sent, the drills' retries),
    the replay driver's bad-line counter, the pipeline's calls and a refused request
    by reason all carry the numbers of what happened."""
    _, http = site
    assert http.get("/v1/calls", params={"limit": "-3"}, headers=auth()).status_code == 400
    kinds, values = _samples(http)
    assert all(name.startswith(("ringback_", "process_")) for name in kinds)
    for name in (
        "ringback_build_info",
        "ringback_start_time_seconds",
        "ringback_outbox_oldest_pending_age_seconds",
        "ringback_pbx_connected",
        "ringback_pbx_last_call_timestamp_seconds",
        "ringback_storage_bytes",
        "ringback_config_last_reload_success",
    ):
        assert kinds[name] == "gauge", name
    for name in (
        "ringback_driver_events",
        "ringback_sms_send_attempts",
        "ringback_pipeline_events",
        "ringback_status_api_rejected",
    ):
        assert kinds[name] == "counter", name  # the parser strips `_total`
    assert values[("ringback_outbox_messages", (("state", "sent"),))] == 3
    sent = ("ringback_sms_send_attempts_total", (("result", "sent"), ("sender", "dry-run")))
    assert values[sent] == 3
    retried = sum(
        v
        for (name, labels), v in values.items()
        if name == "ringback_sms_send_attempts_total" and ("result", "sent") not in labels
    )
    assert retried >= 1
    bad = ("ringback_driver_events_total", (("driver", "drill"), ("event", "bad_record")))
    assert values[bad] == 1
    assert values[("ringback_pipeline_events_total", (("event", "calls"),))] == 3
    assert values[("ringback_status_api_rejected_total", (("reason", "bad_limit"),))] >= 1
    assert values[("ringback_outbox_oldest_pending_age_seconds", ())] == 0


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "status", "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_metrics_carry_the_process_series(site: tuple[Path, httpx.Client]) -> None:
    """/metrics has the process_* series Prometheus users expect (resident memory, CPU
    seconds, open files, start time), with values of this daemon, read by Prometheus'
    parser beside ringback's own."""
    _, http = site
    kinds, values = _samples(http)
    for name in (
        "process_resident_memory_bytes",
        "process_cpu_seconds",
        "process_open_fds",
        "process_start_time_seconds",
    ):
        assert name in kinds, name
    assert values[("process_resident_memory_bytes", ())] > 1_000_000
    assert values[("process_open_fds", ())] >= 3
    assert "ringback_build_info" in kinds


def test_ringback_status_says_what_is_connected_queued_and_failed(
    site: tuple[Path, httpx.Client],
) -> None:
    """`ringback status` prints, from the API, the PBX source and the sender with
    their kind and state, the outbox, the last send error and why, today's counts,
    and never a caller's full number; `--json` prints the document itself."""
    config, _ = site
    result = _cli(config)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "pbx drill (replay): " in out
    assert "sender dry-run (log): ok, dry run" in out
    assert "outbox: sent 3" in out
    assert "last send error: " in out and "drill: fail_every" in out
    assert "3 texts sent" in out
    assert "4385550100" not in out and "4385550101" not in out
    doc = json.loads(_cli(config, "--json").stdout)
    assert doc["schema"] == "ringback.status/1"


def test_ringback_status_explains_a_refused_token_or_a_stopped_daemon(
    site: tuple[Path, httpx.Client], tmp_path: Path
) -> None:
    """A wrong token file is reported as such (exit 1, no token in the output); a
    config whose port has no daemon says the API cannot be reached (exit 1)."""
    config, _ = site
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token\n")
    text = config.read_text().replace(str(config.parent / "status.token"), str(wrong))
    other = tmp_path / "wrong.yaml"
    other.write_text(text)
    result = _cli(other)
    assert result.returncode == 1
    assert "refused the token" in result.stderr
    assert "not-the-token" not in result.stderr + result.stdout
    stopped, _ = write_config(tmp_path, replay_pbx(tmp_path / "none.jsonl"))
    result = _cli(stopped)
    assert result.returncode == 1
    assert "cannot reach the status API" in result.stderr
    assert TOKEN not in result.stderr
