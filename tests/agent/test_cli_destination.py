"""`sms-preview --to` and `send-test --to` read a number as the pipeline does
(phonenumbers, national numbers in the site's country) and refuse anything else
with exit 2 and one line saying what is wrong and what to type."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agent.numbers import refusal
from tests.e2e.daemon import config_text, free_port


def _ringback(*argv: str, config_env: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RINGBACK_CONFIG": str(config_env)}
    return subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "ringback.yaml"
    pbx = "  - type: replay\n    name: drill\n"
    config.write_text(
        config_text(tmp_path, free_port(), pbx, "    - type: log\n      name: dry-run\n")
    )
    return config


def test_refusal_names_the_problem() -> None:
    """Each reason `normalize` gives has its own words: too short, withheld, invalid in
    the site's country, invalid E.164, empty."""
    assert refusal("123", "not_a_phone_number", "CA") == (
        "'123' is too short for a phone number (at least 7 digits, like +15145550100)"
    )
    assert refusal("anonymous", "withheld_number", "CA").endswith("not a phone number")
    assert refusal("+19995550100", "invalid_number", "CA") == (
        "'+19995550100' is not a valid phone number for CA (nor in E.164, like +15145550100)"
    )
    assert "in E.164" in refusal("5145550100", "invalid_number", "ZZ")
    assert refusal(" ", "withheld_number", "CA").startswith("the number is empty")


def test_sms_preview_refuses_a_three_digit_destination(tmp_path: Path) -> None:
    """A 3-digit `--to` (it used to be encoded into a PDU) exits 2 with a line on
    stderr and nothing on stdout; an area code that does not exist too."""
    nowhere = tmp_path / "absent.yaml"
    short = _ringback(
        "sms-preview", "--text", "Bonjour", "--to", "123", "--pdu", config_env=nowhere
    )
    assert short.returncode == 2
    assert short.stdout == ""
    assert short.stderr.strip() == (
        "sms-preview: --to '123' is too short for a phone number "
        "(at least 7 digits, like +15145550100)"
    )
    bad = _ringback("sms-preview", "--text", "x", "--to", "+19995550100", config_env=nowhere)
    assert bad.returncode == 2
    assert "'+19995550100' is not a valid phone number in E.164" in bad.stderr


def test_sms_preview_reads_a_national_number_in_the_sites_country(tmp_path: Path) -> None:
    """With the configuration (site country CA), `514 555 0199` is +15145550199 in
    the PDU; without one it needs E.164 and the message says how to give a country."""
    config = _config(tmp_path)
    args = ("sms-preview", "--text", "Bonjour", "--to", "514 555 0199", "--json")
    national = _ringback(*args, "-c", str(config), config_env=tmp_path / "absent.yaml")
    assert national.returncode == 0, national.stderr
    e164 = _ringback(
        "sms-preview", "--text", "Bonjour", "--to", "+15145550199", "--json",
        config_env=tmp_path / "absent.yaml",
    )  # fmt: skip
    assert e164.returncode == 0 and national.stdout == e164.stdout
    assert '"hex": "' in national.stdout
    without = _ringback(*args, config_env=tmp_path / "absent.yaml")
    assert without.returncode == 2
    assert without.stderr.strip().endswith("without a configuration (-c FILE) only E.164 is read")


def test_send_test_refuses_before_opening_the_senders(tmp_path: Path) -> None:
    """`send-test --to 123` exits 2 with the same words, and nothing is sent."""
    config = _config(tmp_path)
    sent = _ringback("send-test", "-c", str(config), "--to", "123", config_env=config)
    assert sent.returncode == 2
    assert "text to" not in sent.stdout
    assert sent.stderr.strip() == (
        "send-test: --to '123' is too short for a phone number "
        "(at least 7 digits, like +15145550100)"
    )
