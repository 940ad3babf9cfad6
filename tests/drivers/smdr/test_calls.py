"""Call-level results: joined IP Office segments, voicemail / auto-attendant roles,
continuation timeout, short abandon, clock sanity, custom formats. No event loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent.model import Direction, Outcome
from drivers.base import SiteContext
from drivers.sources.smdr.families import make_parser
from tests.drivers.smdr.helpers import config, fixture_lines

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
IPO = fixture_lines("avaya-ipoffice")


def feed_all(fmt: str, lines: list[str], site: SiteContext, **options: Any) -> list[Any]:
    parser = make_parser(config(fmt, **options), site.tz)
    out = []
    for line in lines:
        out.extend(parser.feed(line, NOW))
    return out + parser.flush(NOW, everything=True)


def test_ipoffice_transfer_to_voicemail_after_a_person_answered_is_answered(
    site: SiteContext,
) -> None:
    """Pins joining by Call ID: the two records of the vendor's 'transferred to
    voicemail' example become one answered call, times summed over segments."""
    (call,) = feed_all("avaya_ipoffice", IPO[1:3], site)
    assert call.outcome is Outcome.ANSWERED and call.answered_by == "4750"
    assert call.call_id == "ipo-1000014160-20080628T093057"
    assert call.started_at == datetime(2008, 6, 28, 13, 30, 57, tzinfo=UTC)
    assert call.duration_seconds == 7 + 13 + 11 + 21
    assert call.extensions == ("4750",)


def test_ipoffice_v_channel_only_call_is_voicemail_or_auto_attendant(site: SiteContext) -> None:
    """Pins the site's auto-attendant list: a call that only reached a V channel is
    voicemail by default and abandoned_ivr when its called number is an AA."""
    (plain,) = feed_all("avaya_ipoffice", IPO[8:10], site)
    (aa,) = feed_all("avaya_ipoffice", IPO[8:10], site, auto_attendant=["4209"])
    assert plain.outcome is Outcome.VOICEMAIL and aa.outcome is Outcome.ABANDONED_IVR
    assert plain.caller_raw == "9145661757" and plain.direction is Direction.INBOUND


def test_ipoffice_missing_last_record_is_unknown_after_the_timeout(site: SiteContext) -> None:
    """Pins the continuation timeout: nothing before it, then one call with outcome
    unknown (never guessed as missed)."""
    parser = make_parser(config("avaya_ipoffice", continuation_timeout_seconds=60), site.tz)
    assert parser.feed(IPO[8], NOW) == []
    assert parser.pending() == 1
    assert parser.flush(NOW + timedelta(seconds=59)) == []
    (call,) = parser.flush(NOW + timedelta(seconds=60))
    assert call.outcome is Outcome.UNKNOWN and parser.pending() == 0


def test_ipoffice_directions_and_missed(site: SiteContext) -> None:
    """Pins lost incoming calls (missed), internal and outbound records."""
    calls = {c.call_id.split("-")[1]: c for c in feed_all("avaya_ipoffice", IPO, site)}
    assert calls["1000014155"].outcome is Outcome.MISSED
    assert calls["1000013898"].direction is Direction.INTERNAL
    assert calls["1009687"].direction is Direction.OUTBOUND
    assert calls["1009687"].dialed == "99040"


def test_short_abandon_threshold(site: SiteContext) -> None:
    """Pins short_abandon_seconds: Samsung's 2 s abandon becomes short_abandon, the
    5 s one stays missed; the per-line classification stays 'missed'."""
    lines = fixture_lines("samsung")[1:3]
    calls = feed_all("samsung", lines, site, short_abandon_seconds=3)
    assert [c.outcome for c in calls] == [Outcome.SHORT_ABANDON, Outcome.MISSED]
    parser = make_parser(config("samsung", short_abandon_seconds=3), site.tz)
    assert parser.parse(lines[0], NOW).classification == "missed"


def test_mivb_answer_by_auto_attendant_port(site: SiteContext) -> None:
    """Pins Mitel MiVB roles: an incoming call answered by a listed AA port is
    abandoned_ivr, by a listed voicemail port voicemail; the year is inferred."""
    line = fixture_lines("mitel-mivb")[2]
    (aa,) = feed_all("mitel_mivb", [line], site, auto_attendant=["9908"])
    (vm,) = feed_all("mitel_mivb", [line], site, voicemail=["99*"])
    assert (aa.outcome, vm.outcome) == (Outcome.ABANDONED_IVR, Outcome.VOICEMAIL)
    assert aa.started_at.year == 2026 and aa.talk_seconds == 48


def test_pbx_clock_ahead_is_pulled_back_and_noted(site: SiteContext) -> None:
    """Pins the receive-time sanity check: a call 'ending' hours after we received it
    is moved back to end at the receive time, keeping its duration, and noted."""
    parser = make_parser(config("avaya_ipoffice"), site.tz)
    future = "2026/11/23 18:00:00,00:01:00,5,5145551234,I,203,,,0,77,0,E218,Bob,T9001,L,0,0"
    (call,) = parser.feed(future, NOW)
    assert call.ended_at == NOW and call.duration_seconds == 65
    assert parser.notes == ["time_in_future"]


def test_custom_regex_format(site: SiteContext) -> None:
    """Pins the custom family: named groups, direction values, talk 0 = missed."""
    custom = {
        "regex": r"^(?P<start>\S+ \S+) (?P<direction>IN|OUT) (?P<caller>\d*) "
        r"(?P<dialed>\d+) (?P<extension>\d*) (?P<talk>\d+)$",
        "datetime_format": "%Y-%m-%d %H:%M:%S",
    }
    lines = ["2026-11-23 09:00:00 IN 5145551234 8005551000 201 0", "Date Dir Caller"]
    (call,) = feed_all("custom", lines, site, custom=custom)
    assert call.outcome is Outcome.MISSED and call.caller_raw == "5145551234"
    assert call.started_at == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_custom_csv_columns(site: SiteContext) -> None:
    """Pins the custom family's CSV column map with hh:mm:ss talk time."""
    custom = {
        "csv_columns": {"date": 0, "time": 1, "caller": 2, "extension": 3, "talk": 4},
        "datetime_format": "%m/%d/%Y %H:%M",
    }
    (call,) = feed_all("custom", ["11/23/2026,09:00,5145551234,201,00:02:05"], site, custom=custom)
    assert call.outcome is Outcome.ANSWERED and call.talk_seconds == 125
    assert call.answered_by == "201"


# Real-format IP Office records (17 fields) whose Direction says I but whose parties
# are an extension and voicemail, two extensions, and a transfer that kept its trunk.
NO_TRUNK = fixture_lines("avaya-ipoffice-no-trunk")


def test_ipoffice_record_without_a_trunk_party_is_internal(site: SiteContext) -> None:
    """Pins the trunk rule: an extension calling voicemail and two extensions are
    internal although Direction is I and Is Internal 0 (never a missed inbound call
    to text); a call with a trunk party in any of its records stays inbound."""
    calls = {c.call_id.split("-")[1]: c for c in feed_all("avaya_ipoffice", NO_TRUNK, site)}
    assert calls["1000020001"].direction is Direction.INTERNAL
    assert calls["1000020002"].direction is Direction.INTERNAL
    assert calls["1000020003"].direction is Direction.INBOUND
    assert calls["1000020003"].outcome is Outcome.MISSED
    parser = make_parser(config("avaya_ipoffice"), site.tz)
    assert parser.parse(NO_TRUNK[1], NOW).classification == "internal"
