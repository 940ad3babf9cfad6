"""`ringback doctor` for an `smdr` source: open the link the way the source does
(`run_link`: serial device, `socket://` or `listen`) and wait for one line.

A PBX sends an SMDR record only when a call ends, so a quiet line is not proof of a
fault; the check waits `limit` seconds (make a test call meanwhile) and says which
side to look at. While ringback runs, a serial device is locked and a listening port
taken: the check says so instead of fighting the service for them.
"""

from __future__ import annotations

import asyncio
import contextlib

from agent.model import Counters
from drivers.base import DoctorResult, SiteContext
from drivers.sources.smdr.config import SmdrConfig
from drivers.sources.smdr.line import LinkStatus, endpoint_of, run_link


async def check(config: SmdrConfig, site: SiteContext, limit: float) -> DoctorResult:
    endpoint = endpoint_of(config)
    status = LinkStatus(endpoint)
    first_line = asyncio.Event()
    received = bytearray()

    async def emit(stream: int, data: bytes) -> None:
        received.extend(data)
        if b"\n" in received or b"\r" in received:
            first_line.set()

    link = asyncio.create_task(
        run_link(config, None, emit, status, Counters("connects", "disconnects")),
        name=f"doctor-smdr-{config.name}",
    )
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit):
                await first_line.wait()
    finally:
        link.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await link
    if first_line.is_set():
        return DoctorResult(True, f"{endpoint}: {status.state}, an SMDR record arrived")
    return _silent(config, endpoint, status, limit, bool(received))


def _silent(
    config: SmdrConfig, endpoint: str, status: LinkStatus, limit: float, partial: bool
) -> DoctorResult:
    if status.state in ("connected", "listening") or status.peers:
        what = "bytes but no complete record" if partial else "no record"
        peer = " (the PBX has not connected)" if config.listen and not status.peers else ""
        return DoctorResult(
            False,
            f"{endpoint}: {status.state}{peer}, {what} within {limit:.0f}s",
            "make a test call during the check; else enable SMDR output on the PBX and point "
            "it here (IP Office: System > CDR/SMDR; Mitel/NEC/Panasonic: the SMDR port), "
            "and check the serial speed and cable",
        )
    error = status.last_error or "not opened"
    hint = "check `url`/`listen` of this source, the cable or the network"
    if "busy" in error.lower() or "in use" in error.lower() or "lock" in error.lower():
        hint = "ringback (or another program) holds it: stop the service to test it"
    return DoctorResult(False, f"{endpoint}: cannot open ({error})", hint)
