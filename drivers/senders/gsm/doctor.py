"""`ringback doctor` for a `gsm` sender: open the modem's port with the driver's own
layers (SerialPort, AtChannel) and read what sending needs: the modem answers, the
SIM is there and unlocked (or a PIN is configured for it), the network registration
and the signal.

The PIN is never sent from here: three wrong PINs lock a SIM, and the service already
sends it once. While ringback runs, the port is locked by the service: the check says
so (read `ringback status` instead).
"""

from __future__ import annotations

import asyncio
import functools

from agent.model import Counters
from drivers.base import DoctorResult, SiteContext
from drivers.senders.gsm.at import AtChannel, AtError, Urc
from drivers.senders.gsm.config import GsmConfig
from drivers.senders.gsm.initialise import InitFailed, probe, refresh
from drivers.senders.gsm.port import PortError, SerialPort
from drivers.senders.gsm.state import ModemState

_SIM_HINTS = {
    "not_inserted": "insert the SIM (power the modem off first) and check it sits right",
    "sim_puk": "the SIM is PUK-locked: unlock it in a phone with the operator's PUK",
    "failure": "the SIM is faulty or dirty: reseat it, or ask the operator for a new one",
}


async def check(config: GsmConfig, site: SiteContext, limit: float) -> DoctorResult:
    channel = AtChannel(_ignore_urc, Counters())
    try:
        channel.attach(functools.partial(SerialPort, config.port, config.baudrate, config.rtscts))
    except PortError as err:
        hint = "plug the modem in and use its /dev/serial/by-id/ name as `port`"
        if "busy" in str(err):
            hint = "the running service holds the port: read `ringback status` instead"
        return DoctorResult(False, f"modem: {err}", hint)
    try:
        async with asyncio.timeout(limit):
            return await _inspect(channel, config)
    except (TimeoutError, AtError, InitFailed) as err:
        return DoctorResult(
            False,
            f"modem on {config.port}: no usable answer ({err or 'timed out'})",
            "power-cycle the modem; check that `port` is its AT interface (if00/if02...), "
            "not its data or GPS port",
        )
    finally:
        channel.close()


async def _inspect(channel: AtChannel, config: GsmConfig) -> DoctorResult:
    await probe(channel, config)
    wait = config.command_timeout_seconds
    await channel.command("ATE0", wait)
    await channel.command("AT+CMEE=1", wait)
    answer = await channel.command("AT+CPIN?", config.sim_timeout_seconds)
    status = answer.value("+CPIN:") if answer.ok else None
    sim = (status or _sim_error(answer.final.code)).lower().replace(" ", "_")
    where = f"modem on {config.port}"
    if status == "SIM PIN" and config.pin is None:
        return DoctorResult(
            False, f"{where}: the SIM asks for a PIN", "set the credential <name>.pin (pin_file)"
        )
    if status not in ("READY", "SIM PIN"):
        return DoctorResult(
            False, f"{where}: SIM {sim}", _SIM_HINTS.get(sim, "reseat or replace the SIM")
        )
    state = ModemState(port=str(config.port))
    await refresh(channel, config, state)
    if status == "SIM PIN":
        sim = "waiting for its PIN (the service enters the configured one)"
    facts = f"SIM {sim}, registration {state.registration}, {state.operator or 'no operator'}"
    signal = f"signal {state.rssi_dbm} dBm (CSQ {state.csq})" if state.csq else "no signal"
    if status == "READY" and not state.registered:
        return DoctorResult(
            False,
            f"{where}: {facts}, {signal}",
            "not registered: check the antenna, that the plan allows SMS, and that the modem "
            "supports the operator's network (an LTE-only plan needs an LTE modem)",
        )
    if state.csq is not None and state.csq < 8:
        return DoctorResult(
            False, f"{where}: {facts}, {signal}", "weak signal: move the antenna or the modem"
        )
    return DoctorResult(True, f"{where}: {facts}, {signal}")


def _sim_error(code: int | None) -> str:
    return {10: "not inserted", 11: "sim_pin", 12: "sim_puk", 13: "failure", 14: "busy"}.get(
        code or -1, f"error {code}"
    )


def _ignore_urc(urc: Urc) -> None:
    return None
