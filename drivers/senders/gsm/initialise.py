"""The initialisation sequence (reference §2) and the periodic status refresh.

`initialise()` brings an open channel to "ready to send": ESC + AT probe, echo off,
numeric errors, identity, SIM (the PIN is sent at most once per process when it was
rejected: three wrong PINs lock the SIM), radio on, PDU mode, new-message indications,
registration and signal. It raises `InitFailed`: `device=True` for faults a person must
fix (SIM missing or locked, PIN rejected, no PDU mode), else a transient failure.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from agent.errors import DriverError
from drivers.senders.gsm import state as parse
from drivers.senders.gsm.at import AtChannel, AtTimeout, Response
from drivers.senders.gsm.config import GsmConfig
from drivers.senders.gsm.state import ModemState

log = logging.getLogger(__name__)


class InitFailed(DriverError):
    def __init__(self, reason: str, device: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.device = device


@dataclass(slots=True)
class PinGuard:
    """Remembers a rejected PIN for the life of the process."""

    rejected: bool = False


async def probe(channel: AtChannel, config: GsmConfig, tries: int = 3) -> None:
    """ESC, discard, then `AT` until OK. Raises InitFailed when the modem is silent."""
    await channel.escape(config.quiet_seconds, config.command_timeout_seconds)
    for _ in range(tries):
        try:
            if (await channel.command("AT", config.command_timeout_seconds)).ok:
                return
        except AtTimeout:
            continue
    raise InitFailed("the modem does not answer AT")


async def initialise(
    channel: AtChannel, config: GsmConfig, state: ModemState, guard: PinGuard
) -> None:
    await probe(channel, config)
    wait = config.command_timeout_seconds
    await channel.command("ATE0", wait)
    if not (await channel.command("AT+CMEE=1", wait)).ok:
        log.warning("gsm: modem refuses AT+CMEE=1: errors will be unclassified")
    await _identity(channel, config, state)
    await unlock_sim(channel, config, state, guard)
    await _radio_on(channel, config)
    if not (await channel.command("AT+CMGF=0", wait)).ok:
        raise InitFailed("the modem refuses PDU mode (AT+CMGF=0)", device=True)
    state.delivery_reports = await _indications(channel, config)
    await _smsc(channel, config, state)
    for command in config.extra_init:
        if not (await channel.command(command, wait)).ok:
            log.warning("gsm: extra_init command %s failed", command)
    await refresh(channel, config, state)


async def _identity(channel: AtChannel, config: GsmConfig, state: ModemState) -> None:
    wait = config.command_timeout_seconds
    maker = await channel.command("AT+CGMI", wait)
    model = await channel.command("AT+CGMM", wait)
    revision = await channel.command("AT+CGMR", wait)
    parts = [r.lines[0] for r in (maker, model) if r.ok and r.lines]
    state.model = " ".join(parts)[:60] or None
    state.firmware = revision.lines[0][:60] if revision.ok and revision.lines else None
    log.info("gsm: modem %s firmware %s on %s", state.model, state.firmware, config.port)


async def unlock_sim(
    channel: AtChannel, config: GsmConfig, state: ModemState, guard: PinGuard
) -> None:
    """Until `+CPIN: READY`: a PIN once if asked, SIM busy waited out, faults raised."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + config.sim_timeout_seconds
    while True:
        answer = await channel.command("AT+CPIN?", config.sim_timeout_seconds)
        status = answer.value("+CPIN:") if answer.ok else None
        state.sim = _sim_label(answer, status)
        if status == "READY":
            return
        if status == "SIM PIN":
            await _send_pin(channel, config, guard)
        elif _sim_busy(answer) and loop.time() < deadline:
            await asyncio.sleep(min(1.0, config.sim_timeout_seconds / 5))
            continue
        else:
            raise InitFailed(f"SIM not usable: {state.sim}", device=True)
        if loop.time() > deadline:
            raise InitFailed("SIM still not ready after the PIN")


async def _send_pin(channel: AtChannel, config: GsmConfig, guard: PinGuard) -> None:
    if config.pin is None:
        raise InitFailed("the SIM asks for a PIN and none is configured (pin)", device=True)
    if guard.rejected:
        raise InitFailed("the SIM PIN was rejected; not retried: fix pin, restart", device=True)
    pin = config.pin.get_secret_value()
    result = await channel.command(f'AT+CPIN="{pin}"', config.sim_timeout_seconds, secret=True)
    if not result.ok:
        guard.rejected = True
        log.error("gsm: the SIM refused the PIN (%s); it will not be sent again", result.final)
        raise InitFailed("the SIM PIN was rejected; not retried: fix pin, restart", device=True)
    log.info("gsm: SIM PIN accepted")


def _sim_busy(answer: Response) -> bool:
    return answer.final.kind == "CME" and answer.final.code in (14, 515)


def _sim_label(answer: Response, status: str | None) -> str:
    if status is not None:
        return status.lower().replace(" ", "_")
    return {10: "not_inserted", 13: "failure", 15: "wrong", 14: "busy"}.get(
        answer.final.code or -1, f"error:{answer.final.kind} {answer.final.text}".strip()
    )


async def _radio_on(channel: AtChannel, config: GsmConfig) -> None:
    answer = await channel.command("AT+CFUN?", config.command_timeout_seconds)
    mode = answer.value("+CFUN:")
    if answer.ok and mode is not None and mode.split(",")[0].strip() in ("0", "4"):
        log.warning("gsm: radio is off (CFUN=%s), turning it on", mode)
        await channel.command("AT+CFUN=1", config.sim_timeout_seconds)


async def _indications(channel: AtChannel, config: GsmConfig) -> str:
    """New texts announced (+CMTI); reports routed (`<ds>=1`, +CDS) or, on modems that
    refuse that, stored and announced (`<ds>=2`, +CDSI). Returns how reports come:
    "routed", "stored", "refused" or "off"."""
    wait = config.command_timeout_seconds
    modes = {"1": "routed", "2": "stored"} if config.status_reports else {"0": "off"}
    for ds, how in modes.items():
        if (await channel.command(f"AT+CNMI=2,1,0,{ds},0", wait)).ok:
            return how
    if (await channel.command("AT+CNMI=2,1", wait)).ok:
        if config.status_reports:
            log.warning("gsm: modem refuses delivery reports in AT+CNMI: none will come")
        return "refused" if config.status_reports else "off"
    log.warning("gsm: modem refuses AT+CNMI: replies are found by polling only")
    return "refused" if config.status_reports else "off"


async def _smsc(channel: AtChannel, config: GsmConfig, state: ModemState) -> None:
    if config.smsc:
        state.smsc_known = True
        return
    answer = await channel.command("AT+CSCA?", config.command_timeout_seconds)
    number = parse.operator(answer.value("+CSCA:")) if answer.ok else None
    state.smsc_known = bool(number)
    if not number:
        log.warning("gsm: no SMS centre on the SIM: set smsc (sending fails with CMS 330)")


async def refresh(channel: AtChannel, config: GsmConfig, state: ModemState) -> None:
    """Registration (CREG, CGREG, CEREG: unknown ones are ignored), signal, operator."""
    wait = config.command_timeout_seconds
    stats = []
    for name in ("CREG", "CGREG", "CEREG"):
        answer = await channel.command(f"AT+{name}?", wait)
        stats.append(parse.registration_stat(answer.value(f"+{name}:")) if answer.ok else None)
    update_registration(state, parse.best_registration(stats))
    csq = await channel.command("AT+CSQ", wait)
    state.csq, state.rssi_dbm = parse.signal(csq.value("+CSQ:"))
    cops = await channel.command("AT+COPS?", wait)
    state.operator = parse.operator(cops.value("+COPS:")) if cops.ok else None


def update_registration(state: ModemState, stat: int | None) -> None:
    was = state.registration
    state.registration = parse.REGISTRATION.get(stat, "unknown") if stat is not None else None
    state.registered = stat in parse.REGISTERED
    if state.registration != was:
        level = logging.ERROR if stat == 3 else logging.INFO
        log.log(level, "gsm: network registration %s -> %s", was, state.registration)
