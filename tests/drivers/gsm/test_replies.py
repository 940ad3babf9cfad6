"""Replies from callers: read, joined, handed to the policy, then deleted."""

from __future__ import annotations

from pathlib import Path

from agent.model import InboundText
from drivers.base import SenderContext
from drivers.senders.gsm.sender import GsmSender
from tests.drivers.gsm.conftest import Inbox, make_config, wait_for
from tests.peers.modem import FakeModem, deliver_pdu


async def test_single_reply_then_deleted(sender: GsmSender, modem: FakeModem, inbox: Inbox) -> None:
    """+CMTI -> AT+CMGR -> on_inbound(InboundText) -> AT+CMGD, deletion only after the
    handler returned."""
    seen_on_sim: list[bool] = []
    inbox.hook = lambda _t: seen_on_sim.append(bool(modem.storage))
    modem.deliver("+15145550100", "ARRET")
    await wait_for(lambda: not modem.storage and bool(inbox.texts))
    assert seen_on_sim == [True]
    reply = inbox.texts[0]
    assert (reply.from_e164, reply.body, reply.sender) == ("+15145550100", "ARRET", "modem")
    assert reply.received_at.year == 2026


async def test_multipart_reply_joined(sender: GsmSender, modem: FakeModem, inbox: Inbox) -> None:
    """Two parts arriving out of order become one text; both are deleted."""
    modem.deliver("+15145550100", " de l'aide", concat=(7, 2, 2))
    modem.deliver("+15145550100", "AIDE: j'ai besoin", concat=(7, 2, 1))
    await wait_for(lambda: bool(inbox.texts) and not modem.storage)
    assert [t.body for t in inbox.texts] == ["AIDE: j'ai besoin de l'aide"]


async def test_handler_failure_keeps_reply(
    sender: GsmSender, modem: FakeModem, inbox: Inbox
) -> None:
    """If on_inbound raises, the reply stays on the SIM and is counted."""

    def boom(_text: InboundText) -> None:
        raise RuntimeError("policy down")

    inbox.hook = boom
    modem.deliver("+15145550100", "STOP")
    await wait_for(lambda: sender.health().counters["inbound_handler_error"] >= 1)
    assert modem.storage


async def test_undecodable_pdu_kept_and_counted(sender: GsmSender, modem: FakeModem) -> None:
    """A PDU from the network that does not decode: one counter, kept on the SIM, the
    sender keeps running."""
    modem.store_raw("0791715096970300FF")
    await wait_for(lambda: sender.health().counters["inbound_undecodable"] == 1)
    assert len(modem.storage) == 1
    assert sender.health().state.value == "ok"


async def test_replies_stored_while_down_are_read_at_start(
    tmp_path: Path, context: SenderContext, inbox: Inbox
) -> None:
    """Texts already on the SIM at start are found by listing (AT+CMGL) and handed over."""
    with FakeModem(tmp_path) as modem:
        modem.store_raw(deliver_pdu("+15145550100", "STOP"), announce=False)
        async with GsmSender(make_config(modem.path), context):
            await wait_for(lambda: bool(inbox.texts) and not modem.storage)
    assert inbox.texts[0].body == "STOP"


async def test_delivery_report_counted(tmp_path: Path, context: SenderContext) -> None:
    """With status_reports on, CNMI routes reports (+CDS, two lines) and they are counted."""
    with FakeModem(tmp_path) as modem:
        async with GsmSender(make_config(modem.path, status_reports=True), context) as sender:
            await wait_for(lambda: sender.health().state.value == "ok")
            assert any(c.startswith("AT+CNMI=2,1,0,1") for c in modem.commands)
            modem.status_report(12)
            await wait_for(lambda: sender.health().counters["delivery_report"] == 1)


async def test_impossible_part_numbers_are_counted_and_read_alone(
    sender: GsmSender, modem: FakeModem, inbox: Inbox
) -> None:
    """Pins 3GPP 23.040's rule for a concatenated PDU with part 0 or a part beyond its
    total: the header is ignored, the text handed over on its own (a STOP in it still
    counts), counted `inbound_bad_concat`; it never waits for parts that cannot come."""
    modem.deliver("+15145550100", "STOP", concat=(9, 2, 0))
    modem.deliver("+15145550100", "ARRET", concat=(10, 2, 3))
    await wait_for(lambda: len(inbox.texts) == 2 and not modem.storage)
    assert sorted(t.body for t in inbox.texts) == ["ARRET", "STOP"]
    assert sender.health().counters["inbound_bad_concat"] == 2
