"""The optional outbound heartbeat: the `/v1/status` document POSTed to
`status.heartbeat_url` every `status.heartbeat_seconds`, for sites behind NAT that
the cloud cannot reach.

Owned by the daemon: started with the status API (before READY), cancelled on stop.
The URL and period are read at every beat, so a reload takes effect at the next one
(no URL: the task idles). Each beat tries up to `ATTEMPTS` times, a short backoff
apart, on a connection error, a timeout, 408, 429 or 5xx; any other answer ends the
beat. A cloud that is down, slow or failing costs one bounded request at a time and
one log line when the state changes (ok -> failing -> ok), never an exception out of
the task: the rest of the daemon does not notice. The request carries the heartbeat's
own bearer token (`status.heartbeat_token`, its file or the credential
`status.heartbeat_token`) if one is configured, never the status API's tokens: the
receiver holding it must not be able to read this site's API. The URL is logged as
scheme and host only (a path or query may hold a key); the token is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from agent.backoff import Backoff
from agent.client_tls import client_tls
from agent.status.document import iso, status_document
from agent.status.view import StatusView

if TYPE_CHECKING:
    import httpx


log = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF_SECONDS = 1.0
REQUEST_SECONDS = 10.0
CONNECT_SECONDS = 5.0
RETRY_STATUSES = frozenset({408, 429})


def where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"


class Heartbeat:
    def __init__(self, daemon: StatusView) -> None:
        self.daemon = daemon
        self.last_attempt_at: datetime | None = None
        self.last_success_at: datetime | None = None
        self.last_http_status: int | None = None
        self.last_error: str | None = None
        self.beats_ok = 0
        self.beats_failed = 0
        self._failing = False

    def json(self) -> dict[str, Any]:
        url = self.daemon.loaded.settings.status.heartbeat_url
        return {
            "enabled": url is not None,
            "target": where(url) if url else None,
            "last_attempt_at": iso(self.last_attempt_at),
            "last_success_at": iso(self.last_success_at),
            "last_http_status": self.last_http_status,
            "last_error": self.last_error,
            "beats_ok": self.beats_ok,
            "beats_failed": self.beats_failed,
        }

    async def run(self) -> None:
        """Idle until a URL is configured; httpx is imported only then (importing it
        blocks the loop for a moment, right when sources are logging in)."""
        while self.daemon.loaded.settings.status.heartbeat_url is None:  # noqa: ASYNC110
            await asyncio.sleep(self.daemon.loaded.settings.status.heartbeat_seconds)
        import httpx

        timeout = httpx.Timeout(REQUEST_SECONDS, connect=CONNECT_SECONDS)
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, verify=client_tls()
        ) as client:
            while True:
                config = self.daemon.loaded.settings.status
                if config.heartbeat_url is not None:
                    try:
                        await self.beat(client, config.heartbeat_url)
                    except Exception:  # a bug here must not end the task
                        log.exception("heartbeat: unexpected error")
                await asyncio.sleep(config.heartbeat_seconds)

    async def beat(self, client: httpx.AsyncClient, url: str) -> bool:
        """One beat: POST the document, retrying transient failures; True if accepted."""
        import httpx  # already loaded by run()

        self.last_attempt_at = self.daemon.clock()
        body = await status_document(self.daemon)
        headers = {"User-Agent": "ringback-heartbeat"}
        credential = self.daemon.loaded.settings.status.heartbeat_credential()
        if credential is not None:
            headers["Authorization"] = f"Bearer {credential.get_secret_value()}"
        error = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(Backoff(BACKOFF_SECONDS).delay(attempt))
            try:
                response = await client.post(url, json=body, headers=headers)
            except httpx.HTTPError as err:
                self.last_http_status = None
                error = f"{type(err).__name__}"
                continue
            self.last_http_status = response.status_code
            if response.is_success:
                self._ok()
                return True
            error = f"HTTP {response.status_code}"
            if response.status_code not in RETRY_STATUSES and response.status_code < 500:
                break
        self._failed(url, error)
        return False

    def _ok(self) -> None:
        self.beats_ok += 1
        self.last_success_at = self.daemon.clock()
        self.last_error = None
        if self._failing:
            log.info("heartbeat: delivered again")
        self._failing = False

    def _failed(self, url: str, error: str) -> None:
        self.beats_failed += 1
        self.last_error = error
        if not self._failing:
            log.warning("heartbeat to %s failing: %s (the daemon carries on)", where(url), error)
        self._failing = True
