"""The Twilio error table, row by row, over HTTP against the fake Twilio."""

from __future__ import annotations

import pytest

from agent.model import (
    Health,
    HealthState,
    NumberFact,
    OutgoingText,
    Rejected,
    RetryLater,
    SendResult,
)
from drivers.senders.cloud_http import Verdict
from drivers.senders.twilio_codes import FACTS, TWILIO_TABLE, classify, fact_of
from tests.drivers.cloud.conftest import TO, TwilioFactory
from tests.peers.cloud_api import FakeTwilio, Step

TEXT = OutgoingText(41, TO, "Sorry we missed your call - Garage Tremblay")


@pytest.mark.parametrize(("key", "rule"), list(TWILIO_TABLE.items()), ids=str)
def test_every_row_is_reachable(key: tuple[str, int | None], rule: object) -> None:
    """Pins the lookup order: no row of the table is shadowed by a more general one."""
    status: int | str = int(key[0]) if key[0].isdigit() else key[0]
    if key[0] in ("*", "3xx", "4xx", "5xx"):
        status = {"*": 102, "3xx": 301, "4xx": 418, "5xx": 500}[key[0]]
    assert classify(status, key[1]) == rule


@pytest.mark.parametrize(
    "case",
    [
        (400, 21211, Verdict.REJECT, "21211"),
        (400, 21614, Verdict.REJECT, "not a mobile"),
        (400, 21612, Verdict.REJECT, "21612"),
        (400, 21608, Verdict.REJECT, "trial"),
        (400, 21610, Verdict.OPT_OUT, "STOP"),
        (400, 21408, Verdict.REJECT, "Geo permissions"),
        (401, 20003, Verdict.ALARM, "authentication"),
        (400, 21606, Verdict.ALARM, "'from'"),
        (400, 21611, Verdict.RETRY, "queue full"),
        (429, 20429, Verdict.RETRY, "20429"),
        (400, 21999, Verdict.REJECT, "unclassified) (code 21999)"),
        # the table's 5xx row is ambiguous, but the look-up that follows finds nothing
        # created here, so the text is a plain retry (issue 14)
        (500, 20500, Verdict.RETRY, "no message was created"),
        (503, None, Verdict.RETRY, "no message was created"),
        (418, None, Verdict.REJECT, "unclassified"),
    ],
    ids=lambda case: f"{case[0]}-{case[1]}",
)
async def test_error_code_over_http(
    twilio: FakeTwilio, make_twilio: TwilioFactory, case: tuple[int, int | None, Verdict, str]
) -> None:
    """Pins each listed (HTTP status, Twilio code) to its result: rejected, opted out,
    alarm (RetryLater + health DOWN, queue kept) or retried."""
    status, code, verdict, words = case
    step = Step.error(status, code) if code else Step.reply(status, {"status": status})
    twilio.script(step, step)  # a retried 429 meets the same answer again
    async with make_twilio() as sender:
        result = await sender.send(TEXT)
        health = sender.health()
    assert words in _reason(result)
    assert _verdict(result, health) is verdict
    assert (health.state is HealthState.DOWN) == (verdict is Verdict.ALARM)
    assert (health.details["alarm"] is not None) == (verdict is Verdict.ALARM)
    assert twilio.created == []


def _reason(result: SendResult) -> str:
    return result.reason if isinstance(result, RetryLater | Rejected) else ""


def _verdict(result: SendResult, health: Health) -> Verdict:
    """An alarm is a RetryLater while the sender's health carries the alarm."""
    if isinstance(result, Rejected):
        return Verdict.OPT_OUT if result.opt_out else Verdict.REJECT
    assert isinstance(result, RetryLater), result
    if result.ambiguous:
        return Verdict.AMBIGUOUS
    return Verdict.ALARM if health.details["alarm"] else Verdict.RETRY


# --- what a code says about the number (issue 17) --------------------------------------


@pytest.mark.parametrize(
    ("code", "fact"),
    [
        (21610, NumberFact.OPTED_OUT),
        (30006, NumberFact.SMS_INCAPABLE),
        (21614, NumberFact.SMS_INCAPABLE),
        (30003, NumberFact.UNREACHABLE),
        (30005, NumberFact.UNREACHABLE),
        (30007, NumberFact.FILTERED),
        (30034, NumberFact.FILTERED),
        (21408, NumberFact.MISCONFIGURED),
        (21612, NumberFact.MISCONFIGURED),
        (30008, None),
        (None, None),
    ],
    ids=str,
)
def test_code_states_a_fact(code: int | None, fact: NumberFact | None) -> None:
    """Pins each Twilio code the issue names to its number fact; the faults of ours
    carry the fix (what to do in the Twilio console)."""
    found, detail = fact_of(code)
    assert found is fact
    if fact in (NumberFact.FILTERED, NumberFact.MISCONFIGURED):
        assert "Twilio console" in detail


@pytest.mark.parametrize(
    ("code", "fact", "opt_out"),
    [
        (21610, NumberFact.OPTED_OUT, True),
        (21614, NumberFact.SMS_INCAPABLE, False),
        (30006, NumberFact.SMS_INCAPABLE, False),
        (21408, NumberFact.MISCONFIGURED, False),
        (21612, NumberFact.MISCONFIGURED, False),
        (21211, None, False),
    ],
    ids=str,
)
async def test_refusal_at_create_carries_the_fact(
    twilio: FakeTwilio,
    make_twilio: TwilioFactory,
    code: int,
    fact: NumberFact | None,
    opt_out: bool,
) -> None:
    """Pins `Rejected.fact` from the create answer (a number the fake refuses with that
    code); a setup error also degrades the sender's health, not DOWN."""
    twilio.errors[TO] = code
    async with make_twilio() as sender:
        result = await sender.send(TEXT)
        health = sender.health()
    assert isinstance(result, Rejected)
    assert (result.fact, result.opt_out) == (fact, opt_out)
    degraded = fact is NumberFact.MISCONFIGURED
    assert (health.state is HealthState.DEGRADED) == degraded
    assert (health.details["degraded"] is not None) == degraded


def test_every_fact_code_carries_its_fact_at_create_time() -> None:
    """A code that says something about the number says it the same way in the create
    answer as in a delivery report: each `FACTS` code's create-time row carries that
    fact (STOP as the opt-out verdict), so no code stores a fact on one path only."""
    for code, (fact, _) in FACTS.items():
        rule = TWILIO_TABLE[("*", code)]
        if fact is NumberFact.OPTED_OUT:
            assert rule.verdict is Verdict.OPT_OUT, code
        else:
            assert rule.fact is fact, code


@pytest.mark.parametrize("code", [30003, 30005])
async def test_unreachable_at_create_is_a_retry_with_the_fact(
    twilio: FakeTwilio, make_twilio: TwilioFactory, code: int
) -> None:
    """30003/30005 in the 400 to the create: a `RetryLater` in 30 min carrying
    `unreachable` and the code; no alarm and no fix of ours (the number's fault, not
    our sending's, unlike `filtered`)."""
    twilio.errors[TO] = code
    async with make_twilio() as sender:
        result = await sender.send(TEXT)
        health = sender.health()
    assert isinstance(result, RetryLater)
    assert (result.fact, result.code, result.after) == (NumberFact.UNREACHABLE, str(code), 1800.0)
    assert health.state is not HealthState.DOWN
    assert health.details["degraded"] is None and health.details["alarm"] is None
