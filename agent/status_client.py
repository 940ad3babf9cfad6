"""`ringback status`: read the local status API and say it in words."""

from __future__ import annotations

from typing import Any

import httpx

from agent.config import StatusConfig


def fetch_status(config: StatusConfig) -> tuple[int, dict[str, Any] | None, str]:
    scheme = "https" if config.tls_cert_file else "http"
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
    url = f"{scheme}://{host}:{config.port}/v1/status"
    headers = {}
    tokens = config.tokens()
    if tokens:
        headers["Authorization"] = f"Bearer {tokens[0].get_secret_value()}"
    try:
        response = httpx.get(url, headers=headers, timeout=5.0, verify=False)
    except httpx.HTTPError as err:
        return (
            0,
            None,
            f"cannot reach the status API at {url}: {type(err).__name__} (is ringback running?)",
        )
    if response.status_code == 401:
        return 401, None, "the status API refused the token (check status.token_file)"
    try:
        return response.status_code, response.json(), ""
    except ValueError:
        return response.status_code, None, f"unexpected answer from {url}"


def human_status(doc: dict[str, Any]) -> str:
    agent = doc.get("agent", {})
    health = doc.get("health", {})
    lines = [
        f"ringback {agent.get('version')} at {agent.get('site')}, "
        f"up {agent.get('uptime_seconds')} s",
        f"ready: {'yes' if health.get('ready') else 'NO'}  "
        + "  ".join(f"{k}={v}" for k, v in health.get("checks", {}).items()),
    ]
    for kind in ("pbx", "senders"):
        for name, item in doc.get(kind, {}).items():
            label = "sender" if kind == "senders" else "pbx"
            lines.append(f"{label} {name}: {item['state']} {item['summary']}")
    queue = doc.get("queue", {})
    by_state = queue.get("by_state", {})
    lines.append(
        "outbox: " + ", ".join(f"{k} {v}" for k, v in by_state.items() if v) or "outbox: empty"
    )
    last = doc.get("last_send_error")
    if last:
        lines.append(
            f"last send error: {last.get('at')} via {last.get('channel')}: {last.get('message')}"
        )
    today = doc.get("today", {})
    lines.append(
        f"today: {today.get('missed_calls', 0)} missed of {today.get('inbound_calls', 0)} inbound, "
        f"{today.get('sms_sent', 0)} texts sent"
    )
    return "\n".join(lines)
