"""The one TLS context of every HTTPS client the daemon opens (the cloud senders,
the heartbeat, staff and manager webhooks): httpx builds a context per client when
it is given none, loading the CA bundle each time (about 1.5 MB and 50 ms of CPU a
client on the reference machine). It is built at the first client, honours
SSL_CERT_FILE / SSL_CERT_DIR as httpx does, and is shared from then on."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def client_tls() -> ssl.SSLContext:
    import httpx  # at the first client, never at start (tests/e2e/test_lean_start.py)

    return httpx.create_ssl_context()
