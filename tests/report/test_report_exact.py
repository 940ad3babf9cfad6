"""Exact numbers from hand-made calls: rates, shares, recovery, texts, heat map, IVR."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from agent.config.report import QUEBEC_TYRE_SEASONS
from agent.report.build import Report, build_report
from agent.report.context import ReportContext
from agent.report.data import SITE
from agent.report.output import render
from tests.report.conftest import MONDAY, Calls, local


def report(db: sqlite3.Connection, since: date, until: date, **kw: object) -> Report:
    return build_report(
        db,
        site="Garage",
        timezone=str(kw.pop("timezone", "America/Toronto")),
        since=since,
        until=until,
        **kw,  # type: ignore[arg-type]
    )


def seed_monday(calls: Calls) -> None:
    """Service, Monday 2026-11-23: 6 answered, 3 missed, 1 voicemail, 2 short
    abandons, 1 unknown; 2 after hours; 2 recovered (10 and 30 min); texts, a reply."""
    day = "2026-11-23"
    for minute in range(6):
        calls.call(local(f"{day} 08:{10 + minute}"), "answered")
    first = calls.call(local(f"{day} 08:40"), "missed", recovered_minutes=10, number="+15145550001")
    calls.call(local(f"{day} 08:45"), "missed", recovered_minutes=30, number="+15145550002")
    third = calls.call(local(f"{day} 14:05"), "missed", number="+15145550003")
    calls.call(local(f"{day} 19:30"), "voicemail", after_hours=True, number="+15145550004")
    calls.call(local(f"{day} 08:50"), "short_abandon", ring_seconds=2)
    calls.call(local(f"{day} 22:00"), "short_abandon", after_hours=True, ring_seconds=2)
    calls.call(local(f"{day} 09:00"), "unknown")
    calls.text(first, "+15145550001", "service", local(f"{day} 08:42"))
    calls.text(third, "+15145550003", "service", local(f"{day} 14:07"))
    calls.text(third, "+15145550004", "service", local(f"{day} 19:32"), template="help")
    calls.reply("+15145550003", local(f"{day} 14:20"))
    calls.reply("+15145559999", local(f"{day} 14:21"))  # never texted: site only


def test_rates_shares_and_recovery_are_exact(db: sqlite3.Connection, calls: Calls) -> None:
    """Missed-call rate = 4 / (6 + 4), short abandons and unknown left out; after-hours
    share 2 of 13 inbound; 2 of 4 missed recovered, median 20 min; 2 customer texts
    (HELP not counted); replies credited to the department of the last text."""
    seed_monday(calls)
    rep = report(db, MONDAY, MONDAY)
    service = rep.section("service").scope.totals
    assert service.inbound == 13
    assert service.answered == 6
    assert service.missed == 4
    assert service.outcomes["short_abandon"] == 2 and service.outcomes["unknown"] == 1
    assert service.missed_rate == 0.4
    assert service.after_hours == 2 and service.after_hours_share == 2 / 13
    assert service.after_hours_missed == 1
    # Open hours only: the 19:30 voicemail came after closing; 3 missed of 6 + 3.
    assert service.open_missed == 3 and service.open_missed_rate == 3 / 9
    assert service.recovered == 2 and service.recovered_rate == 0.5
    assert service.median_recovery_minutes == 20.0
    assert service.texts_sent == 2
    assert service.replies == 1
    site = rep.section(SITE).scope.totals
    assert site.replies == 2 and site.missed == 4


def test_heat_map_buckets_in_site_time(db: sqlite3.Connection, calls: Calls) -> None:
    """Calls land in the site's weekday and hour, on both sides of a DST change: the
    peak cell is Monday 08h; a July 08:30 EDT call is Monday 08h as well."""
    seed_monday(calls)
    calls.call(local("2026-07-06 08:30"), "missed")  # a Monday in summer time
    rep = report(db, date(2026, 7, 1), MONDAY)
    scope = rep.section("service").scope
    peak = scope.peak()
    assert peak is not None
    assert (peak[0], peak[1], peak[2].missed) == (0, 8, 3)
    assert scope.heat[0][8].calls == 9  # 6 answered + 3 missed
    assert scope.heat[0][8].rate == 3 / 9
    assert scope.heat[0][14].missed == 1
    # The 19h call came after closing: its cell is greyed out, not rated.
    assert scope.heat[0][19].calls == 0 and scope.heat[0][19].missed == 0


def test_half_hour_zone_buckets_by_quarter_hour(db: sqlite3.Connection, calls: Calls) -> None:
    """In St. John's (UTC-3:30) a call at 11:45 UTC is 08:15 local: hour 8, not 7 or 9."""
    tz = ZoneInfo("America/St_Johns")
    calls.call(local("2026-11-23 08:15", tz), "missed")
    calls.call(local("2026-11-23 09:29", tz), "answered")
    rep = report(db, MONDAY, MONDAY, timezone="America/St_Johns")
    heat = rep.section("service").scope.heat
    assert heat[0][8].missed == 1 and heat[0][9].calls == 1
    assert sum(c.calls for row in heat for c in row) == 2


def test_period_bounds_are_local_days(db: sqlite3.Connection, calls: Calls) -> None:
    """--since/--until are site days, both included: 23:59 local on the last day is in,
    00:00 the next day is out (while it is already the next day in UTC)."""
    calls.call(local("2026-11-23 23:50"), "missed", ring_seconds=5)
    calls.call(local("2026-11-24 00:00"), "missed")
    calls.call(local("2026-11-22 23:59"), "missed")
    rep = report(db, MONDAY, MONDAY)
    assert rep.section(SITE).scope.totals.missed == 1


def test_ivr_branches(db: sqlite3.Connection, calls: Calls) -> None:
    """Losses per IVR branch: reached counts every call whose keys start with the
    branch; hung up counts abandoned_ivr with exactly those keys."""
    at = local("2026-11-23 10:00")
    for _ in range(6):
        calls.call(at, "answered", ivr_path="2*1")
    calls.call(at, "abandoned_queue", ivr_path="2*1")
    for _ in range(3):
        calls.call(at, "abandoned_ivr", ivr_path="2")
    calls.call(at, "abandoned_ivr", ivr_path="")
    calls.call(at, "answered", ivr_path="")  # a direct line: not in the menu
    rep = report(db, MONDAY, MONDAY)
    branches = {b.path: b for b in rep.section("service").branches}
    assert set(branches) == {"", "2", "2*1"}
    assert (branches[""].reached, branches[""].hung_up) == (11, 1)
    assert (branches["2"].reached, branches["2"].hung_up) == (10, 3)
    assert branches["2"].hang_up_rate == 0.3
    assert (branches["2*1"].reached, branches["2*1"].lost_after) == (7, 1)
    assert rep.section("service").branches[0].path == "2"  # most hang-ups first


def test_weeks_compare_with_the_same_weeks_a_year_before(
    db: sqlite3.Connection, calls: Calls
) -> None:
    """Each Monday-to-Sunday week sits beside the week 52 weeks earlier (same weekdays);
    a week with no call at all a year before shows None, not 0."""
    calls.call(local("2026-11-23 09:00"), "missed")
    calls.call(local("2026-11-24 09:00"), "missed")
    calls.call(local("2025-11-24 09:00"), "missed")  # 364 days before the 23rd
    calls.call(local("2025-11-25 09:00"), "answered")
    rep = report(db, date(2026, 11, 16), date(2026, 11, 29))
    weeks = {w.start: w for w in rep.section(SITE).weeks}
    assert weeks[MONDAY].missed == 2 and weeks[MONDAY].last_year == 1
    assert weeks[MONDAY - timedelta(days=7)].last_year is None


def test_worst_days_carry_their_reasons(db: sqlite3.Connection, calls: Calls) -> None:
    """Through the whole report: the Tuesday after Labour Day and a Tuesday in tyre
    season stand out against ordinary Tuesdays, each with its reason in words."""
    tuesdays = [date(2026, 9, 8) + timedelta(weeks=k) for k in range(12)]
    for day in tuesdays:
        bad = day in (date(2026, 9, 8), date(2026, 11, 10))
        for i in range(12 if bad else 1):
            calls.call(local(f"{day} 09:{i:02d}"), "missed", number=f"+1514555{i:04d}")
        calls.call(local(f"{day} 10:00"), "answered")
    context = ReportContext(
        language="fr",
        holidays=frozenset({date(2026, 9, 7)}),
        seasons=QUEBEC_TYRE_SEASONS,
    )
    rep = report(db, tuesdays[0], tuesdays[-1], context=context)
    worst = {w.day: w for w in rep.section("service").worst}
    assert set(worst) == {date(2026, 9, 8), date(2026, 11, 10)}
    why = rep.section("service").reasons
    assert [r.code for r in why[date(2026, 9, 8)]] == ["after_holiday", "busier"]
    assert why[date(2026, 9, 8)][0].fr == "mardi après un jour férié"
    assert [r.code for r in why[date(2026, 11, 10)]] == ["tyre_season", "busier"]
    assert why[date(2026, 11, 10)][1].en == "6.5 times the calls of a usual Tuesday"
    page = render(rep, "html")
    assert "mardi après un jour férié" in page and "saison des pneus" in page
    assert "<nav" not in page  # the e-mailed file: no relative link back to the desk
