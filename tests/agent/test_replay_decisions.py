"""`ringback replay --decisions`: the recorded calls through the real pipeline, with
the built-in demo settings and with a realistic dealership YAML."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from agent.cli.parser import main

DEMO_CALLS = Path(str(resources.files("drivers.sources.replay").joinpath("demo_calls.jsonl")))

SUNRISE = """\
site:
  name: Sunrise Motors
  timezone: America/Chicago
  country: US
  province: TX
  callback_number: "514-555-0100"
  booking_url: "https://sunrise.example/rdv"
pbx:
  - type: replay
    name: demo
departments:
  default: service
  sales:
    label: Sales
    dids: ["5555550101"]
    ivr_keys: ["1"]
    extensions: ["101", "102", "103"]
    hours: {mon: "09:00-20:00", tue: "09:00-20:00", wed: "09:00-20:00", thu: "09:00-20:00",
            fri: "09:00-20:00", sat: "09:00-17:00"}
    templates:
      after_hours: null
  service:
    label: Service
    dids: ["5555550102"]
    queues: ["service"]
    ivr_keys: ["2"]
    extensions: ["201", "202"]
    hours: {mon: "07:00-18:00", tue: "07:00-18:00", wed: "07:00-18:00", thu: "07:00-18:00",
            fri: "07:00-18:00"}
sms:
  grace_seconds: 90
  quiet_hours: "21:00-08:00"
  blocklist: ["+1 469 555 0176"]
  senders:
    - type: log
      name: dry-run
storage:
  path: STORE
"""


def replay(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, dict[str, object]]:
    code = main(["replay", "--source", "replay", str(DEMO_CALLS), "--decisions", *extra])
    assert code == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return {str(d["call_id"]): d for d in map(json.loads, lines)}


def test_replay_with_built_in_settings(capsys: pytest.CaptureFixture[str]) -> None:
    """Every recorded call comes out with its department and decision; the texted
    ones show the text, which never holds the caller-ID name."""
    out = replay(capsys)
    summary = {k: (v["department"], v["decision"], v["reason"]) for k, v in out.items()}
    assert summary == {
        "demo-1": ("sales", "skip", "answered"),
        "demo-2": ("sales", "notify", None),
        "demo-3": ("sales", "notify", None),
        "demo-4": ("sales", "notify", None),
        "demo-5": ("service", "notify", None),
        "demo-6": ("service", "notify", None),
        "demo-7": ("service", "skip", "internal"),
    }
    for record in out.values():
        if record["text"]:
            assert str(record["caller_name"]) not in str(record["text"])
    assert "https://sunrise.example/rdv" in str(out["demo-6"]["text"])


def test_replay_with_a_dealership_yaml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """With real hours, quiet hours and a blocklist: the calls of 07:05-07:11 in
    Chicago find sales closed with no after-hours text, service open but inside quiet
    hours (deferred until they end, which the reason gives), a blocklisted number
    skipped."""
    config = tmp_path / "ringback.yaml"
    config.write_text(SUNRISE.replace("STORE", str(tmp_path / "rb.db")), encoding="utf-8")
    out = replay(capsys, "-c", str(config))
    summary = {k: (v["department"], v["decision"], v["reason"]) for k, v in out.items()}
    assert summary == {
        "demo-1": ("sales", "skip", "answered"),
        "demo-2": ("sales", "skip", "after_hours_no_template"),
        "demo-3": ("sales", "skip", "after_hours_no_template"),
        "demo-4": ("sales", "skip", "blocklisted"),
        "demo-5": ("service", "defer", "2026-11-23T08:00:00-06:00"),  # quiet hours end
        "demo-6": ("service", "defer", "2026-11-23T08:00:00-06:00"),
        "demo-7": ("service", "skip", "internal"),
    }
    assert out["demo-6"]["text"]
