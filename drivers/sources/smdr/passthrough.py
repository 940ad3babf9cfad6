"""Pass-through: every raw byte from the PBX, unchanged, to the dealership's call
accounting, which often read that one SMDR output before ringback took it.

Three ways out, any of them at once: `pass_through: host:port` (ringback connects to
the consumer and reconnects), `pass_through_listen: host:port` (the consumer connects
to ringback; several may, each gets every byte from its connection on) and
`pass_through_serial: URL` (a serial port or any pyserial URL, wired to the
accounting PC). A consumer can never slow or stop ingestion: `offer()` only appends
to each output's bounded buffer (`Outlet`, outlet.py; beyond it new data is dropped
and counted as `pass_through_dropped`), and each output has its own task that writes,
and reconnects or reopens after a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, NoReturn, Protocol

from agent.model import Counters
from drivers.sources.smdr.config import SmdrConfig, split_host_port
from drivers.sources.smdr.line import CONNECT_TIMEOUT, keepalive
from drivers.sources.smdr.outlet import DEFAULT_MAX_BYTES, write_until_eof
from drivers.sources.smdr.passthrough_serve import ListenOut, SerialOut
from drivers.sources.smdr.reopening import ReopeningOutput

log = logging.getLogger("drivers.sources.smdr")


class Output(Protocol):
    """One way out. `offer` never blocks or raises; `run` runs until cancelled."""

    def offer(self, data: bytes) -> None: ...

    async def run(self) -> NoReturn: ...

    def details(self) -> dict[str, Any]: ...


class DialOut(ReopeningOutput):
    """ringback connects to the consumer at `address` and reconnects with backoff."""

    kind = "connect"
    errors = (OSError, TimeoutError)

    def __init__(
        self,
        address: str,
        counters: Counters,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        cap: float = 30.0,
    ) -> None:
        super().__init__(address, counters, max_bytes=max_bytes, cap=cap)
        self._host, self._port = split_host_port(address)

    async def _session(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self._host, self._port), timeout=CONNECT_TIMEOUT
        )
        keepalive(writer.get_extra_info("socket"))
        self._opened("connected to")
        try:
            await write_until_eof(self.outlet, reader, writer)
            self.last_error = "closed by the consumer"
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class PassThrough:
    """Every configured output of one SMDR source, fed by `offer()`."""

    def __init__(self, outputs: list[Output]) -> None:
        self.outputs = outputs

    def offer(self, data: bytes) -> None:
        for output in self.outputs:
            output.offer(data)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for index, output in enumerate(self.outputs):
                group.create_task(output.run(), name=f"smdr-pass-{index}")

    def details(self) -> list[dict[str, Any]]:
        return [output.details() for output in self.outputs]


def pass_through_of(config: SmdrConfig, counters: Counters) -> PassThrough | None:
    """The source's pass-through, or None when no output is configured."""
    outputs: list[Output] = []
    if config.pass_through:
        outputs.append(DialOut(config.pass_through, counters, cap=config.reconnect_max_seconds))
    if config.pass_through_listen:
        outputs.append(ListenOut(config.pass_through_listen, counters))
    if config.pass_through_serial:
        outputs.append(
            SerialOut(
                config.pass_through_serial,
                config.pass_through_serial_settings,
                counters,
                cap=config.reconnect_max_seconds,
            )
        )
    return PassThrough(outputs) if outputs else None
