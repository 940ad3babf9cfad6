"""Configuration: every error kind as `PATH:LINE: key.path: what (expected)`, all at once,
`check-config` exit codes and summary, environment overrides, secrets."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.cli.parser import main
from agent.config.settings import load
from agent.errors import ConfigError
from tests.agent.conftest import SettingsFactory

GOOD = """\
site:
  name: Garage Laval
  timezone: America/Toronto
  province: QC
  callback_number: "514-555-0100"
pbx:
  - type: replay
    name: pbx
departments:
  default: service
  service:
    label: service
    dids: ["5145550102"]
    hours:
      mon: "07:30-12:00, 13:00-17:30"
      tue: "07:30-17:30"
    templates:
      open:
        fr: "{site} : appel manqué au {department}. Rappelez-nous au {callback_number}."
  sales:
    dids: ["5145550101"]
sms:
  quiet_hours: "21:00-08:00"
  senders:
    - type: log
      name: dry-run
storage:
  path: STORE
"""


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    def write_config(text: str) -> Path:
        path = tmp_path / "ringback.yaml"
        path.write_text(text.replace("STORE", str(tmp_path / "rb.db")), encoding="utf-8")
        return path

    return write_config


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path)
    return caught.value.problems


def broken(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


ERRORS = [
    # (replace this, with that, line marker, key path, words of the message)
    ("timezone: America/Toronto", "timezone: Mars/Olympus", "Mars", "site.timezone", "time zone"),
    (
        "  name: Garage Laval",
        "  name: Garage Laval\n  nmae: typo",
        "nmae",
        "site.nmae",
        "unknown key",
    ),
    (
        '  quiet_hours: "21:00-08:00"',
        "  grace_seconds: soon",
        "soon",
        "sms.grace_seconds",
        "number",
    ),
    ('quiet_hours: "21:00-08:00"', 'quiet_hours: "21h-8h"', "21h", "sms.quiet_hours", "HH:MM"),
    (
        "{callback_number}.",
        "{callback_number}. {caller_name}",
        "caller_name",
        "departments.service.templates.open.fr",
        "unknown placeholder {caller_name}",
    ),
    ("{callback_number}.", "{site:d}", "site:d", "departments.service.templates.open.fr", "broken"),
    (
        'tue: "07:30-17:30"',
        'tue: "07:30-12:00, 11:00-17:30"',
        "11:00",
        "departments.service.hours.tue",
        "overlapping",
    ),
    (
        'tue: "07:30-17:30"',
        'tue: "25:00-26:00"',
        "25:",
        "departments.service.hours.tue",
        "impossible",
    ),
    (
        'tue: "07:30-17:30"',
        'tue: "17:30-07:30"',
        "17:30-",
        "departments.service.hours.tue",
        "ends before",
    ),
    ("      tue:", "      tues:", "tues", "departments.service.hours.tues", "not allowed"),
    ("default: service", "default: servcie", "servcie", "departments.default", "'servcie'"),
    (
        'dids: ["5145550101"]',
        'dids: ["+1 514 555 0102"]',
        "+1 514",
        "departments.sales.dids.0",
        "listed by both service and sales",
    ),
    ("province: QC", "province: XX", "XX", "site.province", "unknown province"),
    (
        "  name: Garage Laval",
        "  name: G\n  holidays: [2026-13-45]",
        "2026-13",
        "site.holidays.0",
        "date",
    ),
    (
        "  senders:",
        "  blocklist: ['123abc']\n  senders:",
        "123abc",
        "sms.blocklist.0",
        "phone number",
    ),
    (
        "name: dry-run",
        "name: dry-run\n      colour: red",
        "colour",
        "sms.senders.0.colour",
        "unknown key",
    ),
    ("- type: log", "- type: carrier-pigeon", "pigeon", "sms.senders.0", "unknown type"),
    (
        "storage:",
        "status:\n  token_file: /nonexistent/token\nstorage:",
        "token_file",
        "status.token_file",
        "cannot read secret file",
    ),
]


def line_of(text: str, marker: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if marker in line)


@pytest.mark.parametrize(("old", "new", "marker", "key", "words"), ERRORS)
def test_each_error_kind_points_at_its_line(
    write: Callable[[str], Path], old: str, new: str, marker: str, key: str, words: str
) -> None:
    """Every kind of mistake is reported as `PATH:LINE: key.path: what (expected ...)`
    with the line the technician has to fix."""
    text = broken(GOOD, old, new)
    line = line_of(text, marker)
    path = write(text)
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{line}: {key}: "), problems[0]
    assert words in problems[0]
    if key != "status.token_file":  # drivers/base.py's message has no "(expected ...)" yet
        assert "(expected" in problems[0] and problems[0].rstrip().endswith(")")


def test_yaml_syntax_error_has_its_line(write: Callable[[str], Path]) -> None:
    """A YAML syntax error names the line and says what is expected."""
    path = write(broken(GOOD, "  province: QC", '  province: "QC'))
    (problem,) = problems_of(path)
    assert re.match(rf"{re.escape(str(path))}:\d+: YAML syntax: .*\(expected valid YAML", problem)


def test_every_problem_is_reported_at_once(write: Callable[[str], Path]) -> None:
    """Problems in different sections come out together, in one run."""
    text = broken(GOOD, "  timezone: America/Toronto", "  timezone: Nowhere/Else")
    text = broken(text, '      tue: "07:30-17:30"', '      tue: "9-5"')
    text = broken(text, "      name: dry-run", "      name: dry-run\n      prnt: false")
    problems = problems_of(write(text))
    assert [p.split(": ")[1] for p in problems] == [
        "site.timezone",
        "departments.service.hours.tue",
        "sms.senders.0.prnt",
    ]


def test_template_too_long_is_an_error(write: Callable[[str], Path]) -> None:
    """A template longer than any provider accepts is refused at its line."""
    path = write(broken(GOOD, "{callback_number}.", "{callback_number}." + " blabla" * 300))
    (problem,) = problems_of(path)
    line = line_of(GOOD, "{callback_number}")
    assert problem.startswith(f"{path}:{line}: departments.service.templates.open.fr: ")
    assert "at most 1600" in problem


def test_check_config_exit_codes(
    write: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`ringback check-config` exits 2 and prints each problem on stderr, 0 when valid."""
    bad = write(broken(GOOD, "  timezone: America/Toronto", "  timezone: Mars/Olympus"))
    assert main(["check-config", str(bad)]) == 2
    assert f"{bad}:3: site.timezone:" in capsys.readouterr().err
    good = write(GOOD)
    assert main(["check-config", str(good)]) == 0
    assert "configuration is valid" in capsys.readouterr().out


def test_check_config_counts_its_problems_and_suggests_the_key_meant(
    write: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A file with a typo in a key, a misspelt time zone and a wrong type: each problem
    on its line, the key and the zone the technician probably meant, then how many
    problems there are; `-c FILE` works as for every other command."""
    text = broken(GOOD, "  timezone: America/Toronto", "  timezone: America/Montrea")
    text = broken(
        text, "  quiet_hours:", "  grace_secnds: 90\n  per_number_daily_cap: two\n  quiet_hours:"
    )
    path = write(text)
    assert main(["check-config", "-c", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4, err
    assert err[0].endswith(
        "site.timezone: unknown time zone 'America/Montrea', did you mean America/Montreal? "
        "(expected an IANA name such as America/Toronto)"
    )
    typo = next(line for line in err if "grace_secnds" in line)
    assert typo.startswith(f"{path}:{line_of(text, 'grace_secnds')}: sms.grace_secnds: ")
    assert "unknown key, did you mean 'grace_seconds'? (expected a key of" in typo
    assert any("sms.per_number_daily_cap: 'two' is not valid" in line for line in err)
    assert err[-1] == f"{path}: 3 problems, the configuration is not valid"


def test_check_config_shows_encoding_and_segments(
    write: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each template line gives its encoding and segment count; above
    `sms.segment_warning` segments it warns."""
    text = broken(GOOD, "  quiet_hours:", "  segment_warning: 1\n  quiet_hours:")
    text = broken(text, "{callback_number}.", "{callback_number}. Œuvre 🚗")
    assert main(["check-config", str(write(text))]) == 0
    out = capsys.readouterr().out.splitlines()
    service_fr = next(line for line in out if line.startswith("template service.open.fr:"))
    assert "ucs2, 2 segments" in service_fr
    assert "WARNING: more than sms.segment_warning (1)" in service_fr
    sales_en = next(line for line in out if line.startswith("template sales.open.en:"))
    assert "gsm7, 1 segment," in sales_en and "WARNING" not in sales_en


def test_environment_overrides_yaml(
    write: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`RINGBACK_STORAGE__PATH` replaces `storage.path` and keeps the rest of the file."""
    monkeypatch.setenv("RINGBACK_STORAGE__PATH", str(tmp_path / "elsewhere.db"))
    monkeypatch.setenv("RINGBACK_CONFIG", "/not/used/when/a/path/is/given.yaml")
    settings = load(write(GOOD)).settings
    assert settings.storage.path == tmp_path / "elsewhere.db"
    assert settings.storage.retention_days == 90
    assert settings.site.name == "Garage Laval"


def test_bad_environment_override_is_reported(
    write: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong value from the environment is an error that names the key."""
    monkeypatch.setenv("RINGBACK_STORAGE__RETENTION_DAYS", "forever")
    (problem,) = problems_of(write(GOOD))
    assert "storage.retention_days: 'forever' is not valid (expected a whole number)" in problem


EXPOSED = "storage:"
EXPOSED_STATUS = """status:
  listen: "0.0.0.0:8787"
  tls_cert_file: CERT
  tls_key_file: CERT
storage:"""


@pytest.mark.parametrize("how", ["yaml", "file", "env", "credentials"])
def test_secret_sources(
    write: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str
) -> None:
    """A secret comes from the YAML, a `*_file`, the environment or systemd's
    `$CREDENTIALS_DIRECTORY`; trailing newlines of files are dropped."""
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    status = EXPOSED_STATUS.replace("CERT", str(cert))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("RINGBACK_STATUS_TOKEN", raising=False)
    if how == "yaml":
        status = status.replace("status:", "status:\n  token: tok-123")
    elif how == "file":
        (tmp_path / "token").write_text("tok-123\n")
        status = status.replace("status:", f"status:\n  token_file: {tmp_path / 'token'}")
    elif how == "env":
        monkeypatch.setenv("RINGBACK_STATUS_TOKEN", "tok-123")
    else:
        creds = tmp_path / "creds"
        creds.mkdir()
        (creds / "status.token").write_text("tok-123\n")
        monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    settings = load(write(broken(GOOD, EXPOSED, status))).settings
    assert [t.get_secret_value() for t in settings.status.tokens()] == ["tok-123"]


def test_missing_secret_is_an_error(
    write: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Listening beyond loopback without any token is refused, saying how to set one."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("RINGBACK_STATUS_TOKEN", raising=False)
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    path = write(broken(GOOD, EXPOSED, EXPOSED_STATUS.replace("CERT", str(cert))))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{line_of(GOOD, 'storage:')}: status: ")
    assert "needs a token" in problem


def test_secrets_are_never_echoed(write: Callable[[str], Path]) -> None:
    """A secret typed where its file path belongs, or with a wrong type, is not
    repeated in the error."""
    text = broken(
        GOOD, EXPOSED, "status:\n  token_file: hunter2-s3cret\n  token: [hunter3]\n" + EXPOSED
    )
    problems = problems_of(write(text))
    assert len(problems) == 2
    joined = "\n".join(problems)
    assert "hunter2" not in joined and "hunter3" not in joined
    assert "status.token_file" in joined and "status.token" in joined


def test_quebec_defaults(make_settings: SettingsFactory) -> None:
    """A Quebec site's texts default to French; YAML holiday dates are dates."""
    settings = make_settings()
    assert settings.departments.language == "fr"
    assert [d.isoformat() for d in settings.site.holidays] == ["2026-12-24"]


def test_a_file_that_is_not_text_is_one_clear_line(tmp_path: Path) -> None:
    """A control character (a binary file given by mistake, a paste gone wrong) is
    named at its line, in one line, without PyYAML's `in "<unicode string>"` trail."""
    path = tmp_path / "ringback.yaml"
    path.write_bytes(b'site:\n  name: "a\x01b"\n')
    (problem,) = problems_of(path)
    assert problem == (
        f"{path}:2: YAML syntax: character U+0001 cannot be in a configuration (expected a "
        "text file; is it the right file?)"
    )
