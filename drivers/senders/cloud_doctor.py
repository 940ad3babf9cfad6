"""`ringback doctor` for the cloud senders, with each sender's own HTTP client set-up.

`twilio`: one harmless authenticated request (list the newest message, nothing sent)
proves the account SID, the auth token and the way out (proxy, firewall, TLS).
`webhook`: the receiver has no read-only call, so the check proves reachability (any
HTTP answer to HEAD); the shared secret is only proven by `ringback send-test`.
"""

from __future__ import annotations

import httpx

from drivers.base import DoctorResult, SiteContext
from drivers.senders.cloud_http import CloudHealth, exchange, make_client
from drivers.senders.twilio_api import error_code, messages_path
from drivers.senders.twilio_config import TwilioConfig
from drivers.senders.webhook_config import WebhookConfig

_WAY_OUT = "check DNS, the firewall, and HTTPS_PROXY if the site needs a proxy"


async def check_twilio(config: TwilioConfig, site: SiteContext, limit: float) -> DoctorResult:
    token = config.auth_token.get_secret_value() if config.auth_token else ""
    auth = httpx.BasicAuth(config.account_sid, token)
    wait = min(limit, config.read_timeout_seconds)
    base = str(config.base_url).rstrip("/")
    async with make_client(base, min(limit, config.connect_timeout_seconds), wait, auth) as client:
        answer = await exchange(
            client,
            CloudHealth("twilio"),
            config.name,
            "GET",
            messages_path(config),
            params={"PageSize": "1"},
        )
    where = f"twilio {base}"
    if answer.ok:
        return DoctorResult(
            True, f"{where}: credentials accepted (account {config.account_sid[:6]}…)"
        )
    code = error_code(answer.data)
    said = f"HTTP {answer.status}" + (f", code {code}" if code else "")
    if answer.status in (401, 403):
        return DoctorResult(
            False,
            f"{where}: credentials refused ({said})",
            f"check account_sid and the auth token (credential {config.name}.auth_token) in "
            "the Twilio console; an API key needs its own SID",
        )
    if answer.status == 404:
        return DoctorResult(False, f"{where}: account not found ({said})", "check account_sid")
    if isinstance(answer.status, str):
        return DoctorResult(False, f"{where}: unreachable ({answer.status})", _WAY_OUT)
    return DoctorResult(False, f"{where}: unexpected answer ({said})", "try again later")


async def check_webhook(config: WebhookConfig, site: SiteContext, limit: float) -> DoctorResult:
    url = str(config.url)
    wait = min(limit, config.read_timeout_seconds)
    async with make_client(url, min(limit, config.connect_timeout_seconds), wait) as client:
        answer = await exchange(client, CloudHealth("webhook"), config.name, "HEAD", url)
    if isinstance(answer.status, str):
        return DoctorResult(False, f"webhook {url}: unreachable ({answer.status})", _WAY_OUT)
    if answer.status >= 500:
        return DoctorResult(
            False, f"webhook {url}: the receiver fails (HTTP {answer.status})", "check the receiver"
        )
    return DoctorResult(
        True,
        f"webhook {url}: reachable (HTTP {answer.status}); the secret is proven by send-test",
    )
