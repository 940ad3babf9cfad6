"""The pipeline with a real store and a frozen clock: every call gets a recorded
decision; dedup, caps, opt-out keywords, replies and recovery."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from agent.config.settings import Settings
from agent.decide.pipeline import Pipeline, keyword
from agent.model import Defer, Direction, Evidence, InboundText, Notify, Outcome, Skip
from agent.store import Store
from tests.agent.conftest import SettingsFactory, call, clock_at, local
from tests.conftest import FrozenClock


def pipeline_at(settings: Settings, store: Store, when: str) -> tuple[Pipeline, FrozenClock]:
    clock = clock_at(when)
    return Pipeline(settings, store, clock), clock


async def decisions(store: Store) -> list[str]:
    return [r[0] for r in await store.fetchall("SELECT decision FROM calls ORDER BY id")]


async def test_every_call_has_a_recorded_decision(settings: Settings, store: Store) -> None:
    """Answered, internal, outbound, withheld and missed calls all get a decision in
    the store, with the department and whether it was after hours."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:05")
    for record in (
        call("2026-11-23 10:00", outcome=Outcome.ANSWERED, caller="5145550111"),
        call("2026-11-23 10:00", direction=Direction.INTERNAL, caller="201"),
        call("2026-11-23 10:00", direction=Direction.OUTBOUND, dialed="5145550122"),
        call("2026-11-23 10:01", caller="anonymous"),
        call("2026-11-23 10:02", caller="+1 876 555 0123"),
        call("2026-11-23 10:03", caller="5145550123"),
    ):
        await pipeline.accept(record)
    assert await decisions(store) == [
        "skip:answered",
        "skip:internal",
        "skip:outbound",
        "skip:withheld_number",
        "skip:country_not_allowed",
        "notify",
    ]
    rows = await store.fetchall("SELECT department, after_hours FROM calls ORDER BY id")
    assert rows[-1] == ("service", 0)


async def test_an_inbound_callers_number_is_stored_in_e164(
    settings: Settings, store: Store
) -> None:
    """An inbound call whose source gave no `caller_e164` is stored with the caller's
    number normalised; one that came with it keeps the source's; an outbound or an
    internal call has none. The record itself is left as the source made it."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:05")
    bare = call("2026-11-23 10:00", caller="514 555 0111")
    given = call("2026-11-23 10:01", caller="5145550122", caller_e164="+15145550199")
    outbound = call("2026-11-23 10:02", direction=Direction.OUTBOUND, caller="201",
                    dialed="5145550133")  # fmt: skip
    internal = call("2026-11-23 10:03", direction=Direction.INTERNAL, caller="201")
    for record in (bare, given, outbound, internal):
        await pipeline.accept(record)
    rows = await store.fetchall("SELECT caller_e164, remote_e164 FROM calls ORDER BY id")
    assert rows == [
        ("+15145550111", "+15145550111"),
        ("+15145550199", "+15145550122"),
        (None, "+15145550133"),
        (None, None),
    ]
    assert bare.caller_e164 is None


async def test_three_missed_calls_in_five_minutes_one_text(
    settings: Settings, store: Store
) -> None:
    """However many times a caller misses us inside the dedup window, one text."""
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    for minute in (0, 2, 5):
        clock.now = local(f"2026-11-23 10:0{minute}")
        await pipeline.accept(call(f"2026-11-23 10:0{minute}", dialed="5145550101"))
    assert await decisions(store) == ["notify", "skip:duplicate", "skip:duplicate"]
    assert await store.scalar("SELECT COUNT(*) FROM messages") == 1


async def test_a_call_is_written_once_with_its_decision(settings: Settings, store: Store) -> None:
    """The call's row is inserted with its decision, not inserted and then updated:
    one change of the calls feed per call (and one of the outbox's for its text), so
    `/v1/calls` never serves a call without its decision and the store does one
    write of the row."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:05")
    await pipeline.accept(call("2026-11-23 10:00", outcome=Outcome.ANSWERED, caller="5145550111"))
    assert await store.scalar("SELECT n FROM feed_seq") == 1
    accepted = await pipeline.accept(call("2026-11-23 10:01", caller="5145550123"))
    assert isinstance(accepted.decision, Notify)
    assert await store.scalar("SELECT n FROM feed_seq") == 3  # the call, then its text
    assert await store.fetchall("SELECT change_seq, decision FROM calls ORDER BY id") == [
        (1, "skip:answered"),
        (2, "notify"),
    ]
    # a failed text is no text for the policy, but its dedup key still holds the slot:
    # the call decided `notify` is stored `skip:duplicate`
    await store.conn.execute("UPDATE messages SET state = 'failed'")
    again = await pipeline.accept(call("2026-11-23 10:02", caller="5145550123"))
    assert again.decision == Skip("duplicate") and again.message_id is None
    assert (await decisions(store))[-1] == "skip:duplicate"


async def test_no_number_facts_are_read_for_a_call_never_texted(
    settings: Settings, store: Store
) -> None:
    """An answered, outbound or internal call is skipped for its direction or outcome
    before the number's facts matter: the pipeline does not read them (opt-outs, texts
    sent, provider facts) for it, and a missed call still does."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:05")
    statements: list[str] = []
    await store.conn.set_trace_callback(statements.append)
    for record in (
        call("2026-11-23 10:00", outcome=Outcome.ANSWERED, caller="5145550111"),
        call("2026-11-23 10:01", direction=Direction.OUTBOUND, dialed="5145550122"),
    ):
        await pipeline.accept(record)
    skipped = [s for s in statements if "opt_outs" in s]
    await pipeline.accept(call("2026-11-23 10:02", caller="5145550123"))
    await store.conn.set_trace_callback(None)  # type: ignore[arg-type]
    assert skipped == []
    assert len([s for s in statements if "opt_outs" in s]) == 1
    assert await decisions(store) == ["skip:answered", "skip:outbound", "notify"]


async def test_a_repeated_record_is_not_decided_twice(settings: Settings, store: Store) -> None:
    """The same PBX call delivered twice (a source reconnect) is stored once."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:00")
    record = call("2026-11-23 10:00")
    first = await pipeline.accept(record)
    again = await pipeline.accept(record)
    assert first.new and not again.new and again.decision is None
    assert pipeline.counters.get("calls_duplicate") == 1


async def test_a_call_stored_without_decision_is_decided_on_retry(
    settings: Settings, store: Store
) -> None:
    """When an earlier attempt stored the call but failed before deciding, the retry
    decides it instead of treating it as seen."""
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    record = call("2026-11-23 10:00")
    await store.insert_call(record, "+15145550123", clock())
    accepted = await pipeline.accept(record)
    assert isinstance(accepted.decision, Notify)
    assert await decisions(store) == ["notify"]


async def test_missed_call_at_2059_on_the_eve_of_a_holiday(
    settings: Settings, store: Store
) -> None:
    """20:59 the day before a holiday: after hours, the grace ends in quiet hours, so
    the after-hours text is deferred to 08:00 the next morning (the holiday)."""
    pipeline, _ = pipeline_at(settings, store, "2026-12-23 20:59")
    accepted = await pipeline.accept(call("2026-12-23 20:59"))
    assert accepted.decision == Defer(
        "service",
        "after_hours",
        local("2026-12-24 08:00"),
        local("2026-12-24 12:00"),
        "fr",
    )
    assert await decisions(store) == ["defer:2026-12-24T08:00:00-05:00"]
    after_hours = await store.scalar("SELECT after_hours FROM calls")
    assert after_hours == 1


async def test_late_record_is_too_old(settings: Settings, store: Store) -> None:
    """A call that reaches the pipeline after `max_age_minutes` is skipped, not texted."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 14:01")
    accepted = await pipeline.accept(call("2026-11-23 10:00"))
    assert accepted.decision == Skip("too_old")


async def test_caught_up_calls_follow_max_age(settings: Settings, store: Store) -> None:
    """Calls caught up from the PBX's CDR (`evidence: cdr`) follow `sms.max_age`: the
    one that ended 30 minutes ago is texted, the one that ended 5 hours ago is stored
    but skipped as too old, and a call the live source already stored is not stored
    or decided again."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 15:00")
    live = await pipeline.accept(call("2026-11-23 14:20", call_id="L1", caller="5145550111"))
    recent = call("2026-11-23 14:30", call_id="C1", caller="5145550122", evidence=Evidence.CDR)
    old = call("2026-11-23 09:55", call_id="C2", caller="5145550133", evidence=Evidence.CDR)
    again = call("2026-11-23 14:20", call_id="L1", caller="5145550111", evidence=Evidence.CDR)
    decided = [await pipeline.accept(r) for r in (recent, old, again)]
    assert isinstance(decided[0].decision, Notify)
    assert decided[1].decision == Skip("too_old")
    assert (decided[2].new, decided[2].call_id) == (False, live.call_id)
    assert await store.scalar("SELECT COUNT(*) FROM calls") == 3
    assert await store.scalar("SELECT COUNT(*) FROM messages") == 2


async def test_global_cap_skips_and_raises_the_alert(
    make_settings: SettingsFactory, store: Store
) -> None:
    """Past the global hourly cap, calls are skipped with `global_cap` (recorded, not
    dropped) and the pipeline keeps the time of the hit for the status alert."""
    settings = make_settings(sms={"global_hourly_cap": 2})
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:00")
    for n in range(3):
        await pipeline.accept(call("2026-11-23 10:00", caller=f"51455501{n:02d}"))
    assert await decisions(store) == ["notify", "notify", "skip:global_cap"]
    assert pipeline.global_cap_hit_at == local("2026-11-23 10:00")
    assert pipeline.counters.get("global_cap_hits") == 1


async def test_per_number_daily_cap(make_settings: SettingsFactory, store: Store) -> None:
    """With a short dedup window, the per-number cap still limits texts per day."""
    settings = make_settings(sms={"dedup_window_hours": 1, "per_number_daily_cap": 2})
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 09:00")
    for hour in (9, 11, 13):
        clock.now = local(f"2026-11-23 {hour:02d}:00")
        await pipeline.accept(call(f"2026-11-23 {hour:02d}:00"))
    assert await decisions(store) == ["notify", "notify", "skip:number_cap"]


# --- replies -------------------------------------------------------------------------

KEYWORDS = [
    ("STOP", "stop"),
    ("Arrêt", "arret"),
    ("ARRET !", "arret"),
    ("  unsubscribe\n", "unsubscribe"),
    ("Fin.", "fin"),
    ("Stop please", "stop"),
    ("ARRÊTER svp", "arreter"),
    ("Fin de semaine, ça vous va?", ""),
    ("Cancel my appointment", ""),
    ("Oui merci", "oui"),
    ("", ""),
    ("🚗", ""),
    # issue 15: repeated keywords and French politeness are still the keyword
    ("STOP STOP", "stop"),
    ("stop. STOP!!", "stop"),
    ("Arrêt s'il vous plaît", "arret"),
    ("arrête s'il te plaît", "arrete"),
    ("Arrêtez svp", "arretez"),
    ("STOPALL", "stopall"),
    ("Stop all", "stopall"),
    ("QUIT", "quit"),
    ("End", "end"),
    ("CANCEL", "cancel"),
    ("Opt-out", "optout"),
    ("Désabonner", "desabonner"),
    ("se désabonner svp", "desabonner"),
    ("Désinscription", "desinscription"),
    ("ＳＴＯＰ", "stop"),  # full-width letters fold (NFKD)
    ("Stop calling me about the car", ""),
    ("stop by tomorrow?", ""),
    ("End of the month works", ""),
]


@pytest.mark.parametrize(("body", "word"), KEYWORDS)
def test_keyword_is_the_whole_reply(body: str, word: str) -> None:
    """A keyword is recognised whatever its case, accents and punctuation, but only
    when it is the whole reply (give or take a `please`)."""
    assert keyword(body) == word


def reply(body: str, number: str = "+15145550123", at: str = "2026-11-23 10:10") -> InboundText:
    return InboundText(number, body, local(at), "dry-run")


REPLIES: list[tuple[bool, str, bool, str]] = [
    # (opted out before, reply, opted out after, reply kind)
    (False, "STOP", True, "opt_out"),
    (False, "arrêt", True, "opt_out"),
    (False, "Fin", True, "opt_out"),
    (False, "UNSUBSCRIBE", True, "opt_out"),
    (False, "STOP STOP", True, "opt_out"),
    (False, "Arrêt s'il vous plaît", True, "opt_out"),
    (False, "arrête s'il te plaît", True, "opt_out"),
    (False, "QUIT", True, "opt_out"),
    (False, "STOPALL", True, "opt_out"),
    (False, "Désabonner", True, "opt_out"),
    (False, "Stop calling me about the car", False, "reply"),
    (True, "START", False, "opt_in"),
    (True, "Début", False, "opt_in"),
    (True, "oui", False, "opt_in"),
    (False, "Oui", False, "reply"),
    (False, "Fin de semaine?", False, "reply"),
    (False, "AIDE", False, "help"),
]


@pytest.mark.parametrize(("before", "body", "after", "kind"), REPLIES)
async def test_replies_opt_out_opt_in_and_help(
    settings: Settings, store: Store, before: bool, body: str, after: bool, kind: str
) -> None:
    """STOP/ARRÊT/FIN/UNSUBSCRIBE opt out, START/DÉBUT (and oui, when opted out)
    opt back in, HELP/AIDE queues the information reply; anything else is a reply."""
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:10")
    if before:
        await store.set_opt_out("+15145550123", "stop", "dry-run", clock())
    await pipeline.inbound(reply(body))
    assert await store.is_opted_out("+15145550123") is after
    assert await store.scalar("SELECT kind FROM replies") == kind
    help_texts = await store.scalar("SELECT COUNT(*) FROM messages WHERE template = 'help'")
    assert help_texts == (1 if kind == "help" else 0)


async def test_reply_with_nul_and_control_characters_is_cleaned_and_counted(
    settings: Settings, store: Store
) -> None:
    """Pins: a reply carrying U+0000 (and other C0 controls) is stored without them,
    counted `replies_cleaned`, and its keyword still read (`ST\x00OP` is STOP)."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:10")
    await pipeline.inbound(reply("ST\x00OP\x1b"))
    assert await store.scalar("SELECT body FROM replies") == "STOP"
    assert await store.is_opted_out("+15145550123") is True
    assert pipeline.counters.get("replies_cleaned") == 1
    await pipeline.inbound(reply("x" * 5000))
    assert await store.scalar("SELECT MAX(LENGTH(body)) FROM replies") == 1600


async def test_opt_out_withdraws_the_queued_text_and_later_calls(
    settings: Settings, store: Store
) -> None:
    """After STOP the pending text is suppressed and new calls skip `opted_out`."""
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    await pipeline.inbound(reply("STOP", at="2026-11-23 10:00"))
    assert await store.scalar("SELECT state FROM messages WHERE template = 'open'") == "suppressed"
    clock.now = local("2026-11-24 10:00")
    accepted = await pipeline.accept(call("2026-11-24 10:00"))
    assert accepted.decision == Skip("opted_out")


async def test_help_reply_does_not_use_up_the_dedup_window(
    settings: Settings, store: Store
) -> None:
    """A HELP answer is not a missed-call text: a later missed call is still texted."""
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.inbound(reply("HELP", at="2026-11-23 10:00"))
    clock.now = local("2026-11-23 11:00")
    accepted = await pipeline.accept(call("2026-11-23 11:00"))
    assert isinstance(accepted.decision, Notify)


RECOVERIES: list[tuple[dict[str, Any], str]] = [
    ({"outcome": Outcome.ANSWERED}, "answered_again"),
    (
        {
            "outcome": Outcome.ANSWERED,
            "direction": Direction.OUTBOUND,
            "dialed": "5145550123",
            "caller": "201",
        },
        "callback",
    ),
]


@pytest.mark.parametrize(("fields", "how"), RECOVERIES)
async def test_later_answered_call_marks_the_missed_call_recovered(
    settings: Settings, store: Store, fields: dict[str, Any], how: str
) -> None:
    """A later answered call either way marks the missed call recovered, with when
    (so the reports can tell how long it took)."""
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    clock.now = local("2026-11-23 10:30")
    await pipeline.accept(call("2026-11-23 10:30", ring_seconds=60, **fields))
    row = await store.fetchone(
        "SELECT recovered_at, recovered_by FROM calls WHERE outcome = 'missed'"
    )
    assert row == (local("2026-11-23 10:29").isoformat(timespec="microseconds"), how)


async def test_a_reply_counts_as_recovery(settings: Settings, store: Store) -> None:
    """A caller who texts back has been recovered."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    await pipeline.inbound(reply("Je voulais un rendez-vous mardi", at="2026-11-23 10:10"))
    assert await store.scalar("SELECT recovered_by FROM calls") == "reply"


# --- properties: dedup and caps -------------------------------------------------------

NUMBERS = [f"+1514555{n:04d}" for n in range(1, 6)]
PROPERTY = hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
calls_strategy = st.lists(
    st.tuples(st.sampled_from(NUMBERS), st.integers(min_value=0, max_value=36 * 60)),
    min_size=1,
    max_size=14,
)


async def _run(settings: Settings, arrivals: list[tuple[str, int]]) -> list[tuple[str, str]]:
    start = local("2026-11-23 08:30")
    with tempfile.TemporaryDirectory() as tmp:
        async with Store(Path(tmp) / "rb.db") as store:
            clock = FrozenClock(start)
            pipeline = Pipeline(settings, store, clock)
            for number, minutes in sorted(arrivals, key=lambda a: a[1]):
                clock.now = start + timedelta(minutes=minutes)
                record = call(clock.now, caller=number, ring_seconds=10)
                accepted = await pipeline.accept(record)
                assert await store.call_decision(accepted.call_id) is not None
            rows = await store.fetchall("SELECT to_e164, created_at FROM messages")
    return [(str(a), str(b)) for a, b in rows]


@PROPERTY
@given(arrivals=calls_strategy)
def test_property_one_text_per_caller_per_window(
    make_settings: SettingsFactory, arrivals: list[tuple[str, int]]
) -> None:
    """Whatever the pattern of missed calls, no caller gets two texts queued within
    the dedup window."""
    settings = make_settings(sms={"quiet_hours": "", "dedup_window_hours": 6})
    rows = asyncio.run(_run(settings, arrivals))
    by_number: dict[str, list[str]] = {}
    for number, created in rows:
        by_number.setdefault(number, []).append(created)
    window = timedelta(hours=6)
    for stamps in by_number.values():
        times = sorted(datetime.fromisoformat(c) for c in stamps)
        assert all(b - a >= window for a, b in itertools.pairwise(times))


@PROPERTY
@given(arrivals=calls_strategy)
def test_property_caps_hold(
    make_settings: SettingsFactory, arrivals: list[tuple[str, int]]
) -> None:
    """Whatever the pattern of missed calls, no number gets more than the daily cap in
    any 24 hours and no hour holds more than the global cap."""
    settings = make_settings(
        sms={
            "quiet_hours": "",
            "dedup_window_hours": 1,
            "per_number_daily_cap": 2,
            "global_hourly_cap": 3,
        }
    )
    rows = asyncio.run(_run(settings, arrivals))
    times = sorted((datetime.fromisoformat(c), n) for n, c in rows)
    for at, _ in times:
        in_hour = [n for t, n in times if at <= t < at + timedelta(hours=1)]
        assert len(in_hour) <= 3
        for number in set(in_hour):
            in_day = [t for t, n in times if n == number and at <= t < at + timedelta(days=1)]
            assert len(in_day) <= 2


async def test_recovery_only_within_the_recovery_window(
    make_settings: SettingsFactory, store: Store
) -> None:
    """An answered call more than `sms.recovery_window_hours` after the missed one
    does not count as its recovery (the reports would credit months-old calls)."""
    settings = make_settings(sms={"recovery_window_hours": 48})
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    clock.now = local("2026-11-26 10:00")
    await pipeline.accept(call("2026-11-26 10:00", outcome=Outcome.ANSWERED, ring_seconds=5))
    assert await store.scalar("SELECT recovered_at FROM calls WHERE outcome = 'missed'") is None
    await pipeline.accept(call("2026-11-26 11:00", ring_seconds=5))
    clock.now = local("2026-11-26 12:00")
    await pipeline.accept(call("2026-11-26 12:00", outcome=Outcome.ANSWERED, ring_seconds=5))
    recovered = await store.fetchall(
        "SELECT ended_at, recovered_by FROM calls WHERE outcome = 'missed' ORDER BY id"
    )
    assert [r[1] for r in recovered] == [None, "answered_again"]


async def test_the_hourly_cap_counts_texts_from_the_index_alone(store: Store) -> None:
    """The SMS-pumping guard counts the last hour's texts before every call's
    decision: it must count the entries of `messages_counted` (the texts it counts
    and no others), never read a table row per text, or each call costs more the
    busier the hour."""
    from agent.store.numbers import _TEXTS_SINCE

    plan = await store.fetchall("EXPLAIN QUERY PLAN " + _TEXTS_SINCE, ["2026-11-23"])
    details = " ".join(str(step[-1]) for step in plan)
    assert "INDEX messages_counted" in details, details


async def test_manager_alerts_do_not_use_up_the_global_cap(
    make_settings: SettingsFactory, store: Store
) -> None:
    """Staffing alerts and digests to managers are not caller-triggered: they do not
    count against the SMS-pumping guard, so a busy hour's alert cannot starve callers."""
    settings = make_settings(sms={"global_hourly_cap": 1})
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    for n, template in enumerate(("alert", "digest")):
        await store.enqueue(
            call_id=None,
            to_e164=f"+1514555019{n}",
            department="service",
            template=template,
            language="fr",
            dedup_key=f"{template}:{n}",
            not_before=clock(),
            expires_at=clock() + timedelta(hours=1),
            now=clock(),
        )
    accepted = await pipeline.accept(call("2026-11-23 10:00", caller="5145550111"))
    assert isinstance(accepted.decision, Notify)
    accepted = await pipeline.accept(call("2026-11-23 10:00", caller="5145550122"))
    assert accepted.decision == Skip("global_cap")
