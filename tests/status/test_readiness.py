"""Readiness against the real daemon and the fake AMI server: it follows the PBX
link, liveness does not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.e2e.daemon import DaemonProcess, free_port
from tests.peers.ami_server import FakeAmiServer
from tests.status.helpers import asterisk_pbx, auth, write_config

pytestmark = pytest.mark.slow


async def _until_status(http: httpx.AsyncClient, path: str, code: int) -> httpx.Response:
    """Poll without blocking the loop the fake AMI server runs on."""
    async with asyncio.timeout(20):
        while True:
            response = await http.get(path, headers=auth())
            if response.status_code == code:
                return response
            await asyncio.sleep(0.05)


async def test_readiness_follows_the_pbx_link_and_liveness_does_not(tmp_path: Path) -> None:
    """Ready (200, every verbose line [+]) once the AMI login succeeds; when the
    Asterisk peer goes away, /readyz is 503 naming the pbx check, /readyz/pbx 503,
    /readyz/sender still 200 and /livez still 200; when it comes back on the same
    port the daemon reconnects by itself and is ready again."""
    ami_port = free_port()
    config, port = write_config(tmp_path, asterisk_pbx(ami_port))
    server = await FakeAmiServer(port=ami_port).start()
    with DaemonProcess(config, port, None) as daemon:
        await asyncio.to_thread(daemon.wait_ready)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            ready = await _until_status(http, "/readyz?verbose", 200)
            assert ready.text.splitlines() == [
                "[+]config ok",
                "[+]database ok",
                "[+]pbx ok",
                "[+]sender ok",
            ]
            await server.close()
            down = await _until_status(http, "/readyz?verbose", 503)
            assert "[-]pbx failed: no PBX source connected" in down.text
            assert "[+]sender ok" in down.text
            assert (await http.get("/readyz/pbx", headers=auth())).status_code == 503
            assert (await http.get("/readyz/sender", headers=auth())).status_code == 200
            assert (await http.get("/livez")).status_code == 200
            status = (await http.get("/v1/status", headers=auth())).json()
            assert status["pbx"]["main"]["state"] == "down"
            assert status["health"] == {
                "live": True,
                "ready": False,
                "checks": {
                    "config": "ok",
                    "database": "ok",
                    "pbx": "no PBX source connected",
                    "sender": "ok",
                },
            }

            server = await FakeAmiServer(port=ami_port).start()
            await _until_status(http, "/readyz", 200)
            metrics = (await http.get("/metrics", headers=auth())).text
            assert 'ringback_pbx_connected{pbx="main"} 1' in metrics
            assert 'ringback_pbx_reconnects_total{pbx="main"}' in metrics
        await server.close()
    assert "s3cret" not in daemon.output()
