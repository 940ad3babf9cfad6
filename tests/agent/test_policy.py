"""The pure policy: routing, hours and holidays, who is not texted, when a text may go."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from agent.config.departments import parse_ranges
from agent.config.hours import quiet_hours_end
from agent.config.settings import Settings
from agent.decide.pipeline import Pipeline
from agent.decide.policy import Facts, decide, schedule_for
from agent.model import Defer, Direction, Notify, Outcome, Skip, decision_label
from agent.numbers import normalize, region_of
from tests.agent.conftest import TZ, SettingsFactory, call, local

# --- routing -----------------------------------------------------------------------

ROUTES = [
    # (call fields, department, why)
    ({"dialed": "5145550101"}, "sales", "sales DID"),
    ({"dialed": "+1 (514) 555-0101"}, "sales", "DID in another format"),
    ({"dialed": "5145550101", "queue": "service"}, "sales", "DID before queue"),
    ({"dialed": "5145550100", "queue": "service", "ivr_path": "1"}, "service", "queue before IVR"),
    ({"dialed": "5145550100", "ivr_path": "1"}, "sales", "IVR key"),
    ({"dialed": "5145550100", "ivr_path": "321"}, "sales", "longest IVR prefix 32 over 3"),
    ({"dialed": "5145550100", "ivr_path": "31"}, "parts", "IVR prefix 3"),
    ({"dialed": None, "ivr_path": "2", "extensions": ("101",)}, "service", "IVR before ext"),
    ({"dialed": None, "extensions": ("999", "301", "101")}, "parts", "first ringing ext"),
    ({"dialed": "5145550100"}, "service", "nothing matches: default"),
    ({"dialed": None, "queue": "unknown-queue"}, "service", "unknown queue: default"),
]


@pytest.mark.parametrize(("fields", "department", "why"), ROUTES, ids=[r[2] for r in ROUTES])
def test_routing_precedence(
    settings: Settings, fields: dict[str, Any], department: str, why: str
) -> None:
    """A call goes to a department by DID, then queue, then IVR keys (longest prefix),
    then the first extension that rang, else the default department."""
    assert settings.departments.route(call("2026-11-23 10:00", **fields)) == department


# --- hours and holidays ------------------------------------------------------------

HOURS = [
    # (department, local time, open?, next opening or None)
    ("service", "2026-11-23 09:00", True, None),
    ("service", "2026-11-23 12:30", False, "2026-11-23 13:00"),
    ("service", "2026-11-23 17:30", False, "2026-11-24 07:30"),
    ("service", "2026-11-28 13:00", False, "2026-11-30 07:30"),  # Saturday afternoon
    ("service", "2026-12-24 10:00", False, "2026-12-26 08:00"),  # YAML date, then Christmas
    ("service", "2026-06-24 10:00", False, "2026-06-25 07:30"),  # Fête nationale (QC)
    ("service", "2026-04-03 10:00", False, "2026-04-04 08:00"),  # Good Friday
    ("sales", "2026-11-23 20:59", True, None),
    ("sales", "2026-11-27 10:00", False, "2026-11-30 09:00"),  # sales closed on Fridays
]


@pytest.mark.parametrize(("department", "when", "is_open", "opens"), HOURS)
def test_weekly_hours_and_holidays(
    settings: Settings, department: str, when: str, is_open: bool, opens: str | None
) -> None:
    """Weekly hours are read in the site time zone; Quebec's public holidays (from the
    holidays library) and the YAML's dates close every department."""
    pipeline = Pipeline(settings, None, lambda: local(when))  # type: ignore[arg-type]
    moment = local(when).astimezone(TZ)
    holidays = pipeline.holiday_dates(moment.year) | pipeline.holiday_dates(moment.year + 1)
    schedule = schedule_for(department, settings, moment, holidays)
    assert schedule.open_now is is_open
    assert schedule.next_opening == (local(opens).astimezone(TZ) if opens else None)


def test_province_picks_its_holidays(make_settings: SettingsFactory) -> None:
    """June 24 is a holiday for a Quebec site, not for an Ontario one."""
    quebec = Pipeline(make_settings(), None, datetime.now)  # type: ignore[arg-type]
    ontario = Pipeline(make_settings(site={"province": "ON"}), None, datetime.now)  # type: ignore[arg-type]
    assert "2026-06-24" in quebec.holiday_dates(2026)
    assert "2026-06-24" not in ontario.holiday_dates(2026)
    assert "2026-12-24" in ontario.holiday_dates(2026)  # the YAML's own date
    assert "2027-12-24" not in ontario.holiday_dates(2027)


def test_department_without_hours_is_always_open(make_settings: SettingsFactory) -> None:
    """A department with no `hours:` is open at any time, holidays too."""
    settings = make_settings(departments={"parts": {"hours": {}}})
    schedule = schedule_for("parts", settings, local("2026-12-25 03:00").astimezone(TZ), set())
    assert schedule.open_now and schedule.next_opening is None


def test_hour_ranges_parse() -> None:
    """Ranges are sorted, `closed` is none, 24:00 ends the day."""
    assert parse_ranges("13:00-17:00, 8:00-12:00")[0][0].hour == 8
    assert parse_ranges("Fermé") == []
    assert parse_ranges("00:00-24:00")[0][1].hour == 23


# --- languages ---------------------------------------------------------------------


def test_language_by_did_then_department_then_site(settings: Settings) -> None:
    """The DID dialled chooses the language first, then the department, then the site
    default (French for a Quebec site)."""
    deps = settings.departments
    assert deps.language == "fr"
    assert deps.language_of("service", "5145550102") == "fr"
    assert deps.language_of("service", "+15145550199") == "en"
    assert deps.language_of("parts", None) == "en"


@pytest.mark.parametrize(
    ("site", "language"),
    [
        ({"province": "QC"}, "fr"),
        ({"province": None}, "fr"),
        ({"province": "ON"}, "en"),
        ({"country": "US", "province": "TX"}, "en"),
    ],
)
def test_default_language_is_french_first_for_quebec(
    make_settings: SettingsFactory, site: dict[str, Any], language: str
) -> None:
    """Without `departments.language`, a Quebec (or unspecified Canadian) site writes
    French, any other site English."""
    assert make_settings(site=site).departments.language == language


def test_explicit_language_wins(make_settings: SettingsFactory) -> None:
    """`departments.language` set in the YAML is kept whatever the province."""
    assert make_settings(departments={"language": "en"}).departments.language == "en"


# --- who is not texted -------------------------------------------------------------


def facts_for(settings: Settings, raw: str, **counts: Any) -> Facts:
    e164, problem = normalize(raw, settings.site.country)
    return Facts(e164, problem, region_of(e164) if e164 else None, **counts)


NOW = "2026-11-23 10:00"

WHO_NOT = [
    # (call fields, facts counts, expected label)
    ({"direction": Direction.OUTBOUND}, {}, "skip:outbound"),
    ({"direction": Direction.INTERNAL, "caller": "201"}, {}, "skip:internal"),
    ({"outcome": Outcome.ANSWERED}, {}, "skip:answered"),
    ({"outcome": Outcome.SHORT_ABANDON}, {}, "skip:short_abandon"),
    ({"outcome": Outcome.UNKNOWN}, {}, "skip:unknown_outcome"),
    ({"caller": "anonymous"}, {}, "skip:withheld_number"),
    ({"caller": "Restricted"}, {}, "skip:withheld_number"),
    ({"caller": ""}, {}, "skip:withheld_number"),
    ({"caller": "12"}, {}, "skip:not_a_phone_number"),
    ({"caller": "999999999999"}, {}, "skip:invalid_number"),
    ({"caller": "+1 876 555 0123"}, {}, "skip:country_not_allowed"),  # Jamaica, NANP
    ({"caller": "+33 6 12 34 56 78"}, {}, "skip:country_not_allowed"),
    ({"caller": "514.555.0666"}, {}, "skip:blocklisted"),
    ({}, {"opted_out": True}, "skip:opted_out"),
    ({"ended": "2026-11-23 05:59"}, {}, "skip:too_old"),
    ({}, {"texts_in_dedup_window": 1}, "skip:duplicate"),
    ({}, {"texts_to_number_today": 2}, "skip:number_cap"),
    ({}, {"texts_last_hour": 60}, "skip:global_cap"),
    ({}, {"texts_to_number_today": 1, "texts_last_hour": 59}, "notify"),
    ({"caller": "+1 212 555 0123"}, {}, "notify"),  # a US number is allowed
]


@pytest.mark.parametrize(("fields", "counts", "label"), WHO_NOT)
def test_who_is_not_texted(
    settings: Settings, fields: dict[str, Any], counts: dict[str, Any], label: str
) -> None:
    """Each rule skips with its own reason: direction, outcome, number, blocklist,
    opt-out, age, dedup, per-number and global caps."""
    fields = dict(fields)
    record = call(fields.pop("ended", "2026-11-23 09:58"), **fields)
    facts = facts_for(settings, record.remote_raw, **counts)
    schedule = schedule_for("service", settings, local(NOW).astimezone(TZ), set())
    assert decision_label(decide(record, facts, schedule, settings, local(NOW))) == label


def test_texted_outcomes_is_configurable(make_settings: SettingsFactory) -> None:
    """An outcome left out of `sms.texted_outcomes` is skipped with its name."""
    settings = make_settings(sms={"texted_outcomes": ["missed"]})
    record = call("2026-11-23 09:58", outcome=Outcome.BUSY)
    schedule = schedule_for("service", settings, local(NOW).astimezone(TZ), set())
    decision = decide(record, facts_for(settings, "5145550123"), schedule, settings, local(NOW))
    assert decision == Skip("outcome_not_texted:busy")


# --- hours, templates and timing together -------------------------------------------

TIMING = [
    # (department, call end, now, expected type, template, due local time)
    ("service", "2026-11-23 10:00", "2026-11-23 10:00", Notify, "open", "2026-11-23 10:01:30"),
    ("service", "2026-11-23 10:00", "2026-11-23 10:05", Notify, "open", "2026-11-23 10:05"),
    (
        "service",
        "2026-11-23 18:00",
        "2026-11-23 18:00",
        Notify,
        "after_hours",
        "2026-11-23 18:01:30",
    ),
    ("service", "2026-11-23 20:59", "2026-11-23 20:59", Defer, "after_hours", "2026-11-24 08:00"),
    ("service", "2026-11-24 02:00", "2026-11-24 02:00", Defer, "after_hours", "2026-11-24 08:00"),
    ("service", "2026-11-24 07:58", "2026-11-24 07:58", Defer, "open", "2026-11-24 08:00"),
    ("sales", "2026-11-23 20:58", "2026-11-23 20:58", Notify, "open", "2026-11-23 20:59:30"),
]


@pytest.mark.parametrize(("department", "ended", "now", "kind", "template", "due"), TIMING)
def test_grace_quiet_hours_and_templates(
    settings: Settings,
    department: str,
    ended: str,
    now: str,
    kind: type,
    template: str,
    due: str,
) -> None:
    """A text is due a grace delay after the hang-up (or now, if later); inside quiet
    hours it is deferred to their end, never sent at night; a closed department uses
    its after-hours template."""
    record = call(ended)
    schedule = schedule_for(department, settings, local(ended).astimezone(TZ), set())
    decision = decide(record, facts_for(settings, "5145550123"), schedule, settings, local(now))
    assert isinstance(decision, kind)
    assert isinstance(decision, Notify | Defer)
    assert decision.template == template
    at = decision.until if isinstance(decision, Defer) else decision.not_before
    assert at == local(due)
    assert decision.expires_at > at


def test_closed_department_without_after_hours_template_skips(settings: Settings) -> None:
    """After hours, a department whose after-hours template is null sends nothing."""
    record = call("2026-11-27 10:00", dialed="5145550101")  # sales is closed on Fridays
    schedule = schedule_for("sales", settings, local("2026-11-27 10:00").astimezone(TZ), set())
    facts = facts_for(settings, "5145550123")
    decision = decide(record, facts, schedule, settings, local("2026-11-27 10:00"))
    assert decision == Skip("after_hours_no_template")


def test_deferred_text_expires_after_max_age_from_the_quiet_end(settings: Settings) -> None:
    """A deferred text may still go `max_age_minutes` after quiet hours end."""
    record = call("2026-11-23 22:00")
    schedule = schedule_for("service", settings, local("2026-11-23 22:00").astimezone(TZ), set())
    decision = decide(
        record, facts_for(settings, "5145550123"), schedule, settings, local("2026-11-23 22:00")
    )
    assert isinstance(decision, Defer)
    assert decision.expires_at == local("2026-11-24 08:00") + timedelta(minutes=240)


@pytest.mark.parametrize(
    ("quiet", "when", "end"),
    [
        ("21:00-08:00", "2026-11-23 21:00", "2026-11-24 08:00"),
        ("21:00-08:00", "2026-11-23 07:59", "2026-11-23 08:00"),
        ("21:00-08:00", "2026-11-23 08:00", None),
        ("21:00-08:00", "2026-11-23 20:59", None),
        ("12:00-13:00", "2026-11-23 12:30", "2026-11-23 13:00"),
        ("", "2026-11-23 03:00", None),
        ("21:00-08:00", "2026-03-08 01:30", "2026-03-08 08:00"),  # spring-forward night
    ],
)
def test_quiet_hours_end(quiet: str, when: str, end: str | None) -> None:
    """Quiet hours may wrap midnight; the end is the next local end time."""
    found = quiet_hours_end(quiet, local(when).astimezone(TZ))
    assert found == (local(end).astimezone(TZ) if end else None)
