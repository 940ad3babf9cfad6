"""The dispatcher on a real store: due texts go out rendered, recovered callers are
not texted, quiet hours hold, RetryLater backs off, Rejected stops, ambiguity parks."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

import pytest

from agent.config.settings import Settings
from agent.decide.pipeline import Pipeline
from agent.model import (
    Counters,
    Delivery,
    DeliveryReport,
    Direction,
    Health,
    HealthState,
    Notify,
    Outcome,
    OutgoingText,
    Rejected,
    RetryLater,
    SendResult,
    Sent,
)
from agent.send.chain import SenderChain
from agent.send.deliveries import Deliveries
from agent.send.dispatcher import Dispatcher
from agent.store import Store
from drivers.base import Sender, SenderContext, SiteContext
from drivers.senders.log import LogSender
from drivers.senders.log_config import LogConfig
from tests.agent.conftest import TZ, SettingsFactory, call, clock_at, local
from tests.conftest import FrozenClock


class ScriptedPeer:
    """A stand-in for a provider that answers each send from a script (the last
    answer repeats) and remembers what it was asked to deliver."""

    def __init__(self, name: str, *answers: SendResult) -> None:
        self.name = name
        self.answers = list(answers)
        self.texts: list[OutgoingText] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def send(self, text: OutgoingText) -> SendResult:
        self.texts.append(text)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def health(self) -> Health:
        return Health(HealthState.OK)


def log_sender(fail_every: int = 0) -> LogSender:
    config = LogConfig(name="dry-run", print=False, fail_every=fail_every)
    return LogSender(config, SenderContext(SiteContext("Garage Laval", TZ, "CA")))


class Rig:
    """Pipeline and dispatcher sharing one store and one frozen clock."""

    def __init__(self, settings: Settings, store: Store, sender: Sender, when: str) -> None:
        self.clock: FrozenClock = clock_at(when)
        self.store = store
        self.pipeline = Pipeline(settings, store, self.clock)
        self.chain = SenderChain([sender], clock=self.seconds)
        self.dispatcher = Dispatcher(
            settings, store, self.chain, self.clock, self.pipeline.holiday_dates
        )

    def seconds(self) -> float:
        """The chain's monotonic clock, driven by the frozen one."""
        return self.clock.now.timestamp()

    def at(self, when: str) -> None:
        self.clock.now = local(when)

    async def message(self) -> tuple[object, ...]:
        return await self.store.fetchone(
            "SELECT state, attempts, body, not_before, last_error FROM messages"
        )


@pytest.fixture
def peer() -> ScriptedPeer:
    return ScriptedPeer("peer", Sent("p-1"))


async def test_text_goes_out_after_the_grace_delay(
    settings: Settings, store: Store, peer: ScriptedPeer
) -> None:
    """Nothing leaves during the grace delay; then the department's template is sent
    with its placeholders filled, in the department's language."""
    rig = Rig(settings, store, peer, "2026-11-23 10:00")
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    rig.at("2026-11-23 10:01:29")
    assert await rig.dispatcher.run_once() == 0
    rig.at("2026-11-23 10:01:30")
    assert await rig.dispatcher.run_once() == 1
    (text,) = peer.texts
    assert text.to_e164 == "+15145550123"
    assert text.body == (
        "Garage Laval (service) : désolé d'avoir manqué votre appel. "
        "Répondez à ce texto ou rappelez-nous au 514-555-0100."
    )
    state = await rig.message()
    assert state[:2] == ("sent", 1)


async def test_caller_id_name_never_reaches_the_text(
    settings: Settings, store: Store, peer: ScriptedPeer
) -> None:
    """Whatever the caller-ID name holds, it is not in the text."""
    rig = Rig(settings, store, peer, "2026-11-23 10:05")
    name = "{site} Visit evil.example NOW"
    await rig.pipeline.accept(call("2026-11-23 10:00", caller_name=name))
    await rig.dispatcher.run_once()
    assert "evil" not in peer.texts[0].body


async def test_english_did_gets_english_text(
    settings: Settings, store: Store, peer: ScriptedPeer
) -> None:
    """A call to the DID marked English is answered in English."""
    rig = Rig(settings, store, peer, "2026-11-23 10:05")
    await rig.pipeline.accept(call("2026-11-23 10:00", dialed="5145550199"))
    await rig.dispatcher.run_once()
    assert peer.texts[0].body.startswith("Garage Laval (service): sorry we missed your call.")


RECOVERED = [
    ({"outcome": Outcome.ANSWERED}, "the caller called again and was answered"),
    (
        {"outcome": Outcome.ANSWERED, "direction": Direction.OUTBOUND, "dialed": "5145550123"},
        "the dealership called back and was answered",
    ),
]


@pytest.mark.parametrize(("fields", "why"), RECOVERED)
async def test_callback_during_grace_cancels_the_text(
    settings: Settings, store: Store, peer: ScriptedPeer, fields: dict[str, object], why: str
) -> None:
    """A queued text is withdrawn as `recovered` when an answered call with the
    number ended before it went out."""
    rig = Rig(settings, store, peer, "2026-11-23 10:00")
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    rig.at("2026-11-23 10:01:10")
    await rig.pipeline.accept(call("2026-11-23 10:01:10", ring_seconds=50, **fields))  # type: ignore[arg-type]
    rig.at("2026-11-23 10:01:30")
    await rig.dispatcher.run_once()
    assert peer.texts == []
    assert (await rig.message())[0] == "suppressed"
    assert await store.scalar("SELECT detail FROM attempts") == "recovered"


async def test_unanswered_callback_does_not_cancel(
    settings: Settings, store: Store, peer: ScriptedPeer
) -> None:
    """A second missed call is not a recovery: the text still goes."""
    rig = Rig(settings, store, peer, "2026-11-23 10:00")
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    rig.at("2026-11-23 10:01")
    await rig.pipeline.accept(call("2026-11-23 10:01"))
    rig.at("2026-11-23 10:02")
    await rig.dispatcher.run_once()
    assert len(peer.texts) == 1


async def test_eve_of_holiday_text_waits_for_morning_and_names_next_opening(
    settings: Settings, store: Store, peer: ScriptedPeer
) -> None:
    """Missed at 20:59 on 23 December: nothing at night; at 08:00 on the 24th (a YAML
    holiday, then Christmas) the after-hours text names Saturday's opening."""
    rig = Rig(settings, store, peer, "2026-12-23 20:59")
    await rig.pipeline.accept(call("2026-12-23 20:59"))
    for night in ("2026-12-23 21:00:30", "2026-12-24 03:00", "2026-12-24 07:59:59"):
        rig.at(night)
        assert await rig.dispatcher.run_once() == 0
    rig.at("2026-12-24 08:00")
    assert await rig.dispatcher.run_once() == 1
    assert "Nous vous rappellerons samedi à 8 h" in peer.texts[0].body
    assert "(service) : nous sommes fermés" in peer.texts[0].body


async def test_text_due_before_quiet_hours_but_sent_late_waits(
    make_settings: SettingsFactory, store: Store, peer: ScriptedPeer
) -> None:
    """A text that was due at 20:59:30 but is only picked up at 21:30 (the daemon was
    down) is not sent at night: it is put back until quiet hours end, without
    counting an attempt."""
    rig = Rig(make_settings(sms={"max_age_minutes": 720}), store, peer, "2026-11-23 20:58")
    await rig.pipeline.accept(call("2026-11-23 20:58"))  # service, closed: after_hours
    rig.at("2026-11-23 21:30")
    assert await rig.dispatcher.run_once() == 1
    assert peer.texts == []
    state, attempts, _, not_before, _ = await rig.message()
    assert (state, attempts) == ("pending", 0)
    assert not_before == local("2026-11-24 08:00").isoformat(timespec="microseconds")
    rig.at("2026-11-24 08:00")
    await rig.dispatcher.run_once()
    assert len(peer.texts) == 1
    assert (await rig.message())[:2] == ("sent", 1)


async def test_deferred_text_is_rendered_from_the_state_when_it_leaves(
    make_settings: SettingsFactory, store: Store, peer: ScriptedPeer
) -> None:
    """Issue 14: a call to Service at 21:30 (closed, quiet hours) is queued with the
    after-hours template; at 08:00 the next morning Service has been open since 7:30,
    so the text that leaves is the open one (never "le service est fermé"), and the
    outbox records the template it was sent with."""
    rig = Rig(make_settings(sms={"max_age_minutes": 720}), store, peer, "2026-11-23 21:30")
    await rig.pipeline.accept(call("2026-11-23 21:30"))
    assert await store.scalar("SELECT template FROM messages") == "after_hours"
    rig.at("2026-11-24 07:59:59")
    assert await rig.dispatcher.run_once() == 0
    rig.at("2026-11-24 08:00")
    assert await rig.dispatcher.run_once() == 1
    body = peer.texts[0].body
    assert "(service) : désolé d'avoir manqué votre appel" in body
    assert "fermé" not in body
    assert await store.scalar("SELECT template FROM messages") == "open"
    assert (await rig.message())[:2] == ("sent", 1)


async def test_deferred_text_names_the_opening_seen_from_send_time(
    make_settings: SettingsFactory, store: Store, peer: ScriptedPeer
) -> None:
    """A call to Service at 17:40 on Friday 27 November (closed since 17:30) is held
    by quiet hours (17:45-07:00 here) until 07:00 on Saturday, when Service is still
    closed: the after-hours text names the opening as seen when it leaves,
    "aujourd'hui à 8 h", not "demain à 8 h" as seen at the call."""
    settings = make_settings(sms={"max_age_minutes": 900, "quiet_hours": "17:45-07:00"})
    rig = Rig(settings, store, peer, "2026-11-27 17:40")
    await rig.pipeline.accept(call("2026-11-27 17:40"))
    rig.at("2026-11-28 07:00")
    assert await rig.dispatcher.run_once() == 1
    body = peer.texts[0].body
    assert "nous sommes fermés" in body
    assert "Nous vous rappellerons aujourd'hui à 8 h" in body and "demain" not in body


async def test_text_that_would_now_be_wrong_is_withdrawn_not_sent(
    make_settings: SettingsFactory, store: Store, peer: ScriptedPeer
) -> None:
    """A call to Sales at 20:58 (open until 21:00) is queued with the open text; picked
    up late at 21:30 it waits for the end of quiet hours; at 08:00 Sales is closed and
    has no after-hours text, so the text is re-decided and withdrawn as
    `after_hours_no_template`, not sent."""
    rig = Rig(make_settings(sms={"max_age_minutes": 720}), store, peer, "2026-11-23 20:58")
    await rig.pipeline.accept(call("2026-11-23 20:58", dialed="5145550101"))  # sales open
    assert await store.scalar("SELECT template FROM messages") == "open"
    rig.at("2026-11-23 21:30")
    await rig.dispatcher.run_once()
    rig.at("2026-11-24 08:00")
    assert await rig.dispatcher.run_once() == 1
    assert peer.texts == []
    assert (await rig.message())[0] == "suppressed"
    assert await store.scalar("SELECT detail FROM attempts") == "after_hours_no_template"


async def test_late_text_past_its_expiry_at_quiet_end_is_withdrawn(
    settings: Settings, store: Store, peer: ScriptedPeer
) -> None:
    """When quiet hours end after the text's expiry (20:58 + 4 h), it is withdrawn as
    `too_old` instead of waiting for the morning."""
    rig = Rig(settings, store, peer, "2026-11-23 20:58")
    await rig.pipeline.accept(call("2026-11-23 20:58", dialed="5145550101"))
    rig.at("2026-11-23 21:30")
    await rig.dispatcher.run_once()
    assert peer.texts == []
    assert (await rig.message())[0] == "suppressed"
    assert await store.scalar("SELECT detail FROM attempts") == "too_old"


async def test_retry_later_backs_off_capped_then_gives_up(
    make_settings: SettingsFactory, store: Store
) -> None:
    """With the log sender's `fail_every` drill every send answers RetryLater: the text
    is rescheduled with exponential backoff (30 s, then 60 s, jittered ±20 %) never
    above `retry.max_seconds`, and fails after `retry.max_attempts`."""
    settings = make_settings(
        sms={"retry": {"first_seconds": 30, "max_seconds": 50, "max_attempts": 3}}
    )
    rig = Rig(settings, store, log_sender(fail_every=1), "2026-11-23 10:00")
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    rig.at("2026-11-23 10:01:30")
    waits = []
    for attempt in range(1, 4):
        assert await rig.dispatcher.run_once() == 1
        state, attempts, _, not_before, error = await rig.message()
        assert (attempts, error) == (attempt, "dry-run: drill: fail_every")
        assert state == ("failed" if attempt == 3 else "retry_wait")
        due = datetime.fromisoformat(str(not_before))
        waits.append((due - rig.clock.now).total_seconds())
        rig.clock.now = due
    assert 24 <= waits[0] <= 36
    assert 48 <= waits[1] <= 50
    assert await rig.dispatcher.run_once() == 0
    results = [r[0] for r in await store.fetchall("SELECT result FROM attempts ORDER BY id")]
    assert results == ["retry", "retry", "gave_up"]


async def test_retry_later_then_sent(make_settings: SettingsFactory, store: Store) -> None:
    """After a RetryLater the same text, same body, goes out on the next attempt."""
    peer = ScriptedPeer("peer", RetryLater(0, "modem busy"), Sent("p-2"))
    rig = Rig(make_settings(), store, peer, "2026-11-23 10:05")
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    await rig.dispatcher.run_once()
    rig.clock.advance(3600)
    await rig.dispatcher.run_once()
    assert [t.attempt for t in peer.texts] == [1, 2]
    assert peer.texts[0].body == peer.texts[1].body
    assert (await rig.message())[:2] == ("sent", 2)


async def test_rejected_stops_and_opt_out_is_recorded(settings: Settings, store: Store) -> None:
    """A Rejected result fails the text for good; when the provider says the number
    opted out, it joins the opt-out list."""
    peer = ScriptedPeer("peer", Rejected("21610: unsubscribed recipient", opt_out=True))
    rig = Rig(settings, store, peer, "2026-11-23 10:05")
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    await rig.dispatcher.run_once()
    rig.clock.advance(7200)
    assert await rig.dispatcher.run_once() == 0
    assert len(peer.texts) == 1
    assert (await rig.message())[0] == "failed"
    assert await store.is_opted_out("+15145550123")
    assert rig.dispatcher.last_error is not None
    assert rig.dispatcher.last_error["class"] == "permanent"


async def test_ambiguous_result_parks_the_text_as_unknown(settings: Settings, store: Store) -> None:
    """When the text may have left (a timeout after the provider took it), it is not
    retried blindly: it waits in `unknown` for a technician."""
    peer = ScriptedPeer("peer", RetryLater(5, "timeout after submit", ambiguous=True))
    rig = Rig(settings, store, peer, "2026-11-23 10:05")
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    await rig.dispatcher.run_once()
    rig.clock.advance(600)
    assert await rig.dispatcher.run_once() == 0
    assert (await rig.message())[0] == "unknown"


async def test_expired_text_is_withdrawn(
    settings: Settings, store: Store, peer: ScriptedPeer
) -> None:
    """A text still queued after its expiry (max age) is withdrawn as `too_old`."""
    rig = Rig(settings, store, peer, "2026-11-23 10:00")
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    rig.clock.advance(timedelta(minutes=241).total_seconds())
    await rig.dispatcher.run_once()
    assert peer.texts == [] and (await rig.message())[0] == "suppressed"


async def test_help_reply_is_sent_even_at_night(
    settings: Settings, store: Store, peer: ScriptedPeer
) -> None:
    """HELP/AIDE is answered at once, quiet hours or not, and names the opt-out word."""
    from agent.model import InboundText

    rig = Rig(settings, store, peer, "2026-11-23 23:00")
    await rig.pipeline.inbound(InboundText("+15145550123", "aide", rig.clock(), "peer"))
    await rig.dispatcher.run_once()
    assert "ARRET" in peer.texts[0].body


async def test_stop_is_confirmed_once_even_at_night(
    settings: Settings, store: Store, peer: ScriptedPeer
) -> None:
    """STOP puts the number on the opt-out list and sends exactly one confirmation
    (quiet hours or not, opted out or not); the queued missed-call text is withdrawn."""
    from agent.model import InboundText

    rig = Rig(settings, store, peer, "2026-11-23 20:50")
    await rig.pipeline.accept(call("2026-11-23 20:50"))
    rig.at("2026-11-23 23:00")
    await rig.pipeline.inbound(InboundText("+15145550123", "ARRÊT", rig.clock(), "peer"))
    await rig.pipeline.inbound(InboundText("+15145550123", "stop", rig.clock(), "peer"))
    await rig.dispatcher.run_once()
    assert len(peer.texts) == 1
    assert "DEBUT" in peer.texts[0].body and peer.texts[0].to_e164 == "+15145550123"
    states = await store.fetchall("SELECT template, state FROM messages ORDER BY id")
    assert [state for _, state in states] == ["suppressed", "sent"]
    assert states[1][0] == "stop_confirm"


async def test_a_withdrawn_text_frees_the_window_for_a_later_missed_call(
    settings: Settings, store: Store, peer: ScriptedPeer
) -> None:
    """A text withdrawn because the caller was recovered does not use up the dedup
    window: when the same caller is missed again an hour later, they get a text."""
    rig = Rig(settings, store, peer, "2026-11-23 10:00")
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    rig.at("2026-11-23 10:01:10")
    await rig.pipeline.accept(call("2026-11-23 10:01:10", outcome=Outcome.ANSWERED))
    rig.at("2026-11-23 10:02")
    await rig.dispatcher.run_once()
    rig.at("2026-11-23 11:00")
    accepted = await rig.pipeline.accept(call("2026-11-23 11:00"))
    assert isinstance(accepted.decision, Notify)
    rig.at("2026-11-23 11:05")
    await rig.dispatcher.run_once()
    assert len(peer.texts) == 1
    states = await store.fetchall("SELECT state FROM messages ORDER BY id")
    assert states == [("suppressed",), ("sent",)]


async def test_partly_sent_text_resumes_on_its_sender_after_a_restart(
    settings: Settings, store: Store
) -> None:
    """A sender that got part of a text out answers RetryLater with a resume token: the
    chain tries no other sender, the outbox keeps the token, and the next attempt, by a
    freshly started dispatcher, goes to that sender only, with the token."""
    first = ScriptedPeer("modem", RetryLater(0.0, "part 2 refused", resume="tok-1"), Sent("m-1"))
    other = ScriptedPeer("cloud", Sent("c-1"))
    rig = Rig(settings, store, first, "2026-11-23 10:00")
    rig.chain = SenderChain([first, other], clock=rig.seconds)
    rig.dispatcher.chain = rig.chain
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    rig.at("2026-11-23 10:02")
    await rig.dispatcher.run_once()
    assert other.texts == []
    assert await store.fetchone("SELECT state, sender, resume FROM messages") == (
        "retry_wait",
        "modem",
        "tok-1",
    )
    restarted = Rig(settings, store, other, "2026-11-23 10:30")
    restarted.chain = SenderChain([other, first], clock=restarted.seconds)
    restarted.dispatcher.chain = restarted.chain
    await restarted.dispatcher.run_once()
    assert other.texts == []
    assert [t.resume for t in first.texts] == [None, "tok-1"]
    assert await store.fetchone("SELECT state, sender, resume FROM messages") == (
        "sent",
        "modem",
        None,
    )


async def test_a_long_backlog_keeps_the_watchdog_fed(settings: Settings, store: Store) -> None:
    """Working through a backlog of slow sends (100 s each here) is a busy loop, not a
    stuck one: the dispatcher's heartbeat moves with every text it finishes."""

    class SlowPeer(ScriptedPeer):
        async def send(self, text: OutgoingText) -> SendResult:
            rig.clock.advance(100)
            return await super().send(text)

    peer = SlowPeer("slow", Sent("s-1"))
    rig = Rig(settings, store, peer, "2026-11-23 10:00")
    for n in range(4):
        await rig.pipeline.accept(call("2026-11-23 10:00", caller=f"51455501{n:02d}"))
    rig.at("2026-11-23 10:05")
    assert await rig.dispatcher.run_once() == 4
    assert rig.dispatcher.heartbeat_at == rig.clock.now == local("2026-11-23 10:11:40")


async def test_text_picked_up_late_waits_for_the_callers_morning(
    make_settings: SettingsFactory, store: Store, peer: ScriptedPeer
) -> None:
    """A text to a Vancouver number due at 20:31:30 Montreal time but only picked up at
    10:00 the next morning (07:00 in Vancouver) is put back until 08:00 Vancouver time
    (11:00 in Montreal), without counting an attempt, then sent."""
    rig = Rig(make_settings(sms={"max_age_minutes": 900}), store, peer, "2026-11-23 20:30")
    await rig.pipeline.accept(call("2026-11-23 20:30", caller="+1 604 555 0123"))
    rig.at("2026-11-24 10:00")
    assert await rig.dispatcher.run_once() == 1
    assert peer.texts == []
    state, attempts, _, not_before, _ = await rig.message()
    assert (state, attempts) == ("pending", 0)
    assert not_before == local("2026-11-24 11:00").isoformat(timespec="microseconds")
    rig.at("2026-11-24 11:00")
    await rig.dispatcher.run_once()
    assert [t.to_e164 for t in peer.texts] == ["+16045550123"]


# --- a carrier that answers before the provider id is recorded -----------------------


def reporting_log_sender(store: Store, rig_clock: FrozenClock, report: str) -> LogSender:
    """The log sender's drill reports each text at once, from inside `send()`: the
    report reaches the real store before the dispatcher has recorded the provider id."""
    keeper = Deliveries(store, Counters(), rig_clock)
    site = SiteContext("Garage Laval", TZ, "CA", clock=rig_clock)
    config = LogConfig(name="dry-run", print=False, report=report)
    return LogSender(config, SenderContext(site, on_delivery=keeper.on_delivery))


async def test_report_before_the_provider_id_is_recorded_is_applied(
    settings: Settings, store: Store
) -> None:
    """The report came while the text's provider id was not yet on its row (kept as
    a SID we never sent); recording the id adopts it in the same transaction: the text
    is `delivered`, the report is tied to it and applied, and it is counted."""
    clock = clock_at("2026-11-23 10:05")
    rig = Rig(settings, store, reporting_log_sender(store, clock, "delivered"), "2026-11-23 10:05")
    rig.clock = clock
    rig.dispatcher.clock = clock
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    assert await rig.dispatcher.run_once() == 1
    row = await store.fetchone("SELECT id, state, provider_id, delivery FROM messages")
    assert row[1:] == ("sent", "log-1-1", "delivered")
    history = await store.delivery_history(int(row[0]))
    assert [(state, code, applied) for state, code, _, applied in history] == [
        ("delivered", None, True)
    ]
    assert await store.scalar("SELECT COUNT(*) FROM deliveries WHERE message_id IS NULL") == 0
    assert rig.dispatcher.counters.snapshot()["deliveries_adopted"] == 1


async def test_early_report_carries_its_number_fact(settings: Settings, store: Store) -> None:
    """An early `undelivered` report saying the number takes no texts: once adopted,
    the text is undelivered with its code and the number is sms_incapable; a later
    `sent` for the same id does not move it back."""
    clock = clock_at("2026-11-23 10:05")
    sender = reporting_log_sender(store, clock, "sms_incapable")
    rig = Rig(settings, store, sender, "2026-11-23 10:05")
    rig.clock = clock
    rig.dispatcher.clock = clock
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    await rig.dispatcher.run_once()
    assert await store.fetchone("SELECT delivery, delivery_code FROM messages") == (
        "undelivered",
        "log:sms_incapable",
    )
    assert await store.texting_facts("+15145550123") == (True, None)
    late = DeliveryReport("dry-run", "log-1-1", Delivery.SENT, clock.now)
    await Deliveries(store, Counters(), clock).on_delivery(late)
    assert await store.scalar("SELECT delivery FROM messages") == "undelivered"
