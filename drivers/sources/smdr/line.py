"""The SMDR transport: bytes from the PBX, whichever way it is wired.

- `url: /dev/serial/by-id/...` or any pyserial URL (`rfc2217://`, `loop://`): opened
  with `serial.serial_for_url` and read in a worker thread (pyserial is blocking);
- `url: socket://host:port`: ringback connects to the PBX (asyncio, TCP keepalive);
- `listen: host:port`: the PBX connects to ringback (IP Office with an SMDR IP
  address set); each accepted connection is its own stream.

`run_link` never returns: it reconnects with capped exponential backoff when the
cable, the USB adapter or the socket goes away, and keeps `LinkStatus` current for
`health()`. Every stream is numbered; `emit(stream, data)` receives its bytes and
`emit(stream, b"")` when it ends, so the caller can drop a half record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from typing import Any, NoReturn

import serial

from agent.backoff import Backoff, Retries
from agent.model import Counters
from drivers.sources.smdr.config import SerialSettings, SmdrConfig, split_host_port

log = logging.getLogger("drivers.sources.smdr")

Emit = Callable[[int, bytes], Awaitable[None]]
READ_SIZE = 65536
CONNECT_TIMEOUT = 10.0
SERIAL_POLL = 0.2


@dataclass
class LinkStatus:
    """What the link is doing, read by `health()` (mutated only by the link task)."""

    endpoint: str
    state: str = "starting"  # starting | connected | reconnecting | listening
    since: datetime | None = None
    last_error: str = ""
    peers: int = 0
    attempts: int = 0
    last_data_at: datetime | None = None

    def set(self, state: str, error: str = "") -> None:
        self.state, self.since = state, datetime.now(UTC)
        if error:
            self.last_error = error


def reconnect_backoff(cap: float, rng: random.Random | None = None) -> Retries:
    """0.5 s, 1 s, 2 s ... up to `cap`, with 10 % jitter; `reset()` after good data."""
    return Retries(Backoff(0.5, cap, 1.0, 1.1), rng or random.Random())


_streams = count(1)


def endpoint_of(config: SmdrConfig) -> str:
    return config.url if config.url is not None else f"listen {config.listen}"


async def run_link(
    config: SmdrConfig, greeting: bytes | None, emit: Emit, status: LinkStatus, counters: Counters
) -> NoReturn:
    if config.listen is not None:
        await _listen(config, emit, status, counters)
    backoff = reconnect_backoff(config.reconnect_max_seconds)
    url = config.url or ""
    while True:
        status.attempts += 1
        try:
            if url.startswith("socket://"):
                await _tcp_session(url, greeting, emit, status, counters, backoff)
            else:
                await _serial_session(url, config.serial, emit, status, counters, backoff)
            error = "closed by the PBX"
        except (OSError, serial.SerialException, TimeoutError) as err:
            error = _describe(err)
        delay = backoff.next()
        if status.state == "connected":
            counters.inc("disconnects")
        log.warning("smdr %s: %s: %s; retrying in %.1f s", config.name, url, error, delay)
        status.set("reconnecting", error)
        await asyncio.sleep(delay)


def _describe(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "connect timed out"
    return getattr(err, "strerror", None) or str(err) or type(err).__name__


def keepalive(sock: socket.socket | None) -> None:
    """Notice a PBX that vanished without a FIN within about a minute."""
    if sock is None:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


async def _pump(
    reader: asyncio.StreamReader, stream: int, emit: Emit, status: LinkStatus, backoff: Retries
) -> None:
    try:
        while data := await reader.read(READ_SIZE):
            status.last_data_at = datetime.now(UTC)
            backoff.reset()
            await emit(stream, data)
    finally:
        await emit(stream, b"")


async def _tcp_session(
    url: str,
    greeting: bytes | None,
    emit: Emit,
    status: LinkStatus,
    counters: Counters,
    backoff: Retries,
) -> None:
    host, port = split_host_port(url.removeprefix("socket://").split("?")[0].rstrip("/"))
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port), timeout=CONNECT_TIMEOUT
    )
    keepalive(writer.get_extra_info("socket"))
    counters.inc("connects")
    status.set("connected")
    log.info("smdr: connected to %s", url)
    try:
        if greeting:
            writer.write(greeting)
            await writer.drain()
        await _pump(reader, next(_streams), emit, status, backoff)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _open_serial(url: str, settings: SerialSettings) -> Any:
    return serial.serial_for_url(
        url,
        baudrate=settings.baudrate,
        bytesize=settings.bytesize,
        parity=settings.parity,
        stopbits=settings.stopbits,
        xonxoff=settings.xonxoff,
        rtscts=settings.rtscts,
        timeout=SERIAL_POLL,
    )


def _read_some(port: Any) -> bytes:
    first: bytes = port.read(1)
    waiting = port.in_waiting if first else 0
    return first + port.read(waiting) if waiting else first


async def _serial_session(
    url: str,
    settings: SerialSettings,
    emit: Emit,
    status: LinkStatus,
    counters: Counters,
    backoff: Retries,
) -> None:
    loop = asyncio.get_running_loop()
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smdr-serial")
    try:
        port = await loop.run_in_executor(worker, _open_serial, url, settings)
        counters.inc("connects")
        status.set("connected")
        log.info("smdr: opened %s at %d baud", url, settings.baudrate)
        stream = next(_streams)
        try:
            while True:
                data = await loop.run_in_executor(worker, _read_some, port)
                if data:
                    status.last_data_at = datetime.now(UTC)
                    backoff.reset()
                    await emit(stream, data)
        finally:
            with contextlib.suppress(Exception):
                port.cancel_read()
            await emit(stream, b"")
            # the worker runs one job at a time: close waits for a read in flight
            await asyncio.shield(loop.run_in_executor(worker, port.close))
    finally:
        worker.shutdown(wait=False)


async def _listen(
    config: SmdrConfig, emit: Emit, status: LinkStatus, counters: Counters
) -> NoReturn:
    host, port = split_host_port(config.listen or "")
    backoff = reconnect_backoff(config.reconnect_max_seconds)
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        peer = writer.get_extra_info("peername")
        keepalive(writer.get_extra_info("socket"))
        counters.inc("connects")
        status.peers += 1
        log.info("smdr %s: PBX connected from %s", config.name, peer)
        try:
            await _pump(reader, next(_streams), emit, status, backoff)
        except OSError as err:
            log.warning("smdr %s: connection from %s: %s", config.name, peer, _describe(err))
        finally:
            status.peers -= 1
            counters.inc("disconnects")
            handlers.discard(task)
            writer.close()
            log.info("smdr %s: PBX at %s disconnected", config.name, peer)

    try:
        while True:
            try:
                server = await asyncio.start_server(handle, host or None, port)
            except OSError as err:
                status.set("reconnecting", f"cannot listen on {config.listen}: {_describe(err)}")
                log.error("smdr %s: %s", config.name, status.last_error)
                await asyncio.sleep(backoff.next())
                continue
            status.set("listening")
            log.info("smdr %s: listening on %s", config.name, config.listen)
            async with server:
                await server.serve_forever()
    finally:
        for task in list(handlers):
            task.cancel()
        if handlers:
            await asyncio.gather(*handlers, return_exceptions=True)
