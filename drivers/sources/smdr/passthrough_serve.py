"""The pass-through outputs that are not a dial-out (that one: passthrough.py):

- `ListenOut`: a socket the call-accounting software connects to. Several clients
  may; each has its own bounded buffer and writer task, so a slow client loses data
  (dropped, counted) while the PBX reading and the other clients go on; one that
  reads nothing for WRITE_TIMEOUT is disconnected.
- `SerialOut`: a serial port (or any pyserial URL) to the accounting PC, written from
  a worker thread (pyserial blocks) with a write timeout; reopened with backoff after
  an error (the cable pulled, the adapter gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn

import serial

from agent.model import Counters
from drivers.sources.smdr.config import SerialSettings, split_host_port
from drivers.sources.smdr.line import reconnect_backoff
from drivers.sources.smdr.outlet import DEFAULT_MAX_BYTES, WRITE_TIMEOUT, Outlet, write_until_eof
from drivers.sources.smdr.reopening import ReopeningOutput

log = logging.getLogger("drivers.sources.smdr")
MAX_CLIENTS = 16
CLIENT_SNDBUF = 64 * 1024  # the kernel's share of a client's buffer stays small too


class ListenOut:
    def __init__(
        self, address: str, counters: Counters, *, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.address = address
        self._host, self._port = split_host_port(address)
        self._counters = counters
        self._max = max_bytes
        self.clients: set[Outlet] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port: int | None = None
        self.dropped_clients = 0
        self.last_error = ""

    def offer(self, data: bytes) -> None:
        for outlet in self.clients:
            outlet.offer(data)

    def details(self) -> dict[str, Any]:
        return {
            "kind": "listen",
            "address": self.address,
            "listening": self.port is not None,
            "clients": len(self.clients),
            "buffered_bytes": sum(o.size for o in self.clients),
            "dropped": sum(o.dropped for o in self.clients),
            "last_error": self.last_error,
        }

    async def run(self) -> NoReturn:
        backoff = reconnect_backoff(60.0)
        while True:
            try:
                server = await asyncio.start_server(self._client, self._host, self._port)
            except OSError as err:
                self.last_error = err.strerror or type(err).__name__
                log.warning(
                    "smdr pass-through cannot listen on %s: %s", self.address, self.last_error
                )
                await asyncio.sleep(backoff.next())
                continue
            self.port = server.sockets[0].getsockname()[1]
            log.info("smdr pass-through: listening on %s", self.address)
            try:
                async with server:
                    await server.serve_forever()
            finally:
                self.port = None
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A client connected: its writer task is owned here (cancelled with `run`)."""
        if len(self.clients) >= MAX_CLIENTS:
            self.last_error = f"more than {MAX_CLIENTS} clients: refused one"
            writer.close()
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CLIENT_SNDBUF)
        task = asyncio.create_task(self._serve(reader, writer), name="smdr-pass-client")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        outlet = Outlet(self._counters, self._max)
        self.clients.add(outlet)
        log.info("smdr pass-through: %s connected", peer[0] if peer else "a client")
        try:
            await write_until_eof(outlet, reader, writer)
        except (OSError, TimeoutError) as err:
            self.dropped_clients += 1
            self.last_error = getattr(err, "strerror", None) or "a client stopped reading"
        finally:
            self.clients.discard(outlet)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class SerialOut(ReopeningOutput):
    kind = "serial"
    errors = (OSError, serial.SerialException)

    def __init__(
        self,
        url: str,
        settings: SerialSettings,
        counters: Counters,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        cap: float = 30.0,
    ) -> None:
        super().__init__(url, counters, max_bytes=max_bytes, cap=cap)
        self.settings = settings

    def describe(self, err: BaseException) -> str:
        return str(err).splitlines()[0][:120] if str(err) else type(err).__name__

    def _open(self) -> Any:
        s = self.settings
        return serial.serial_for_url(
            self.address,
            baudrate=s.baudrate,
            bytesize=s.bytesize,
            parity=s.parity,
            stopbits=s.stopbits,
            xonxoff=s.xonxoff,
            rtscts=s.rtscts,
            write_timeout=WRITE_TIMEOUT,
        )

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smdr-pass-serial")
        try:
            port = await loop.run_in_executor(worker, self._open)
            self._opened("opened")
            try:
                while True:
                    await self.outlet.wait()
                    data = self.outlet.take()
                    await loop.run_in_executor(worker, port.write, data)
            finally:
                await asyncio.shield(loop.run_in_executor(worker, port.close))
        finally:
            worker.shutdown(wait=False)
