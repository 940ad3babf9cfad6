"""Quiet hours in the caller's own time as well as the site's: a Montreal dealer does
not text a Vancouver number at 6:30 Vancouver time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.config.settings import Settings
from agent.decide.policy import Facts, decide, schedule_for
from agent.decide.quiet import caller_zones, quiet_until
from agent.model import Defer, Notify
from agent.numbers import normalize, region_of
from tests.agent.conftest import TZ, SettingsFactory, call, local

VANCOUVER = "+1 604 555 0123"
HALIFAX = "+1 902 555 0123"
NEWFOUNDLAND = "+1 709 555 0123"  # America/St_Johns and America/Halifax
ALASKA = "+1 907 555 0123"  # America/Anchorage and America/Adak (an hour apart)
PARIS = "+33 6 12 34 56 78"

CASES = [
    # (caller, call end = now, Montreal time; when the text may leave, Montreal time;
    #  why). Quiet hours 21:00-08:00, grace 90 s; November: Montreal UTC-5.
    (VANCOUVER, "2026-11-23 10:00", "2026-11-23 11:00", "07:00 in Vancouver: wait for 08:00"),
    (VANCOUVER, "2026-11-23 09:29", "2026-11-23 11:00", "06:30 in Vancouver"),
    (VANCOUVER, "2026-11-23 11:00", "2026-11-23 11:01:30", "08:00 there: only the grace"),
    (VANCOUVER, "2026-11-23 06:30", "2026-11-23 11:00", "site quiet, then caller quiet"),
    (VANCOUVER, "2026-11-23 20:30", "2026-11-23 20:31:30", "evening: 17:30 there"),
    (VANCOUVER, "2026-11-23 21:30", "2026-11-24 11:00", "site quiet at night"),
    (HALIFAX, "2026-11-23 19:58", "2026-11-23 19:59:30", "20:59:30 in Halifax"),
    (HALIFAX, "2026-11-23 20:00", "2026-11-24 08:00", "21:01:30 in Halifax: next morning"),
    (NEWFOUNDLAND, "2026-11-23 19:15", "2026-11-23 19:16:30", "20:46:30 in St John's"),
    (NEWFOUNDLAND, "2026-11-23 19:30", "2026-11-24 08:00", "21:01:30 in St John's"),
    (ALASKA, "2026-11-23 12:30", "2026-11-23 13:00", "07:31:30 in Adak: 08:00 there"),
    (ALASKA, "2026-11-23 13:00", "2026-11-23 13:01:30", "08:01:30 in Adak"),
    (PARIS, "2026-11-23 14:58", "2026-11-23 14:59:30", "20:59:30 in Paris"),
    (PARIS, "2026-11-23 15:00", "2026-11-24 08:00", "21:01:30 in Paris: Montreal's 08:00"),
    (PARIS, "2026-11-24 02:00", "2026-11-24 08:00", "08:00 Paris is 02:00 here: site rules"),
    ("+1 600 555 0123", "2026-11-23 09:00", "2026-11-23 09:01:30", "600 is no place: site hours"),
]


def _decide(settings: Settings, raw: str, ended: str) -> Notify | Defer:
    e164, problem = normalize(raw, "CA")
    assert e164 is not None, problem
    facts = Facts(e164, problem, region_of(e164))
    record = call(ended, caller=raw)
    schedule = schedule_for("parts", settings, local(ended).astimezone(TZ), set())
    decision = decide(record, facts, schedule, settings, local(ended))
    assert isinstance(decision, Notify | Defer), decision
    return decision


def _leaves(decision: Notify | Defer) -> datetime:
    return decision.until if isinstance(decision, Defer) else decision.not_before


@pytest.mark.parametrize(("raw", "ended", "leaves", "why"), CASES, ids=[c[3] for c in CASES])
def test_text_leaves_when_quiet_hours_are_over_at_the_site_and_for_the_caller(
    make_settings: SettingsFactory, raw: str, ended: str, leaves: str, why: str
) -> None:
    """The text leaves at the first moment outside 21:00-08:00 both in Montreal and in
    every zone of the caller's area code; a code that locates nobody keeps the site's
    hours only."""
    settings = make_settings(
        sms={"allowed_countries": ["CA", "US", "FR"], "voip_texted_countries": ["CA"]}
    )
    decision = _decide(settings, raw, ended)
    assert _leaves(decision) == local(leaves)
    after_grace = local(ended) + timedelta(seconds=90)
    assert isinstance(decision, Defer) is (local(leaves) != after_grace)


def test_caller_time_can_be_turned_off(make_settings: SettingsFactory) -> None:
    """`sms.quiet_hours_caller_time: false` keeps the site's hours only: 07:00 in
    Vancouver is texted when it is 10:00 in Montreal."""
    settings = make_settings(sms={"quiet_hours_caller_time": False})
    decision = _decide(settings, VANCOUVER, "2026-11-23 10:00")
    assert isinstance(decision, Notify)
    assert decision.not_before == local("2026-11-23 10:01:30")


def test_defer_expiry_counts_from_the_callers_morning(settings: Settings) -> None:
    """A text deferred for the caller's morning may still go `max_age_minutes` after."""
    decision = _decide(settings, VANCOUVER, "2026-11-23 10:00")
    assert isinstance(decision, Defer)
    assert (decision.expires_at - decision.until).total_seconds() == 240 * 60


def test_default_is_on(settings: Settings) -> None:
    """Caller-time quiet hours are on unless the YAML says otherwise."""
    assert settings.sms.quiet_hours_caller_time is True


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_quiet_until_takes_the_strictest_zone() -> None:
    """Of two zones, the later morning and the earlier night both hold."""
    site = ZoneInfo("America/Toronto")
    zones = [site, ZoneInfo("America/Anchorage"), ZoneInfo("America/Adak")]
    # 12:00 UTC: 07:00 Toronto, 03:00 Anchorage, 02:00 Adak -> 08:00 Adak = 18:00 UTC
    assert quiet_until("21:00-08:00", utc("2026-11-23 12:00"), zones) == utc("2026-11-23 18:00")
    assert quiet_until("21:00-08:00", utc("2026-11-23 18:00"), zones) is None
    # 01:30 UTC: 20:30 Toronto, 16:30 Anchorage: fine in all three
    assert quiet_until("21:00-08:00", utc("2026-11-24 01:30"), zones) is None
    assert quiet_until("", utc("2026-11-23 12:00"), zones) is None
    assert quiet_until("21:00-08:00", utc("2026-11-23 12:00"), []) is None


def test_zones_that_never_share_a_waking_hour_fall_back_to_the_site() -> None:
    """Quiet 20:00-10:00 leaves 10 waking hours; Toronto and Tokyo (14 h apart) never
    share one: the site's own end rules rather than searching forever."""
    site = ZoneInfo("America/Toronto")
    zones = [site, ZoneInfo("Asia/Tokyo")]
    found = quiet_until("20:00-10:00", utc("2026-11-23 12:00"), zones)
    assert found == utc("2026-11-23 15:00")  # 10:00 in Toronto


@pytest.mark.parametrize(
    ("number", "names"),
    [
        ("+16045550123", ["America/Vancouver"]),
        ("+17095550123", ["America/Halifax", "America/St_Johns"]),
        ("+16005550123", []),  # Canada's non-geographic 600: every NANP zone
        ("+18005550199", []),
        ("+881612345678", []),  # a satellite phone: no zone
        ("+33612345678", ["Europe/Paris"]),
    ],
)
def test_caller_zones(number: str, names: list[str]) -> None:
    """The area code's zones, none when it has none or when they span more than 3 h."""
    found = caller_zones(number, utc("2026-11-23 12:00"))
    assert [str(z) for z in found] == names
