"""Every HTTPS client of the daemon shares one TLS context (agent/client_tls.py),
which still verifies the server's certificate and name; a context per client
cost about 1.5 MB and 50 ms of CPU each (the cloud senders, the heartbeat, each
staff or manager webhook post)."""

from __future__ import annotations

import ssl
from typing import Any

from agent.client_tls import client_tls
from drivers.senders.cloud_http import make_client


def _context(client: Any) -> ssl.SSLContext:
    return client._transport._pool._ssl_context  # type: ignore[no-any-return]


async def test_clients_share_one_verifying_context() -> None:
    first = make_client("https://api.twilio.com", 1.0, 1.0)
    second = make_client("https://hooks.example.com", 1.0, 1.0)
    async with first, second:
        assert _context(first) is _context(second) is client_tls()
    context = client_tls()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
