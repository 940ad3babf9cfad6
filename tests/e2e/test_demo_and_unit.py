"""The README's first command and the systemd unit's promises."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_prints_verdicts_texts_and_summary() -> None:
    """`ringback demo` runs the real pipeline on the bundled calls: every recorded
    unanswered inbound call gets a printed text, the answered and internal ones are
    skipped with their reason, and the summary counts match; every unanswered call opened
    a case and the recorded callback from extension 101 closed one as reached."""
    result = subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"status API: http://127\.0\.0\.1:\d+/v1/status", out)
    assert re.search(
        r"desk: http://127\.0\.0\.1:\d+/desk/  \(user advisor, one-time password \S+\)", out
    )
    texts = [line for line in out.splitlines() if line.lstrip().startswith("text to ••")]
    # one word for what the callers get, the summary's ("5 texts sent"), not "SMS"
    assert "SMS" not in out
    assert "skip:answered" in out
    # caller names are personal data, masked like the numbers: initials only
    assert "GARCIA LUIS" not in out and "G. L." in out
    assert "skip:internal" in out
    # a staff phone is shown by its extension, not masked like a caller's number
    assert re.search(r"\binternal ext \d+ .* skip:internal", out), out
    assert re.search(r"\boutbound ext 101 .* skip:outbound", out), out
    summary = re.search(r"summary: (\d+) calls, (\d+) inbound, (\d+) unanswered; (\d+) text", out)
    assert summary is not None, out
    calls, inbound, unanswered, sent = (int(g) for g in summary.groups())
    assert calls >= 7 and inbound == calls - 2 and unanswered >= 5  # internal, callback
    assert sent == len(texts) == unanswered
    cases = re.search(r"cases: (\d+) opened, (\d+) closed", out)
    assert cases is not None and (int(cases[1]), int(cases[2])) == (unanswered, 1), out
    assert re.search(r"closed: reached by extension 101 at [\d:]+ \(proof: call \d+\)", out), out
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_demo_prints_each_text_under_its_call_with_the_reason(tmp_path: Path) -> None:
    """Each notified call's line ends with its reason (open, template, grace) and is
    followed by its own text, to the same masked number; no full number is printed;
    the temporary folder is gone afterwards."""
    result = subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "demo"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    notified = [n for n, line in enumerate(lines) if " notify " in line]
    assert len(notified) >= 5
    for n in notified:
        call, text = lines[n], lines[n + 1]
        assert re.search(r"\(open, template \w+\.open\.(en|fr), after 1 s grace\)$", call), call
        masked = call.split()[2]
        assert text.startswith(f"  text to {masked}: Sunrise Motors"), (call, text)
    assert not re.search(r"\+1\d{10}|\b\d{10}\b", result.stdout)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_demo_keep_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    """`demo --keep` keeps the status API up until Ctrl-C, then exits 0 without
    "second stop signal" and leaves no temporary folder."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.parser", "demo", "--keep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Ctrl-C to stop" in line:
            break
    else:
        pytest.fail(
            f"demo --keep ended early: {proc.wait()} {proc.stderr.read() if proc.stderr else ''}"
        )
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "second stop signal" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_demo_stopped_by_ctrl_c_while_calls_play_exits_cleanly(tmp_path: Path) -> None:
    """Ctrl-C while the recorded calls still play (at their recorded pace) stops the
    demo with one line and exit 0: no traceback of the store closing under the
    session (it was "StoreError: the store is not open"), no temporary folder left."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.parser", "demo", "--speed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("desk: "):
            break
    else:
        pytest.fail(f"demo ended early: {proc.wait()} {proc.stderr.read() if proc.stderr else ''}")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Error" not in err, err
    assert "demo stopped (Ctrl-C)" in out
    assert "summary:" not in out  # the calls did not all play
    assert list(tmp_path.iterdir()) == []


def test_unit_file_hardening_score() -> None:
    """`systemd-analyze security --offline=yes` scores the unit at 2.0 or better while
    it keeps serial devices (dialout, DeviceAllow) and IPv4/IPv6 sockets."""
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: .ci/run installs the systemd package")
    unit = ROOT / "systemd" / "ringback.service"
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for ringback\.service: (\d+\.\d+)", result.stdout)
    assert match is not None, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0
    text = unit.read_text()
    assert "Type=notify" in text and "WatchdogSec=" in text
    assert "SupplementaryGroups=dialout" in text
    assert "DeviceAllow=char-ttyUSB rw" in text
    assert "AF_INET AF_INET6" in text
    assert "PrivateUsers=yes" not in text  # would unmap the dialout group from serial ports
