"""SMDR pass-through beyond the dial-out: a listening socket several call-accounting
clients connect to (a slow one never stalls the PBX reading nor the others) and a
serial output, over real sockets and a pty."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import tty

from drivers.base import SiteContext
from drivers.sources.smdr.passthrough_serve import ListenOut, SerialOut
from drivers.sources.smdr.source import SmdrSource
from tests.drivers.smdr.helpers import config, fixture_bytes
from tests.drivers.smdr.test_source import AVAYA_CALLS, running, take, until
from tests.peers.smdr_line import TcpServerPeer, free_port


class Client:
    """The accounting software connected to ringback's pass-through socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received = b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()

    async def read_all(self) -> None:
        while data := await self.reader.read(65536):
            self.received += data


async def _connect(port: int, *, rcvbuf: int | None = None) -> Client:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return Client(*await asyncio.open_connection(sock=sock))


def _listen_out(source: SmdrSource) -> ListenOut:
    assert source._pass is not None
    out = source._pass.outputs[0]
    assert isinstance(out, ListenOut)
    return out


async def test_listening_socket_serves_every_byte_to_each_client(site: SiteContext) -> None:
    """Two clients connected to pass_through_listen each receive exactly the bytes
    the PBX sent, while the calls are read as usual."""
    pbx = TcpServerPeer()
    await pbx.start()
    port = free_port()
    source = SmdrSource(
        config("avaya_ipoffice", url=pbx.url, pass_through_listen=f"127.0.0.1:{port}"), site
    )
    data = fixture_bytes("avaya-ipoffice")
    async with running(source) as calls:
        await until(lambda: _listen_out(source).port is not None)
        clients = [await _connect(port), await _connect(port)]
        readers = [asyncio.create_task(c.read_all()) for c in clients]
        await until(lambda: len(_listen_out(source).clients) == 2)
        await pbx.send(data, random.Random(2))
        await take(calls, AVAYA_CALLS)
        await until(lambda: all(c.received == data for c in clients))
        details = source.health().details["pass_through"]
        assert details[0]["clients"] == 2  # type: ignore[index]
        for client in clients:
            await client.close()
        await until(lambda: not _listen_out(source).clients)
        for task in readers:
            task.cancel()
    await pbx.close()


async def test_a_slow_client_loses_data_but_stalls_nothing(site: SiteContext) -> None:
    """A client that never reads: its bounded buffer fills and the overflow is
    dropped and counted, while every call is still read and a reading client still
    gets every byte."""
    pbx = TcpServerPeer()
    await pbx.start()
    port = free_port()
    source = SmdrSource(
        config("avaya_ipoffice", url=pbx.url, pass_through_listen=f"127.0.0.1:{port}"), site
    )
    listen = _listen_out(source)
    listen._max = 256 * 1024
    data = fixture_bytes("avaya-ipoffice")
    copies = 700  # ~1 MB: past the stuck client's socket buffers and its own 256 KiB
    async with running(source) as calls:
        await until(lambda: listen.port is not None)
        stuck = await _connect(port, rcvbuf=4096)
        reader = await _connect(port)
        reading = asyncio.create_task(reader.read_all())
        await until(lambda: len(listen.clients) == 2)
        batch = data * 50
        for sent in range(1, copies // 50 + 1):  # in bursts the reading client keeps up with
            await pbx.send_bulk(batch)
            await until(lambda n=sent: len(reader.received) >= len(batch) * n, within=30)
        got = await take(calls, AVAYA_CALLS * copies, within=30)
        assert len(got) == AVAYA_CALLS * copies
        assert reader.received == data * copies
        health = source.health()
        assert health.counters["pass_through_dropped"] > 0
        assert health.details["pass_through"][0]["dropped"] > 0  # type: ignore[index]
        reading.cancel()
        for client in (stuck, reader):
            await client.close()
    await pbx.close()


async def test_serial_output_gets_every_byte_on_a_pty(site: SiteContext) -> None:
    """pass_through_serial: the accounting PC's end of a serial cable (a pty) reads
    exactly the bytes the PBX sent."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    pbx = TcpServerPeer()
    await pbx.start()
    cfg = config(
        "avaya_ipoffice",
        url=pbx.url,
        pass_through_serial=os.ttyname(slave),
        pass_through_serial_settings={"baudrate": 19200},
    )
    source = SmdrSource(cfg, site)
    data = fixture_bytes("avaya-ipoffice")
    received = bytearray()

    def drain() -> bool:
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(master, 65536):
                received.extend(chunk)
        return bytes(received) == data

    try:
        async with running(source) as calls:
            serial_out = source._pass.outputs[0]  # type: ignore[union-attr]
            assert isinstance(serial_out, SerialOut)
            await until(lambda: serial_out.connected)
            await pbx.send(data, random.Random(3))
            await take(calls, AVAYA_CALLS)
            await until(drain)
            details = source.health().details["pass_through"]
            assert details[0]["kind"] == "serial"  # type: ignore[index]
    finally:
        os.close(master)
        os.close(slave)
        await pbx.close()
