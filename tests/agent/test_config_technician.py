"""Configuration mistakes a technician makes on a fresh install (issue 18): where each
is reported, that secrets installed beside the file count, that offline commands need
no secrets, and that configured phone numbers are checked as callers' numbers are."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.cli.parser import main
from agent.config.settings import load
from agent.errors import ConfigError
from tests.agent.test_config import GOOD, broken, line_of, problems_of

ASTERISK = GOOD.replace(
    "  - type: replay\n    name: pbx\n",
    "  - type: asterisk\n    name: pbx\n    host: 127.0.0.1\n    username: ringback\n",
)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    def write_config(text: str) -> Path:
        path = tmp_path / "ringback.yaml"
        path.write_text(text.replace("STORE", str(tmp_path / "rb.db")), encoding="utf-8")
        return path

    return write_config


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CREDENTIALS_DIRECTORY, restored afterwards even when a command sets it."""
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", "/nonexistent")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    monkeypatch.delenv("RINGBACK_CONFIG", raising=False)


@pytest.mark.usefixtures("no_credentials")
def test_check_config_reads_the_credentials_beside_the_file(
    write: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`check-config FILE` finds the secret `install --secret pbx.secret` wrote into
    credentials/ beside FILE, as doctor, outbox and purge do."""
    path = write(ASTERISK)
    (path.parent / "credentials").mkdir()
    (path.parent / "credentials" / "pbx.secret").write_text("s3cret\n", encoding="utf-8")
    assert main(["check-config", str(path)]) == 0, capsys.readouterr().err
    assert "configuration is valid" in capsys.readouterr().out


@pytest.mark.usefixtures("no_credentials")
def test_check_config_still_names_a_missing_secret(
    write: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """With no credential file, check-config still says the secret is missing."""
    path = write(ASTERISK)
    assert main(["check-config", str(path)]) == 2
    assert "pbx.0.secret: secret is missing" in capsys.readouterr().err


REPLAY_LINE = {
    "source": "recorded",
    "call_id": "r1",
    "direction": "inbound",
    "outcome": "missed",
    "caller_raw": "5145550188",
    "dialed": "5145550102",
    "started_at": "2026-03-03T15:00:00+00:00",
    "ended_at": "2026-03-03T15:00:30+00:00",
}


@pytest.mark.usefixtures("no_credentials")
def test_replay_decisions_needs_no_secrets_and_honours_ringback_config(
    write: Callable[[str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`replay --decisions` with a configuration whose PBX secret is not in place runs
    (it connects to nothing), and without -c it uses $RINGBACK_CONFIG, not the demo."""
    path = write(ASTERISK.replace("Garage Laval", "Garage Envvar"))
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps(REPLAY_LINE) + "\n", encoding="utf-8")
    monkeypatch.setenv("RINGBACK_CONFIG", str(path))
    code = main(["replay", "--source", "replay", "--decisions", str(calls)])
    out, err = capsys.readouterr()
    assert code == 0, err
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["department"] == "service"
    assert "Garage Envvar" in row["text"]


def test_unclosed_bracket_on_the_last_line_names_the_line_it_opened(
    write: Callable[[str], Path],
) -> None:
    """A flow list left open at the end is reported at the line where it opened, not
    one line past the end of the file."""
    text = GOOD + "report:\n  staffing_targets: [1, 2\n"
    path = write(text)
    (problem,) = problems_of(path)
    opened = line_of(text, "staffing_targets")
    assert problem.startswith(f"{path}:{opened}: YAML syntax: "), problem
    assert f"noticed at line {len(text.splitlines()) + 1}" in problem


def test_unclosed_quote_on_the_last_line_names_the_line_it_opened(
    write: Callable[[str], Path],
) -> None:
    """A quote left open at the end is reported where the quote opened."""
    text = GOOD + 'report:\n  title: "Rapport\n'
    path = write(text)
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{line_of(text, 'title')}: YAML syntax: "), problem


def test_a_block_error_is_never_past_the_last_line(write: Callable[[str], Path]) -> None:
    """A mapping broken at the very end names a line of the file."""
    text = GOOD + "report:\n  - a\n  b: c"
    path = write(text)
    (problem,) = problems_of(path)
    line = int(problem.removeprefix(f"{path}:").split(":")[0])
    assert 1 <= line <= len(text.splitlines()), problem


def test_a_key_given_twice_is_an_error_with_both_lines(write: Callable[[str], Path]) -> None:
    """A duplicate key is not silently won by the last one: both lines are named, and
    the other problems of the file come in the same run."""
    text = broken(GOOD, "  province: QC\n", "  province: QC\n  timezone: Mars/Olympus\n")
    path = write(text)
    problems = problems_of(path)
    first, second = line_of(text, "timezone: America"), line_of(text, "Mars")
    assert (
        f"{path}:{second}: site.timezone: given twice, at lines {first} and {second}"
        in (problems[0])
    )
    assert any("unknown time zone 'Mars/Olympus'" in p for p in problems[1:]), problems


def test_an_environment_override_is_blamed_on_its_variable(
    write: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad value from RINGBACK_SITE__TIMEZONE names that variable, not the YAML line
    where the file's (good) timezone is."""
    monkeypatch.setenv("RINGBACK_SITE__TIMEZONE", "Mars/Olympus")
    (problem,) = problems_of(write(GOOD))
    assert problem.startswith("RINGBACK_SITE__TIMEZONE (environment variable): site.timezone: ")
    assert "Mars/Olympus" in problem


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('callback_number: "514-555-0100"', 'callback_number: "512-555-01000x"', "callback"),
        ('dids: ["5145550101"]', 'dids: ["12"]', "dids"),
        ("  senders:", "  blocklist: ['+1512555010']\n  senders:", "blocklist"),
    ],
)
def test_configured_numbers_are_checked_by_phonenumbers(
    write: Callable[[str], Path], old: str, new: str, key: str
) -> None:
    """A callback number with a stray digit and a letter, a DID of two digits and a
    blocked number one digit short are errors at their line."""
    text = broken(GOOD, old, new)
    path = write(text)
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{line_of(text, new.split(chr(10), maxsplit=1)[0])}: "), (
        problem
    )
    assert key in problem.split(": ")[1]
    assert "phone number" in problem


def test_numbers_are_read_in_the_sites_region(write: Callable[[str], Path]) -> None:
    """A London number written the British way is valid for a GB site only."""
    london = broken(GOOD, 'callback_number: "514-555-0100"', 'callback_number: "020 7946 0018"')
    (problem,) = problems_of(write(london))
    assert "site.callback_number" in problem and "in CA" in problem
    gb = broken(london, "  province: QC", "  country: GB\n  timezone: Europe/London")
    gb = gb.replace("  timezone: America/Toronto\n", "")
    gb = gb.replace('dids: ["5145550102"]', 'dids: ["020 7946 0102"]')
    gb = gb.replace('dids: ["5145550101"]', 'dids: ["020 7946 0101"]')
    gb = gb.replace("  quiet_hours:", "  allowed_countries: [GB]\n  quiet_hours:")
    assert load(write(gb)).settings.site.callback_number == "020 7946 0018"


def test_twilio_from_must_be_a_valid_number(write: Callable[[str], Path]) -> None:
    """`from: +1512555010` (a digit short) is refused, not sent to Twilio."""
    text = broken(
        GOOD,
        "    - type: log\n      name: dry-run\n",
        "    - type: twilio\n      name: cloud\n      account_sid: AC" + "0" * 32 + "\n"
        "      auth_token: t\n      from: '+1512555010'\n",
    )
    path = write(text)
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{line_of(text, 'from:')}: sms.senders.0.from"), problem
    assert "'+1512555010' is not a valid phone number" in problem


def test_a_template_longer_than_a_modems_max_parts_is_an_error(
    write: Callable[[str], Path], tmp_path: Path
) -> None:
    """A template costing more segments than the gsm sender's max_parts is an error
    naming the template and the sender (each such text would fail at run time)."""
    text = broken(
        GOOD,
        "    - type: log\n      name: dry-run\n",
        f"    - type: gsm\n      name: modem\n      port: {tmp_path / 'tty'}\n      max_parts: 1\n",
    )
    long = "Nous avons manqué votre appel — rappelez-nous " * 3
    text = broken(text, '        fr: "{site} : appel manqué', f'        fr: "{long}{{site}} :')
    path = write(text)
    problems = problems_of(path)
    assert len(problems) == 1, problems
    line = line_of(text, long[:20])
    assert problems[0].startswith(f"{path}:{line}: departments.service.templates.open.fr: ")
    assert "sender 'modem' sends at most 1" in problems[0]


def test_cross_checks_come_with_the_other_errors(write: Callable[[str], Path]) -> None:
    """A DID listed by two departments and an undefined default are reported in the
    same run as a bad time zone and a bad opening range."""
    text = broken(GOOD, "  timezone: America/Toronto", "  timezone: Nowhere/Else")
    text = broken(text, '      tue: "07:30-17:30"', '      tue: "9-5"')
    text = broken(text, 'dids: ["5145550101"]', 'dids: ["514-555-0102"]')
    text = broken(text, "default: service", "default: servcie")
    problems = problems_of(write(text))
    keys = [p.split(": ")[1] for p in problems]
    assert keys == [
        "site.timezone",
        "departments.service.hours.tue",
        "departments.default",
        "departments.sales.dids.0",
    ], problems


def test_offline_load_skips_only_required_secrets(write: Callable[[str], Path]) -> None:
    """`load(offline=True)` accepts a missing secret, and nothing else."""
    path = write(ASTERISK)
    with pytest.raises(ConfigError):
        load(path)
    assert load(path, offline=True).settings.pbx[0].name == "pbx"
    bad = write(broken(ASTERISK, "username: ringback", "username: ''"))
    with pytest.raises(ConfigError):
        load(bad, offline=True)


@pytest.mark.usefixtures("no_credentials")
def test_check_config_without_a_file_says_how_to_get_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No FILE, no $RINGBACK_CONFIG and nothing at /etc/ringback/ringback.yaml (a fresh
    machine): the problem says where the file is looked for and how to write one."""
    from agent.config.settings import DEFAULT_PATH

    if DEFAULT_PATH.exists():
        pytest.skip(f"{DEFAULT_PATH} exists on this machine")
    assert main(["check-config"]) == 2
    first, last = capsys.readouterr().err.splitlines()
    assert first == (
        f"{DEFAULT_PATH}: cannot read the configuration: No such file or directory (expected "
        "a file here, or given with -c FILE or $RINGBACK_CONFIG; `ringback config example > "
        "ringback.yaml` writes one to start from)"
    )
    assert last == f"{DEFAULT_PATH}: 1 problem, the configuration is not valid"
    assert main(["check-config", "a.yaml", "-c", "b.yaml"]) == 2
    assert "give the file once (FILE or -c FILE)" in capsys.readouterr().err


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize(
    "command",
    [["outbox", "list"], ["cases", "list"], ["purge", "--number", "5145550123"]],
    ids=["outbox", "cases", "purge"],
)
def test_store_commands_need_no_secret(
    write: Callable[[str], Path], capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """`outbox`, `cases` and `purge` read and write the store only: a PBX secret that
    is not in place (a technician's shell without the systemd credentials) does not
    stop them, as it does not stop `replay` or `status`. Before the first start they
    say there is no store yet instead of creating an empty one."""
    path = write(ASTERISK)
    store = path.parent / "rb.db"
    assert main([*command, "-c", str(path)]) == 1  # before the first start: no store yet
    err = capsys.readouterr().err
    assert "secret is missing" not in err
    assert err == (
        f"ringback {command[0]}: no store at {store} yet (`ringback run` creates it when it "
        "first starts; storage.path says where)\n"
    )
    assert not store.exists()  # not created empty by a look at it
    asyncio.run(_open_store(store))
    assert main([*command, "-c", str(path)]) == 0, capsys.readouterr().err
    assert "secret is missing" not in capsys.readouterr().err


async def _open_store(path: Path) -> None:
    from agent.store import Store

    async with Store(path):
        pass
