"""Each driver table entry stays honest: a config model whose `type` is its key, a
commented section in the example configuration naming every option, a test module;
and the example configuration is assembled from its sections and valid."""

from __future__ import annotations

import os
import subprocess
import typing
from pathlib import Path

import pytest

from agent.config.settings import load
from drivers.base import DriverEntry
from drivers.senders import SENDERS
from drivers.sources import SOURCES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "ringback.example.yaml"
ENTRIES = [("pbx", k, v) for k, v in SOURCES.items()] + [
    ("senders", k, v) for k, v in SENDERS.items()
]


@pytest.mark.parametrize(("side", "key", "entry"), ENTRIES, ids=[e[1] for e in ENTRIES])
def test_entry_is_honest(side: str, key: str, entry: DriverEntry) -> None:
    """The model's `type` literal is the table key; its factory imports; the example
    section documents every option (as a key, commented or not); a test exists."""
    literal = typing.get_args(entry.config.model_fields["type"].annotation)
    assert literal == (key,)
    assert callable(entry.load())
    section = (ROOT / "config" / "sections" / f"{side}-{key}.yaml").read_text()
    assert f"type: {key}" in section
    for name, field in entry.config.model_fields.items():
        spelled = field.alias or name
        assert f"{spelled}:" in section, f"{key}: option {spelled} is not documented"
    tests = [p for p in (ROOT / "tests" / "drivers").rglob("test_*.py") if key in str(p)]
    tests += [p for p in (ROOT / "tests" / "drivers" / "cloud").glob(f"test_{key}*.py")]
    assert tests, f"no test module for driver {key}"


def test_example_config_is_assembled_from_its_sections(tmp_path: Path) -> None:
    """config/ringback.example.yaml is what scripts/build-example-config makes."""
    before = EXAMPLE.read_text()
    subprocess.run([str(ROOT / "scripts" / "build-example-config")], check=True)
    assert EXAMPLE.read_text() == before, "run scripts/build-example-config and commit"


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """check-config accepts the example once its secrets are provided (here through
    the environment, as a technician could)."""
    monkeypatch.setenv("RINGBACK_PBX_SECRET", "x")
    monkeypatch.setenv("RINGBACK_TWILIO_AUTH_TOKEN", "y")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    settings = load(EXAMPLE).settings
    assert [s.type for s in settings.pbx] == ["asterisk"]
    assert [s.type for s in settings.sms.senders] == ["gsm", "twilio"]
    assert set(settings.departments.by_name()) == {"service", "sales", "parts"}
    assert os.environ["RINGBACK_PBX_SECRET"] == "x"


def test_every_core_option_is_in_the_example() -> None:
    """Every option of the core sections appears (as a key, commented or not) in the
    example configuration technicians start from."""
    from pydantic import BaseModel

    from agent.config import departments, report, staff
    from agent.config import settings as config

    text = EXAMPLE.read_text()
    models: list[type[BaseModel]] = [
        config.SiteConfig,
        config.SmsConfig,
        config.RetryConfig,
        config.StatusConfig,
        config.StorageConfig,
        config.LoggingConfig,
        departments.DepartmentsConfig,
        departments.DepartmentConfig,
        departments.Templates,
        departments.TemplateSet,
        report.ReportConfig,
        report.TyreSeason,
        report.StaffingTargets,
        staff.SmtpConfig,
    ]
    missing = [
        f"{model.__name__}.{name}"
        for model in models
        for name, field in model.model_fields.items()
        if f"{field.alias or name}:" not in text
    ]
    assert missing == []
