"""The modem sender against the simulated modem on a pty (real serial transport)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from io import StringIO
from pathlib import Path

from smspdudecoder.fields import SMSSubmit  # type: ignore[import-untyped]

from agent.model import OutgoingText, Rejected, RetryLater, Sent
from drivers.base import SenderContext
from drivers.senders.gsm.pdu_decode import decode_submit
from drivers.senders.gsm.sender import GsmSender
from tests.drivers.gsm.conftest import make_config, wait_for
from tests.peers.modem import Behaviour, FakeModem

LONG = "Bonjour! Nous avons manqué votre appel au service des ventes. " * 4


def text(body: str = "Merci de votre appel", message_id: int = 1, attempt: int = 1) -> OutgoingText:
    return OutgoingText(message_id, "+14185550142", body, attempt)


async def test_boot_echo_pin_and_health(sender: GsmSender, modem: FakeModem) -> None:
    """A modem booting with echo on and a locked SIM ends ready: ESC+AT probe, ATE0,
    CMEE, the PIN sent once, PDU mode; health carries model, SIM, network, signal."""
    assert modem.pin_attempts == 1
    assert modem.commands.index("ATE0") < modem.commands.index("AT+CPIN=*")
    assert "AT+CMGF=0" in modem.commands
    details = sender.health().details
    assert details["model"] == "Quectel EC25"
    assert details["sim"] == "ready"
    assert details["registration"] == "home"
    assert details["operator"] == "Rogers"
    assert (details["signal_csq"], details["rssi_dbm"]) == (21, -71)
    assert "8642" not in repr(sender.health())


async def test_multipart_send_decodes_with_both_decoders(
    sender: GsmSender, modem: FakeModem
) -> None:
    """A long UCS-2-free text goes as consecutive AT+CMGS parts sharing one reference;
    each PDU decodes with smspdudecoder and our decoder to the original text."""
    result = await sender.send(text(LONG))
    assert result == Sent("gsm:12,13")
    ours = [decode_submit(s.hex) for s in modem.received]
    assert "".join(d.text for d in ours) == LONG
    assert len({d.concat.reference for d in ours if d.concat}) == 1
    assert all(d.concat is not None for d in ours)
    for sub in modem.received:
        independent = SMSSubmit.decode(StringIO(sub.hex))
        assert independent["recipient"]["number"] == "14185550142"
        assert independent["user_data"]["data"] in LONG
    assert sender.health().details["last_success_at"] is not None


async def test_retry_resends_only_missing_parts(sender: GsmSender, modem: FakeModem) -> None:
    """Part 2 refused with a temporary error (CMS 42): RetryLater with a resume token
    (part 1 left, so only this sender may finish the text; not ambiguous: what left is
    known); the retry sends only part 2 with the same reference and total."""
    modem.behaviour.outcomes = ["ok", 42]
    first = await sender.send(text(LONG))
    assert isinstance(first, RetryLater) and not first.ambiguous and "42" in first.reason
    assert first.resume is not None and first.resume.endswith(":12,-")
    second = await sender.send(text(LONG, attempt=2))
    assert second == Sent("gsm:12,13")
    parts = [decode_submit(s.hex) for s in modem.received]
    assert [(p.concat.seq, p.concat.total) for p in parts if p.concat] == [(1, 2), (2, 2)]
    first_ref = parts[0].concat.reference if parts[0].concat else None
    assert parts[1].concat is not None and parts[1].concat.reference == first_ref


async def test_resume_token_survives_a_restart(modem: FakeModem, context: SenderContext) -> None:
    """After a restart (a new sender, no memory of the text), the resume token the
    outbox kept makes the modem send only the missing part, with the reference and
    total of the first attempt."""
    modem.behaviour.outcomes = ["ok", 42]
    async with GsmSender(make_config(modem.path), context) as before:
        await wait_for(lambda: before.health().state.value == "ok")
        first = await before.send(text(LONG))
    assert isinstance(first, RetryLater) and first.resume is not None
    async with GsmSender(make_config(modem.path), context) as after:
        await wait_for(lambda: after.health().state.value == "ok")
        resumed = await after.send(replace(text(LONG, attempt=2), resume=first.resume))
    assert isinstance(resumed, Sent) and resumed.provider_id.startswith("gsm:12,")
    parts = [decode_submit(s.hex) for s in modem.received]
    assert [p.concat.seq for p in parts if p.concat] == [1, 2]
    assert len({p.concat.reference for p in parts if p.concat}) == 1


async def test_cms_permanent_error_rejects(sender: GsmSender, modem: FakeModem) -> None:
    """+CMS ERROR: 1 (unassigned number) is Rejected, and the next text goes normally."""
    modem.behaviour.outcomes = [1]
    result = await sender.send(text())
    assert isinstance(result, Rejected) and "unassigned" in result.reason
    assert isinstance(await sender.send(text(message_id=2)), Sent)


async def test_device_fault_stops_then_recovers(sender: GsmSender, modem: FakeModem) -> None:
    """+CMS ERROR: 330 (no SMSC) stops the modem: RetryLater (queue kept), health DOWN
    with the fault; after device_fault_retry it is re-initialised and sends again."""
    modem.behaviour.outcomes = [330]
    result = await sender.send(text())
    assert isinstance(result, RetryLater) and not result.ambiguous
    await wait_for(lambda: sender.health().state.value == "down")
    assert "SMSC" in sender.health().summary
    refused = await sender.send(text(message_id=2))
    assert isinstance(refused, RetryLater)
    await wait_for(lambda: sender.health().state.value == "ok")
    assert isinstance(await sender.send(text(message_id=3)), Sent)


async def test_silence_after_ctrl_z_is_ambiguous(sender: GsmSender, modem: FakeModem) -> None:
    """No answer after the PDU: RetryLater(ambiguous=True), never 'failed'; the modem
    is probed and re-initialised, and the next text goes."""
    modem.behaviour.outcomes = ["silence"]
    result = await sender.send(text())
    assert isinstance(result, RetryLater) and result.ambiguous
    assert len(modem.received) == 1
    await wait_for(lambda: sender.health().counters["reinit"] >= 1)
    await wait_for(lambda: sender.health().state.value == "ok")
    assert isinstance(await sender.send(text(message_id=2)), Sent)


async def test_urcs_between_command_and_answer(sender: GsmSender, modem: FakeModem) -> None:
    """URCs (RING, ^RSSI) arriving between every command and its answer are sorted out."""
    modem.behaviour.urc_before_answer = "^RSSI: 9"
    assert isinstance(await sender.send(text()), Sent)
    assert sender.health().details["signal_csq"] == 9
    modem.behaviour.urc_before_answer = "RING"
    assert isinstance(await sender.send(text(message_id=2)), Sent)


async def test_prompt_without_space_and_slow_answers(
    tmp_path: Path, context: SenderContext
) -> None:
    """A '>' + CRLF prompt (SIM7670) and 50 ms answers still send."""
    with FakeModem(tmp_path, Behaviour(prompt=b">\r\n", answer_delay=0.05)) as modem:
        async with GsmSender(make_config(modem.path, command_timeout_seconds=1), context) as s:
            await wait_for(lambda: s.health().state.value == "ok")
            assert isinstance(await s.send(text()), Sent)


async def test_garbage_and_unexpected_lines(modem: FakeModem, context: SenderContext) -> None:
    """Line noise and text while no command is pending are counted and dropped;
    sending goes on. (Polls are slowed so that nothing is pending.)"""
    config = make_config(modem.path, health_poll_seconds=60, inbox_poll_seconds=60)
    async with GsmSender(config, context) as sender:
        await wait_for(lambda: sender.health().state.value == "ok")
        await asyncio.sleep(0.1)
        modem.write_raw(b"\r\n\xff\xfe\x01noise\r\n")
        modem.inject("HELLO FROM NOWHERE")
        await wait_for(lambda: sender.health().counters["unexpected_line"] == 1)
        assert sender.health().counters["garbled_line"] == 1
        assert isinstance(await sender.send(text()), Sent)


async def test_invalid_number_and_too_long(sender: GsmSender) -> None:
    """A non-number is Rejected; a text beyond max_parts is Rejected (cost guard)."""
    bad = OutgoingText(1, "+1 418 CALL-ME", "hi")
    assert isinstance(await sender.send(bad), Rejected)
    assert isinstance(await sender.send(text("x" * 2000, message_id=2)), Rejected)
