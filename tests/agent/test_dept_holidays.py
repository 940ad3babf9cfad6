"""Departments' exceptions to the site's holidays: Parts open on Boxing Day, Service
closed on an extra local day; names and dates validated with their line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.config.settings import Settings, load_text
from agent.decide.pipeline import Pipeline
from agent.decide.policy import schedule_for
from agent.errors import ConfigError
from agent.store import Store
from tests.agent.conftest import DEALERSHIP, TZ, SettingsFactory, call, local, merged
from tests.conftest import FrozenClock

BOXING_DAY = "2025-12-26"  # a Friday, a public holiday in Ontario
EXTRA_DAY = "2025-11-24"  # a Monday, an ordinary working day in Ontario

EXCEPTIONS = {
    "parts": {"holidays": {"open_on": ["Boxing Day"]}},
    "service": {"holidays": {"closed_on": [EXTRA_DAY]}},
}


@pytest.fixture
def ontario(make_settings: SettingsFactory) -> Settings:
    return make_settings(site={"province": "ON"}, departments=EXCEPTIONS)


def _open(settings: Settings, department: str, when: str) -> bool:
    pipeline = Pipeline(settings, None, lambda: local(when))  # type: ignore[arg-type]
    moment = local(when).astimezone(TZ)
    holidays = pipeline.holiday_dates(moment.year, department)
    return schedule_for(department, settings, moment, holidays).open_now


def test_a_department_opens_on_a_site_holiday_by_its_name(ontario: Settings) -> None:
    """Boxing Day closes the site, but Parts (open_on: Boxing Day) is open that
    morning; Service and Sales, without the exception, stay closed."""
    assert _open(ontario, "parts", f"{BOXING_DAY} 10:00")
    assert not _open(ontario, "service", f"{BOXING_DAY} 10:00")
    assert not _open(ontario, "parts", "2025-12-25 10:00")  # Christmas still closed


def test_a_department_closes_on_an_extra_day(ontario: Settings) -> None:
    """Service's closed_on date closes Service only; Parts is open that Monday."""
    assert not _open(ontario, "service", f"{EXTRA_DAY} 10:00")
    assert _open(ontario, "parts", f"{EXTRA_DAY} 10:00")


async def test_the_stored_decision_uses_the_department_calendar(
    ontario: Settings, store: Store
) -> None:
    """A missed call to Parts on Boxing Day is decided as open hours (after_hours 0,
    the report's closed-hours split reads this); one to Service as after hours."""
    pipeline = Pipeline(ontario, store, FrozenClock(local(f"{BOXING_DAY} 10:05")))
    await pipeline.accept(call(f"{BOXING_DAY} 10:00", dialed="5145550100", ivr_path="3"))
    await pipeline.accept(call(f"{BOXING_DAY} 10:01", caller="5145550124"))
    rows = await store.fetchall("SELECT department, after_hours FROM calls ORDER BY id")
    assert rows == [("parts", 0), ("service", 1)]


def _problems(tmp_path: Path, holidays: dict[str, object]) -> tuple[list[str], list[str]]:
    data = merged(
        DEALERSHIP,
        {"departments": {"parts": {"holidays": holidays}}, "storage": {"path": "/tmp/x.db"}},
    )
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    with pytest.raises(ConfigError) as caught:
        load_text(text, tmp_path / "ringback.yaml")
    return caught.value.problems, text.splitlines()


def test_an_unknown_holiday_name_is_an_error_with_its_line(tmp_path: Path) -> None:
    """A name the site's calendar (CA-QC) does not know: file:line, the key, and some
    names it does know."""
    problems, lines = _problems(tmp_path, {"open_on": ["Boxing Day"]})
    line = next(i for i, text in enumerate(lines, 1) if "Boxing Day" in text)
    assert len(problems) == 1
    assert problems[0].startswith(
        f"{tmp_path / 'ringback.yaml'}:{line}: departments.parts.holidays.open_on.0: "
        "no holiday named 'Boxing Day' in the CA-QC calendar"
    )
    assert "Christmas Day" in problems[0]


def test_a_bad_date_and_an_unknown_key_are_errors_with_their_line(tmp_path: Path) -> None:
    """`2025-13-01` is no date; `closed` is not a key of `holidays:`."""
    problems, lines = _problems(tmp_path, {"closed_on": ["2025-13-01"], "closed": []})
    text = "\n".join(problems)
    line = next(i for i, t in enumerate(lines, 1) if "2025-13-01" in t)
    assert f":{line}: departments.parts.holidays.closed_on.0: '2025-13-01' is not a date" in text
    assert "departments.parts.holidays.closed" in text


def test_a_bad_holiday_name_is_reported_with_the_other_errors(tmp_path: Path) -> None:
    """A technician with two mistakes sees both in one run: the unknown holiday name is
    reported beside an error elsewhere in the file (a wrong type in `sms`), each in the
    `file:line: key.path: problem (expected ...)` form."""
    data = merged(
        DEALERSHIP,
        {
            "departments": {"parts": {"holidays": {"open_on": ["Boxing Dya"]}}},
            "sms": {"dedup_hours": "lots"},
            "storage": {"path": "/tmp/x.db"},
        },
    )
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    with pytest.raises(ConfigError) as caught:
        load_text(text, tmp_path / "ringback.yaml")
    lines = text.splitlines()
    name_line = next(i for i, t in enumerate(lines, 1) if "Boxing Dya" in t)
    sms_line = next(i for i, t in enumerate(lines, 1) if "lots" in t)
    found = "\n".join(caught.value.problems)
    assert f"ringback.yaml:{sms_line}: sms.dedup_hours: " in found
    assert (
        f"ringback.yaml:{name_line}: departments.parts.holidays.open_on.0: no holiday named "
        "'Boxing Dya' in the CA-QC calendar (expected a date YYYY-MM-DD or one of: "
    ) in found
    assert len(caught.value.problems) == 2
