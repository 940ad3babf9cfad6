"""Hostile and clumsy clients against the real daemon: slow senders, oversized
requests and a crowd of concurrent clients get bounded answers while the daemon keeps
taking calls and serving everyone else."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import httpx
import pytest

from tests.e2e.daemon import DaemonProcess
from tests.status.helpers import TOKEN, auth, calls_file, replay_pbx, write_config

pytestmark = pytest.mark.slow

CALLS = 30


def _raw(port: int, data: bytes) -> bytes:
    """Send raw bytes, read the answer until the server closes or 2 s of silence."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks):
                    break
        return b"".join(chunks)


async def test_slow_oversized_and_concurrent_clients(tmp_path: Path) -> None:
    """With 50 connections that sent half a request line and stall: an oversized
    header line or request line is refused with a 4xx, a 2 KB query string with 400, a limit of
    10**9 with 400; 200 requests from 40 concurrent clients all get 200; and the
    daemon meanwhile stores every replayed call (no gap in /v1/calls) and stays live.
    The malformed requests are counted and logged without a traceback, and at most
    one line a minute however many come (the journal cannot be flooded)."""
    config, port = write_config(tmp_path, replay_pbx(calls_file(tmp_path, CALLS), speed=10))
    stalled: list[socket.socket] = []
    with DaemonProcess(config, port, TOKEN) as daemon:
        await asyncio.to_thread(daemon.wait_ready)
        try:
            for _ in range(50):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(b"GET /v1/status HT")
                stalled.append(sock)
            header = f"GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 100_000}\r\n\r\n"
            answer = await asyncio.to_thread(_raw, port, header.encode())
            assert answer.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), answer[:40]
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                timeout=10,
                limits=httpx.Limits(max_connections=40),
                headers=auth(),
            ) as http:
                line = f"GET /v1/calls?cursor={'a' * 100_000} HTTP/1.1\r\nHost: x\r\n\r\n"
                answer = await asyncio.to_thread(_raw, port, line.encode())
                assert answer.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), answer[:40]
                query = await http.get("/v1/calls", params={"cursor": "a" * 2000})
                assert query.status_code == 400
                huge = await http.get("/v1/calls", params={"limit": str(10**9)})
                assert huge.status_code == 400
                paths = ["/v1/status", "/metrics", "/v1/calls?limit=500", "/readyz", "/livez"]
                answers = await asyncio.gather(
                    *(http.get(paths[i % len(paths)]) for i in range(200))
                )
                assert [r.status_code for r in answers] == [200] * 200
                async with asyncio.timeout(30):
                    while True:
                        page = (await http.get("/v1/calls", params={"limit": 500})).json()
                        if len(page["items"]) == CALLS:
                            break
                        await asyncio.sleep(0.1)
                ids = [c["id"] for c in page["items"]]
                assert ids == sorted(set(ids))
                assert (await http.get("/livez")).status_code == 200
                for _ in range(20):  # a flood of malformed requests
                    answer = await asyncio.to_thread(_raw, port, header.encode())
                    assert answer.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), answer[:40]
                metrics = (await http.get("/metrics")).text
                assert 'ringback_status_api_rejected_total{reason="bad_request"} 23' in metrics
        finally:
            for sock in stalled:
                sock.close()
    assert "Traceback" not in daemon.output()
    assert daemon.output().count("bad HTTP request refused") == 1
