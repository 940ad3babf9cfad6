"""The `/v1/status` document and the readiness checks, built from the daemon's state.

Stable field names, RFC 3339 UTC timestamps, durations in seconds, `null` for
unknown or never, phone numbers never in full. `schema` lets the cloud evolve.
"""

from __future__ import annotations

import os
import platform
import shutil
from datetime import UTC, datetime, time, timedelta
from typing import Any

from agent import __version__
from agent.model import Health
from agent.status.view import StatusView
from agent.store import parse_ts, ts

SCHEMA = "ringback.status/1"


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def health_json(health: Health) -> dict[str, Any]:
    details = {k: (iso(v) if isinstance(v, datetime) else v) for k, v in health.details.items()}
    return {
        "state": health.state.value,
        "summary": health.summary,
        "state_since": iso(health.since),
        "details": details,
        "counters": dict(health.counters),
    }


async def readiness(daemon: StatusView) -> dict[str, tuple[bool, str]]:
    checks: dict[str, tuple[bool, str]] = {"config": (True, "")}
    checks["database"] = await _store_writable(daemon)
    runtime = daemon.runtime
    if runtime is None:
        checks["pbx"] = (False, "starting")
        checks["sender"] = (False, "starting")
        return checks
    sources = runtime.source_health()
    connected = [n for n, h in sources.items() if h.usable]
    checks["pbx"] = (bool(connected), "" if connected else "no PBX source connected")
    senders = runtime.sender_health()
    usable = [n for n, h in senders.items() if h.usable]
    checks["sender"] = (bool(usable), "" if usable else "no sender usable")
    return checks


async def _store_writable(daemon: StatusView) -> tuple[bool, str]:
    """`full` or `readonly` when the store cannot take a write (a write failed so and
    none succeeded since, or the file system, the file's mode, the free space or the
    page limit say so: agent/store/writable.py), else fine."""
    store = daemon.store
    if store is None:
        return False, "store not open"
    try:
        state = await store.write_state()
    except Exception as err:
        return False, f"store not readable: {err}"
    return (True, "") if state == "ok" else (False, state)


async def status_document(daemon: StatusView) -> dict[str, Any]:
    now = daemon.clock()
    settings = daemon.loaded.settings
    runtime = daemon.runtime
    checks = await readiness(daemon)
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "generated_at": iso(now),
        "agent": {
            "version": __version__,
            "python_version": platform.python_version(),
            "site": settings.site.name,
            "hostname": platform.node(),
            "pid": os.getpid(),
            "started_at": iso(daemon.started_at),
            "uptime_seconds": round((now - daemon.started_at).total_seconds(), 1),
            "config": {
                "path": str(daemon.loaded.path),
                "loaded_at": iso(daemon.loaded_at),
                "sha256": daemon.loaded.sha256,
                "last_reload_ok": daemon.last_reload_ok,
                "last_reload_error": daemon.last_reload_error,
            },
        },
        "health": {
            "live": runtime is not None and runtime.loops_alive(),
            "ready": all(ok for ok, _ in checks.values()),
            "checks": {name: "ok" if ok else why for name, (ok, why) in checks.items()},
        },
        "loops": daemon.loop_report(),
        "pbx": {},
        "senders": {},
        "alerts": {},
    }
    if runtime is not None:
        doc["pbx"] = _sources(daemon)
        kinds = {cfg.name: cfg.type for cfg in settings.sms.senders}
        doc["senders"] = {
            name: {"kind": kinds.get(name), **health_json(h)}
            for name, h in runtime.sender_health().items()
        }
        doc["pipeline"] = runtime.pipeline.counters.snapshot()
        doc["alerts"]["global_cap"] = await _global_cap(daemon, now)
        doc["alerts"]["sending"] = await _sending_faults(daemon, now)
        if runtime.alerts is not None:
            doc["alerts"]["staffing"] = runtime.alerts.status()
        last = runtime.dispatcher.last_error if runtime.dispatcher else None
        doc["last_send_error"] = (
            {k: iso(v) if isinstance(v, datetime) else v for k, v in last.items()} if last else None
        )
    doc["queue"] = await _queue(daemon, now)
    doc["notifications"] = await _notifications(daemon)
    doc["today"] = await _today(daemon, now)
    doc["storage"] = _storage(daemon)
    doc["storage"]["write_state"] = "ok" if checks["database"][0] else checks["database"][1]
    doc["storage"]["held_calls"] = len(runtime.held) if runtime is not None else 0
    doc["heartbeat"] = daemon.heartbeat.json() if daemon.heartbeat is not None else None
    return doc


async def _notifications(daemon: StatusView) -> dict[str, Any] | None:
    """The staff notifications' counts and latest error (see `NotificationStore`)."""
    if daemon.store is None:
        return None
    found = await daemon.store.notification_status()
    last = found["last_error"]
    if last is not None and last["at"]:
        last["at"] = iso(parse_ts(last["at"]))
    return found


def _sources(daemon: StatusView) -> dict[str, Any]:
    """Each PBX source's health plus what the runtime saw of it (the last call it
    delivered; `details.last_event_at` is the driver's own last event, if it has one)."""
    runtime = daemon.runtime
    if runtime is None:
        return {}
    kinds = {cfg.name: cfg.type for cfg in daemon.loaded.settings.pbx}
    health = runtime.source_health()
    out: dict[str, Any] = {}
    for state in runtime.sources:
        name = state.source.name
        out[name] = {
            "kind": kinds.get(name),
            **health_json(health[name]),
            "last_call_at": iso(state.last_record_at),
            "calls_delivered": state.records,
        }
    return out


async def _global_cap(daemon: StatusView, now: datetime) -> dict[str, Any]:
    """The SMS-pumping guard, read from the store so a restart does not hide it:
    texts queued in the last hour against `sms.global_hourly_cap`."""
    cap = daemon.loaded.settings.sms.global_hourly_cap
    last_hour = await daemon.store.messages_since(now - timedelta(hours=1)) if daemon.store else 0
    hit = daemon.runtime.pipeline.global_cap_hit_at if daemon.runtime else None
    return {"cap": cap, "last_hour": last_hour, "reached": last_hour >= cap, "hit_at": iso(hit)}


SENDING_FAULT_DAYS = 7


async def _sending_faults(daemon: StatusView, now: datetime) -> list[dict[str, Any]]:
    """What providers said is wrong with our own sending in the last days, from the
    store (a restart does not hide it): `misconfigured` (Twilio 21408, 21612) and
    `filtered` (30007, 30034), per sender and code, with the fix and how many numbers
    (never which); the same as `ringback doctor` names."""
    if daemon.store is None:
        return []
    since = now - timedelta(days=SENDING_FAULT_DAYS)
    return [
        {"fact": fact, "sender": sender, "code": code or None, "numbers": count, "fix": fix}
        for fact, sender, code, fix, count in await daemon.store.sending_faults(since)
    ]


async def _queue(daemon: StatusView, now: datetime) -> dict[str, Any]:
    store = daemon.store
    if store is None:
        return {}
    oldest = await store.oldest_open_created_at()
    return {
        "by_state": await store.message_counts(),
        "oldest_pending_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0,
    }


async def _today(daemon: StatusView, now: datetime) -> dict[str, Any]:
    store = daemon.store
    tz = daemon.loaded.settings.site.tz
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date(), time(0), tz)
    if store is None:
        return {}
    calls = await store.fetchone(
        "SELECT COUNT(*), SUM(direction = 'inbound'), SUM(direction = 'inbound' AND outcome IN "
        "('missed','voicemail','abandoned_ivr','abandoned_queue','busy')) "
        "FROM calls WHERE ended_at >= ?",
        (ts(midnight),),
    )
    msgs: dict[str, int] = dict(
        await store.fetchall(
            "SELECT state, COUNT(*) FROM messages WHERE created_at >= ? GROUP BY state",
            (ts(midnight),),
        )
    )
    return {
        "date": local.date().isoformat(),
        "timezone": daemon.loaded.settings.site.timezone,
        "calls": calls[0] or 0,
        "inbound_calls": calls[1] or 0,
        "missed_calls": calls[2] or 0,
        "sms_enqueued": sum(msgs.values()),
        "sms_sent": msgs.get("sent", 0),
        "sms_failed": msgs.get("failed", 0),
        "sms_suppressed": msgs.get("suppressed", 0),
    }


def _storage(daemon: StatusView) -> dict[str, Any]:
    path = daemon.loaded.settings.storage.path
    wal = path.with_name(path.name + "-wal")
    return {
        "db_bytes": path.stat().st_size if path.exists() else 0,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
        "free_bytes": shutil.disk_usage(path.parent).free if path.parent.exists() else None,
    }
