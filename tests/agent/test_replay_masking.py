"""`ringback replay` through the real CLI: the caller's number (as received and in
E.164) and any number in the caller-ID name are masked as the logs mask them; the
dealership's DID stays readable; `--full` shows everything, with and without
`--decisions`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.numbers import mask

CALLER = "4385550177"
LINE = {
    "source": "pbx",
    "call_id": "c-1",
    "started_at": "2026-11-23T15:00:00Z",
    "ended_at": "2026-11-23T15:00:20Z",
    "direction": "inbound",
    "outcome": "missed",
    "caller_raw": CALLER,
    "caller_name": f"CELL {CALLER}",
    "dialed": "5145550102",
    "ring_seconds": 20.0,
}


def replay(calls: Path, *extra: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "replay", "--source", "replay", str(calls),
         *extra],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert CALLER[-7:] not in done.stderr
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    return dict(row)


@pytest.mark.parametrize("decisions", [[], ["--decisions"]], ids=["records", "decisions"])
def test_replay_masks_the_callers_number_unless_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decisions: list[str]
) -> None:
    monkeypatch.delenv("RINGBACK_CONFIG", raising=False)
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps(LINE) + "\n", encoding="utf-8")
    masked = replay(calls, *decisions)
    assert CALLER[-7:] not in json.dumps(masked)
    assert masked["caller_raw"] == mask(CALLER)
    assert masked["caller_e164"] == mask("+1" + CALLER)
    assert masked["caller_name"] == f"CELL {mask(CALLER)}"
    assert masked["dialed"] == "5145550102"  # the dealership's own number
    full = replay(calls, *decisions, "--full")
    assert (full["caller_raw"], full["caller_e164"]) == (CALLER, "+1" + CALLER)
    assert full["caller_name"] == f"CELL {CALLER}"


def _replay_err(*args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "replay", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, done.stderr.strip()


def test_replay_names_the_format_flag_a_stream_needs(tmp_path: Path) -> None:
    """An SMDR stream without `--format`, with an unknown family, or `--format` on a
    stream that has none: one line naming the flag and the choices, exit 2 (it said
    "replay: Field required", or ignored the flag)."""
    stream = tmp_path / "smdr.txt"
    stream.write_text("\n", encoding="utf-8")
    code, err = _replay_err("--source", "smdr", str(stream))
    assert code == 2
    assert err.startswith("replay: --format FAMILY is needed for --source smdr (expected one of: ")
    assert "avaya_ipoffice" in err and "nec" in err and "Field required" not in err
    code, err = _replay_err("--source", "smdr", "--format", "nope", str(stream))
    assert code == 2 and "replay: --format 'nope' is not a family of --source smdr" in err
    code, err = _replay_err("--source", "asterisk", "--format", "nec", str(stream))
    assert (code, err) == (
        2,
        "replay: --format is not an option of --source asterisk (expected none)",
    )


def test_replay_ends_with_how_many_calls_on_stderr(tmp_path: Path) -> None:
    """stdout is one JSON object per call and nothing else; stderr's last line counts
    the calls (and the decisions with `--decisions`), or says none was found."""
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps(LINE) + "\n", encoding="utf-8")
    code, err = _replay_err("--source", "replay", str(calls), "--decisions")
    assert code == 0 and err.splitlines()[-1] == f"replay: 1 call in {calls} (1 notify)"
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    code, err = _replay_err("--source", "smdr", "--format", "nec", str(empty))
    assert code == 0
    assert err.splitlines()[-1] == (
        f"replay: no call found in {empty} (expected a smdr (nec) stream; any line above "
        "says what was skipped)"
    )
