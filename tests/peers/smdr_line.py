"""Fake SMDR peers over real transports: a pty that behaves like a PBX serial port,
a TCP server (the PBX side of `socket://`) and a TCP client (the PBX side of
`listen:`). They send bytes exactly as given, cut into seeded random chunks, and can
drop the link mid-record like a pulled cable. Reusable by end-to-end tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import tty
from pathlib import Path


def chunked(data: bytes, rng: random.Random, largest: int = 64) -> list[bytes]:
    """`data` cut at random places (1..largest bytes per piece), seeded by `rng`."""
    out, at = [], 0
    while at < len(data):
        size = rng.randint(1, largest)
        out.append(data[at : at + size])
        at += size
    return out


def with_endings(lines: list[str], ending: bytes) -> bytes:
    return b"".join(line.encode() + ending for line in lines)


class PtySerialPeer:
    """The PBX end of a serial cable. `path` is a stable symlink (like
    /dev/serial/by-id/...) to the pty slave; `unplug()` closes the pty (the reader
    gets EIO and the path dangles), `replug()` makes a new pty behind the same path."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "usb-PBX_SMDR-if00"
        self._master = -1
        self._slave = -1
        self.replug()

    def replug(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR->NL before pyserial opens it
        os.set_blocking(self._master, False)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.path.symlink_to(os.ttyname(self._slave))

    async def send(self, data: bytes, rng: random.Random | None = None) -> None:
        for piece in chunked(data, rng or random.Random(0)):
            view = memoryview(piece)
            while view:
                try:
                    view = view[os.write(self._master, view) :]
                except BlockingIOError:
                    await asyncio.sleep(0.002)
            await asyncio.sleep(0)

    def unplug(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1

    def close(self) -> None:
        self.unplug()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class TcpServerPeer:
    """A PBX that listens (Mitel, NEC, Panasonic, IP Office in Listen mode): ringback
    connects with `socket://127.0.0.1:<port>`. Keeps what ringback sent (`received`)."""

    def __init__(self) -> None:
        self.port = 0
        self.received = b""
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writer = writer
        self._connected.set()
        with contextlib.suppress(OSError):
            while data := await reader.read(4096):
                self.received += data

    async def wait_connected(self, within: float = 5.0) -> None:
        await asyncio.wait_for(self._connected.wait(), within)

    async def send(self, data: bytes, rng: random.Random | None = None) -> None:
        await self.wait_connected()
        assert self._writer is not None
        for piece in chunked(data, rng or random.Random(0)):
            self._writer.write(piece)
            await self._writer.drain()
            await asyncio.sleep(0)

    async def send_bulk(self, data: bytes) -> None:
        """`data` as fast as the socket takes it (no random cutting)."""
        await self.wait_connected()
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def drop(self) -> None:
        """Pull the cable: close the current connection, accept the next one."""
        self._connected.clear()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None

    async def close(self) -> None:
        await self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class TcpClientPeer:
    """A PBX that connects to ringback (IP Office with an SMDR IP address, 3CX active
    socket): ringback runs with `listen: 127.0.0.1:<port>`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self, within: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            try:
                _, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
                return
            except OSError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.05)

    async def send(self, data: bytes, rng: random.Random | None = None) -> None:
        assert self._writer is not None
        for piece in chunked(data, rng or random.Random(0)):
            self._writer.write(piece)
            await self._writer.drain()
            await asyncio.sleep(0)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
