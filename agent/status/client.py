"""`ringback status`: read the local status API and say it in words for a technician.

What is connected (each PBX source, each sender with its signal or rate limit), what
is queued (outbox by state, oldest waiting text), what failed last and why, today's
counts and the heartbeat. `--json` prints the document as the API gives it. Exit
codes: 0 ready, 1 not ready or unreachable, 2 usage or configuration.
"""

from __future__ import annotations

from typing import Any

import httpx

from agent.config.settings import StatusConfig


def status_url(config: StatusConfig, path: str = "/v1/status") -> str:
    scheme = "https" if config.tls_cert_file else "http"
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{config.port}{path}"


def fetch_status(
    config: StatusConfig | None, base_url: str | None = None
) -> tuple[int, dict[str, Any] | None, str]:
    """(HTTP status, document or None, why not), from `base_url` (e.g. the demo's
    http://127.0.0.1:8788) or the configured listen address; the configured token is
    sent when there is one. The local certificate is not verified: the API is reached
    on this box, usually with a self-signed one."""
    if base_url:
        url = base_url.rstrip("/") + "/v1/status"
    elif config is not None:
        url = status_url(config)
    else:
        return 0, None, "no configuration and no --url: nothing to ask"
    headers = {}
    try:
        tokens = config.tokens() if config is not None else []
    except OSError as err:
        return 0, None, f"cannot read the status token: {err.strerror}"
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
    agent = doc.get("agent") or {}
    health = doc.get("health") or {}
    checks = health.get("checks") or {}
    lines = [
        f"ringback {agent.get('version')} at {agent.get('site')}, "
        f"up {_duration(agent.get('uptime_seconds'))}",
        f"ready: {'yes' if health.get('ready') else 'NO'}"
        + "".join(f"\n  {k}: {v}" for k, v in checks.items() if v != "ok"),
    ]
    config = agent.get("config") or {}
    if config.get("last_reload_ok") is False:
        lines.append(f"config: last reload REFUSED ({config.get('last_reload_error')})")
    for name, loop in sorted((doc.get("loops") or {}).items()):
        if loop.get("restarts") or loop.get("state") == "backing_off":
            lines.append(
                f"loop {name}: {loop.get('state')}, restarted {loop.get('restarts')}x, "
                f"last error {loop.get('last_error')} at {loop.get('last_error_at')}"
            )
    lines += _pbx_lines(doc.get("pbx") or {})
    lines += _sender_lines(doc.get("senders") or {})
    lines += _queue_lines(doc)
    lines += _today_lines(doc.get("today") or {})
    beat = doc.get("heartbeat") or {}
    if beat.get("enabled"):
        state = "ok" if not beat.get("last_error") else f"FAILING ({beat['last_error']})"
        lines.append(
            f"heartbeat to {beat.get('target')}: {state}, last ok {beat.get('last_success_at')}"
        )
    return "\n".join(lines)


def _pbx_lines(sources: dict[str, Any]) -> list[str]:
    lines = []
    for name, item in sources.items():
        details = item.get("details") or {}
        line = f"pbx {name} ({item.get('kind')}): {item.get('state')}, {item.get('summary')}"
        if details.get("last_event_at"):
            line += f"; last event {details['last_event_at']}"
        if item.get("last_call_at"):
            line += f"; last call {item['last_call_at']}"
        lines.append(line)
    return lines or ["pbx: none running"]


def _sender_lines(senders: dict[str, Any]) -> list[str]:
    lines = []
    for name, item in senders.items():
        details = item.get("details") or {}
        line = f"sender {name} ({item.get('kind')}): {item.get('state')}, {item.get('summary')}"
        if "rssi_dbm" in details:
            line += (
                f"; registration {details.get('registration')}, "
                f"signal {details.get('rssi_dbm')} dBm"
            )
        if details.get("rate_limited_until"):
            line += f"; rate-limited until {details['rate_limited_until']}"
        if details.get("last_error"):
            line += f"; last error: {details['last_error']}"
        lines.append(line)
    return lines or ["sender: none running"]


def _queue_lines(doc: dict[str, Any]) -> list[str]:
    queue = doc.get("queue") or {}
    waiting = {k: v for k, v in (queue.get("by_state") or {}).items() if v}
    lines = ["outbox: " + (", ".join(f"{k} {v}" for k, v in waiting.items()) or "empty")]
    age = queue.get("oldest_pending_age_seconds") or 0
    if age:
        lines.append(f"oldest text waiting: {_duration(age)}")
    last = doc.get("last_send_error")
    if last:
        lines.append(
            f"last send error: {last.get('at')} via {last.get('channel') or 'the sender chain'} "
            f"({last.get('class')}, to …{last.get('to_last2')}): {last.get('message')}"
        )
    notes = doc.get("notifications") or {}
    if notes.get("retrying") or notes.get("failed"):
        error = notes.get("last_error") or {}
        lines.append(
            f"staff notifications: {notes.get('retrying', 0)} retrying, "
            f"{notes.get('failed', 0)} given up; last error ({error.get('department')} "
            f"{error.get('channel')}): {error.get('message')}"
        )
    return lines


def _today_lines(today: dict[str, Any]) -> list[str]:
    return [
        f"today ({today.get('date')}, {today.get('timezone')}): "
        f"{today.get('missed_calls', 0)} missed of {today.get('inbound_calls', 0)} inbound, "
        f"{today.get('sms_sent', 0)} texts sent, {today.get('sms_failed', 0)} failed"
    ]


def _duration(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "?"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def is_ready(doc: dict[str, Any]) -> bool:
    """What the document says of readiness (`health.ready`)."""
    health = doc.get("health")
    return isinstance(health, dict) and health.get("ready") is True
