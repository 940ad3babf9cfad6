"""Faults at start and during service: SIM, network, silent or vanished modem."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import SecretStr

from agent.model import OutgoingText, RetryLater, Sent
from drivers.base import SenderContext
from drivers.senders.gsm.sender import GsmSender
from tests.drivers.gsm.conftest import make_config, wait_for
from tests.peers.modem import Behaviour, FakeModem

TEXT = OutgoingText(1, "+14185550142", "Merci de votre appel")


def state(sender: GsmSender) -> str:
    return sender.health().state.value


async def test_wrong_pin_is_never_retried(tmp_path: Path, context: SenderContext) -> None:
    """A rejected PIN is sent once only, even across re-initialisations: fault, alert,
    RetryLater (queue kept)."""
    with FakeModem(tmp_path) as modem:
        config = make_config(modem.path, pin=SecretStr("0000"))
        async with GsmSender(config, context) as sender:
            await wait_for(lambda: state(sender) == "down")
            await asyncio.sleep(1.0)  # several device_fault_retry periods
            assert modem.pin_attempts == 1
            assert "PIN" in sender.health().summary
            assert isinstance(await sender.send(TEXT), RetryLater)


async def test_sim_locked_without_pin_or_absent(tmp_path: Path, context: SenderContext) -> None:
    """No PIN configured for a locked SIM, or no SIM: DOWN with the reason, no PIN sent."""
    with FakeModem(tmp_path) as modem:
        async with GsmSender(make_config(modem.path, pin=None), context) as sender:
            await wait_for(lambda: "none is configured" in sender.health().summary)
        assert modem.pin_attempts == 0
        modem.behaviour.sim = "absent"
        async with GsmSender(make_config(modem.path), context) as sender:
            await wait_for(lambda: "not_inserted" in sender.health().summary)


async def test_no_network_then_registered(tmp_path: Path, context: SenderContext) -> None:
    """Not registered: DOWN and RetryLater; once the network comes, the health poll
    sees it and the text goes."""
    with FakeModem(tmp_path, Behaviour(registration=2)) as modem:
        async with GsmSender(make_config(modem.path), context) as sender:
            await wait_for(
                lambda: (
                    sender.health().details.get("registration") == "searching"
                    and state(sender) != "starting"
                )
            )
            assert state(sender) == "down"
            result = await sender.send(TEXT)
            assert isinstance(result, RetryLater) and not result.ambiguous
            modem.behaviour.registration = 1
            await wait_for(lambda: state(sender) == "ok")
            assert isinstance(await sender.send(TEXT), Sent)


async def test_lte_only_and_radio_off(tmp_path: Path, context: SenderContext) -> None:
    """A modem booting in airplane mode (CFUN 4) is turned on; registration reported
    only by +CEREG (CREG/CGREG 0) counts."""
    with FakeModem(tmp_path, Behaviour(cfun=4, lte_only=True)) as modem:
        async with GsmSender(make_config(modem.path), context) as sender:
            await wait_for(lambda: state(sender) == "ok")
            assert "AT+CFUN=1" in modem.commands


async def test_absent_at_start_then_plugged(tmp_path: Path, context: SenderContext) -> None:
    """Entering with no modem does not fail: DOWN 'port missing', RetryLater; the modem
    plugged later is picked up without restarting."""
    modem = FakeModem(tmp_path)
    async with GsmSender(make_config(modem.path), context) as sender:
        await wait_for(lambda: "port missing" in sender.health().summary)
        assert isinstance(await sender.send(TEXT), RetryLater)
        with modem:
            await wait_for(lambda: state(sender) == "ok")
            assert isinstance(await sender.send(TEXT), Sent)


async def test_unplug_and_replug(modem: FakeModem, context: SenderContext) -> None:
    """A USB modem unplugged (tty hangs up, by-id name gone) and plugged back is
    reopened and fully re-initialised (PIN again) without restarting ringback."""
    async with GsmSender(make_config(modem.path), context) as sender:
        await wait_for(lambda: state(sender) == "ok")
        modem.unplug()
        await wait_for(lambda: state(sender) == "down")
        assert isinstance(await sender.send(TEXT), RetryLater)
        assert sender.health().counters["port_lost"] == 1
        modem.plug()
        await wait_for(lambda: state(sender) == "ok")
        assert modem.pin_attempts == 2
        assert isinstance(await sender.send(TEXT), Sent)


async def test_silent_modem_is_reopened(modem: FakeModem, context: SenderContext) -> None:
    """A modem that stops answering: the send answers RetryLater (not ambiguous: no
    prompt, no PDU), the port is reopened and re-initialised once it answers again."""
    async with GsmSender(make_config(modem.path), context) as sender:
        await wait_for(lambda: state(sender) == "ok")
        modem.behaviour.mute = True
        result = await sender.send(TEXT)
        assert isinstance(result, RetryLater) and not result.ambiguous
        await wait_for(lambda: state(sender) != "ok")
        modem.behaviour.mute = False
        await wait_for(lambda: state(sender) == "ok")
        assert isinstance(await sender.send(TEXT), Sent)


async def test_modem_restart_urc_triggers_reinit(modem: FakeModem, context: SenderContext) -> None:
    """'RDY' / '+CPIN: SIM PIN' from a modem that rebooted under us: re-initialised."""
    async with GsmSender(make_config(modem.path), context) as sender:
        await wait_for(lambda: state(sender) == "ok")
        modem.pin_ok = False
        modem.echo = True
        modem.inject("RDY")
        await wait_for(lambda: sender.health().counters["reinit"] == 1)
        await wait_for(lambda: state(sender) == "ok")
        assert modem.pin_attempts == 2
        assert isinstance(await sender.send(TEXT), Sent)


async def test_exit_leaves_nothing_running(modem: FakeModem, context: SenderContext) -> None:
    """After __aexit__ the supervisor task is gone and the port is free (exclusive
    open works again)."""
    before = {t for t in asyncio.all_tasks()}
    async with GsmSender(make_config(modem.path), context) as sender:
        await wait_for(lambda: state(sender) == "ok")
    assert {t for t in asyncio.all_tasks()} == before
    async with GsmSender(make_config(modem.path), context) as again:
        await wait_for(lambda: state(again) == "ok")
