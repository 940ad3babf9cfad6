"""Delivery reports through the simulated modem on a pty: TP-SRR in the PDU, +CDS
status reports read back, matched to `Sent.provider_id`, handed to
`SenderContext.on_delivery` (a collecting callable: the real interface)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from io import StringIO
from pathlib import Path

import pytest
from smspdudecoder.fields import SMSSubmit  # type: ignore[import-untyped]

from agent.model import Delivery, DeliveryReport, NumberFact, OutgoingText, RetryLater, Sent
from drivers.base import SenderContext, SiteContext
from drivers.senders.gsm.pdu_decode import decode_submit
from drivers.senders.gsm.sender import GsmSender
from tests.drivers.gsm.conftest import Inbox, make_config, wait_for
from tests.peers.modem import Behaviour, FakeModem, status_report_pdu

TO = "+14185550142"
LONG = "Bonjour! Nous avons manqué votre appel au service des ventes. " * 4


class Deliveries:
    """What `on_delivery` received, in order."""

    def __init__(self) -> None:
        self.reports: list[DeliveryReport] = []
        self.hook: Callable[[DeliveryReport], None] | None = None

    async def __call__(self, report: DeliveryReport) -> None:
        if self.hook is not None:
            self.hook(report)
        self.reports.append(report)


@pytest.fixture
def deliveries() -> Deliveries:
    return Deliveries()


@pytest.fixture
def context(site: SiteContext, inbox: Inbox, deliveries: Deliveries) -> SenderContext:
    return SenderContext(site, inbox, deliveries)


@pytest.fixture
async def sender(modem: FakeModem, context: SenderContext) -> AsyncIterator[GsmSender]:
    async with GsmSender(make_config(modem.path), context) as started:
        await wait_for(lambda: started.health().state.value == "ok")
        yield started


def text(body: str = "Merci de votre appel", message_id: int = 1, to: str = TO) -> OutgoingText:
    return OutgoingText(message_id, to, body)


def counter(sender: GsmSender, name: str) -> int:
    return sender.health().counters[name]


async def test_text_asks_for_a_report_and_is_delivered(
    sender: GsmSender, modem: FakeModem, deliveries: Deliveries
) -> None:
    """By default the PDU sets TP-SRR (both decoders agree), CNMI routes reports as
    +CDS, and the report for the +CMGS reference becomes `delivered` for the id the
    send returned."""
    assert any(c.startswith("AT+CNMI=2,1,0,1,") for c in modem.commands)
    assert sender.health().details["delivery_reports"] == "routed"
    result = await sender.send(text())
    assert result == Sent("gsm:12")
    assert decode_submit(modem.received[0].hex).status_report
    assert SMSSubmit.decode(StringIO(modem.received[0].hex))["header"]["srr"]
    await wait_for(lambda: bool(deliveries.reports))
    (report,) = deliveries.reports
    assert (report.sender, report.provider_id, report.state) == (
        "modem",
        "gsm:12",
        Delivery.DELIVERED,
    )
    assert (report.error_code, report.fact) == (None, None)
    assert report.at.year == 2026  # the discharge time the SMSC wrote


async def test_long_text_is_delivered_once_every_part_is_in_reverse_order(
    behaviour: Behaviour, sender: GsmSender, modem: FakeModem, deliveries: Deliveries
) -> None:
    """A two-part text has two references; its reports arriving last part first give
    one `delivered`, only after both."""
    behaviour.hold_reports = True
    assert await sender.send(text(LONG)) == Sent("gsm:12,13")
    modem.release_reports(reverse=True)
    await wait_for(lambda: counter(sender, "delivery_report") == 2)
    await wait_for(lambda: bool(deliveries.reports))
    assert [(r.provider_id, r.state) for r in deliveries.reports] == [
        ("gsm:12,13", Delivery.DELIVERED)
    ]


async def test_incompatible_destination_says_the_number_cannot_take_texts(
    behaviour: Behaviour, sender: GsmSender, deliveries: Deliveries
) -> None:
    """TP-ST 0x41 for the chosen number: `failed`, code gsm:st:65, fact sms_incapable;
    another number's text is still delivered."""
    behaviour.report_statuses = {TO: [0x41]}
    await sender.send(text())
    await sender.send(text(message_id=2, to="+15145550123"))
    await wait_for(lambda: len(deliveries.reports) == 2)
    by_id = {r.provider_id: r for r in deliveries.reports}
    failed = by_id["gsm:12"]
    assert (failed.state, failed.error_code, failed.fact) == (
        Delivery.FAILED,
        "gsm:st:65",
        NumberFact.SMS_INCAPABLE,
    )
    assert "incompatible" in failed.detail
    assert by_id["gsm:13"].state is Delivery.DELIVERED


async def test_still_trying_then_given_up(
    behaviour: Behaviour, sender: GsmSender, deliveries: Deliveries
) -> None:
    """0x22 (no response, still trying) then 0x62 (no response, gave up): `sent`, then
    `undelivered` with the fact unreachable."""
    behaviour.report_statuses = {TO: [0x22, 0x62]}
    await sender.send(text())
    await wait_for(lambda: len(deliveries.reports) == 2)
    assert [(r.state, r.fact) for r in deliveries.reports] == [
        (Delivery.SENT, None),
        (Delivery.UNDELIVERED, NumberFact.UNREACHABLE),
    ]


async def test_duplicated_reports_are_handed_over_once(
    behaviour: Behaviour, sender: GsmSender, deliveries: Deliveries
) -> None:
    """A network that sends each report three times: one `delivered`, two duplicates."""
    behaviour.report_copies = 3
    await sender.send(text())
    await wait_for(lambda: counter(sender, "delivery_report_duplicate") == 2)
    assert [r.state for r in deliveries.reports] == [Delivery.DELIVERED]


async def test_recipient_written_nationally_still_matches(
    behaviour: Behaviour, sender: GsmSender, deliveries: Deliveries
) -> None:
    """The SMSC writes the recipient without the country code: still this text."""
    behaviour.report_recipient = "4185550142"
    await sender.send(text())
    await wait_for(lambda: bool(deliveries.reports))
    assert deliveries.reports[0].provider_id == "gsm:12"


async def test_report_for_no_text_we_know_is_counted_not_handed(
    sender: GsmSender, modem: FakeModem, deliveries: Deliveries
) -> None:
    """A report whose reference no text used (sent before a restart) is counted
    `delivery_report_unmatched` and changes nothing."""
    modem.status_report(99)
    await wait_for(lambda: counter(sender, "delivery_report_unmatched") == 1)
    assert deliveries.reports == []


async def test_garbled_reports_are_counted_logged_masked_and_survived(
    sender: GsmSender,
    modem: FakeModem,
    deliveries: Deliveries,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A +CDS whose PDU is cut short, is not hex, or is another kind of PDU: each one
    counted `delivery_report_garbled` and logged without its digits; the sender stays
    ready and the next text's report is still handed over."""
    caplog.set_level(logging.INFO)
    for pdu in ("00062A0B914158550124", "ZZ06", "0004" + "0B914158550124F2" + "0000"):
        modem.route_report(pdu)
    await wait_for(lambda: counter(sender, "delivery_report_garbled") == 3)
    assert sender.health().state.value == "ok"
    assert "4158550124" not in caplog.text and "4185550142" not in caplog.text
    await sender.send(text())
    await wait_for(lambda: bool(deliveries.reports))
    assert deliveries.reports[0].state is Delivery.DELIVERED


async def test_a_failing_delivery_handler_is_counted(
    sender: GsmSender, deliveries: Deliveries
) -> None:
    """If on_delivery raises (it must not), the error is counted and the modem goes on."""

    def boom(_report: DeliveryReport) -> None:
        raise RuntimeError("store down")

    deliveries.hook = boom
    await sender.send(text())
    await wait_for(lambda: counter(sender, "delivery_handler_error") == 1)
    assert sender.health().state.value == "ok"


async def test_reports_can_be_turned_off(
    tmp_path: Path, context: SenderContext, deliveries: Deliveries
) -> None:
    """status_reports: false -> no TP-SRR in the PDU and CNMI without reports."""
    with FakeModem(tmp_path) as modem:
        async with GsmSender(make_config(modem.path, status_reports=False), context) as sender:
            await wait_for(lambda: sender.health().state.value == "ok")
            assert await sender.send(text()) == Sent("gsm:12")
    assert not decode_submit(modem.received[0].hex).status_report
    assert any(c.startswith("AT+CNMI=2,1,0,0,") for c in modem.commands)
    assert modem.reports == []


async def test_modem_that_stores_reports_announces_them_with_cdsi(
    tmp_path: Path, context: SenderContext, deliveries: Deliveries
) -> None:
    """A modem refusing `<ds>=1` gets `AT+CNMI=2,1,0,2,0`: its reports are stored in
    "SR" and announced +CDSI; each is read there (AT+CPMS="SR", AT+CMGR), handed over,
    deleted, and the SIM memory selected again for the replies."""
    with FakeModem(tmp_path, Behaviour(cnmi_ds=(0, 2))) as modem:
        async with GsmSender(make_config(modem.path), context) as sender:
            await wait_for(lambda: sender.health().state.value == "ok")
            assert modem.ds == 2
            assert await sender.send(text(LONG)) == Sent("gsm:12,13")
            await wait_for(lambda: bool(deliveries.reports) and not modem.report_storage)
            assert [(r.provider_id, r.state) for r in deliveries.reports] == [
                ("gsm:12,13", Delivery.DELIVERED)
            ]
            assert 'AT+CPMS="SR"' in modem.commands
            assert modem.mem1 == "SM"
            modem.deliver("+15145550100", "STOP")  # replies are still read from the SIM
            await wait_for(lambda: not modem.storage)
    assert any(c.startswith("AT+CNMI=2,1,0,1,") for c in modem.commands)  # tried first


async def test_reports_between_two_attempts_wait_for_the_whole_text(
    behaviour: Behaviour, sender: GsmSender, modem: FakeModem, deliveries: Deliveries
) -> None:
    """Part 1 leaves and is reported `incompatible destination`, part 2 is refused
    (CMS 42): nothing is handed over for a text the daemon has no id for yet. When the
    retry sends part 2, the failure is handed over with the whole text's id, once."""
    behaviour.outcomes = ["ok", 42]
    behaviour.report_statuses = {TO: [0x41]}
    first = await sender.send(text(LONG))
    assert isinstance(first, RetryLater) and first.resume
    await wait_for(lambda: counter(sender, "delivery_report") == 1)
    assert deliveries.reports == []
    again = OutgoingText(1, TO, LONG, attempt=2, resume=first.resume)
    assert await sender.send(again) == Sent("gsm:12,13")
    await wait_for(lambda: counter(sender, "delivery_report_duplicate") == 1)
    await wait_for(lambda: bool(deliveries.reports))
    assert [(r.provider_id, r.state, r.fact) for r in deliveries.reports] == [
        ("gsm:12,13", Delivery.FAILED, NumberFact.SMS_INCAPABLE)
    ]


async def test_reports_stored_while_down_are_cleared_from_the_report_memory(
    tmp_path: Path, context: SenderContext, deliveries: Deliveries
) -> None:
    """Reports the modem stored while ringback was down match no text it knows: they
    are listed in "SR" at start, counted unmatched and deleted (a full report memory
    refuses new ones), and the SIM memory is selected again."""
    with FakeModem(tmp_path, Behaviour(cnmi_ds=(0, 2))) as modem:
        modem.report_storage[1] = status_report_pdu(40, TO, 0x00)
        modem.report_storage[2] = status_report_pdu(41, TO, 0x41)
        async with GsmSender(make_config(modem.path), context) as sender:
            await wait_for(lambda: not modem.report_storage)
            assert counter(sender, "delivery_report_unmatched") == 2
            assert sender.health().details["delivery_reports"] == "stored"
            assert modem.mem1 == "SM"
    assert deliveries.reports == []
