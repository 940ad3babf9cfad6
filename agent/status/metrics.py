"""Prometheus text exposition, hand-written for a few dozen series.

Every family has HELP and TYPE; ringback's names carry the `ringback_` prefix and base units;
labels are low-cardinality (driver names, states, reasons), never numbers or text.
Drivers' bad-input counters appear as `ringback_driver_events_total{driver, event}`
(each driver initialises its known names to 0, so rates work from the first scrape);
the status API's own refusals as `ringback_status_api_rejected_total{reason}`.
Counters read from the store (send attempts) survive restarts; the others count since
the daemon started, which Prometheus' `rate()` handles. The `process_*` series
(resident memory, CPU seconds, open files, start time) are prometheus_client's own
process collector, as every Prometheus user expects them; prometheus_client is imported
at the first scrape, not when the daemon starts.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from agent import __version__
from agent.status.view import RuntimeView, StatusView

if TYPE_CHECKING:
    from agent.store import Store


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    """Full precision (a Unix timestamp must not lose its seconds to `%g`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]
    ) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@cache
def _process_series() -> Callable[[], str]:
    """prometheus_client's process collector, made once."""
    from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest

    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    return lambda: generate_latest(registry).decode("utf-8")


async def render_metrics(daemon: StatusView, rejected: dict[str, int] | None = None) -> str:
    out = Exposition()
    _process(out, daemon)
    if daemon.store is not None:
        await _store(out, daemon, daemon.store)
    if daemon.runtime is not None:
        _sources(out, daemon.runtime)
        _senders(out, daemon.runtime)
        out.family(
            "ringback_pipeline_events_total",
            "counter",
            "Calls, decisions and replies handled since start.",
            [
                ({"event": k}, v)
                for k, v in sorted(daemon.runtime.pipeline.counters.snapshot().items())
            ],
        )
        out.family(
            "ringback_case_events_total",
            "counter",
            "Recovery cases opened, joined, attempts, reached, escalated, expired since start.",
            [
                ({"event": k}, v)
                for k, v in sorted(daemon.runtime.cases.counters.snapshot().items())
            ],
        )
        if daemon.runtime.alerts is not None:
            for family in daemon.runtime.alerts.metric_families():
                out.family(*family)
    out.family(
        "ringback_status_api_rejected_total",
        "counter",
        "Status API requests refused, by reason (unauthorized, bad_cursor, ...).",
        [({"reason": k}, v) for k, v in sorted((rejected or {}).items())],
    )
    _heartbeat(out, daemon)
    return out.text() + _process_series()()


def _process(out: Exposition, daemon: StatusView) -> None:
    out.family(
        "ringback_build_info",
        "gauge",
        "Build information.",
        [({"version": __version__, "python_version": platform.python_version()}, 1)],
    )
    out.family(
        "ringback_start_time_seconds",
        "gauge",
        "Start time of the daemon, Unix seconds.",
        [({}, daemon.started_at.timestamp())],
    )
    out.family(
        "ringback_config_last_reload_success",
        "gauge",
        "1 when the last configuration reload was applied (or none was asked).",
        [({}, 1 if daemon.last_reload_ok else 0)],
    )
    out.family(
        "ringback_config_loaded_timestamp_seconds",
        "gauge",
        "When the running configuration was loaded, Unix seconds.",
        [({}, daemon.loaded_at.timestamp())],
    )


async def _store(out: Exposition, daemon: StatusView, store: Store) -> None:
    counts = await store.message_counts()
    out.family(
        "ringback_outbox_messages",
        "gauge",
        "Outbox messages by state.",
        [({"state": s}, n) for s, n in sorted(counts.items())],
    )
    oldest = await store.oldest_open_created_at()
    age = max(0.0, (daemon.clock() - oldest).total_seconds()) if oldest else 0.0
    out.family(
        "ringback_outbox_oldest_pending_age_seconds",
        "gauge",
        "Age of the oldest text not yet sent or given up (0 when none).",
        [({}, age)],
    )
    out.family(
        "ringback_sms_send_attempts_total",
        "counter",
        "Send attempts recorded in the store, by sender and result.",
        [({"sender": s, "result": r}, n) for s, r, n in sorted(await store.attempt_counts())],
    )
    path = daemon.loaded.settings.storage.path
    wal = path.with_name(path.name + "-wal")
    out.family(
        "ringback_storage_bytes",
        "gauge",
        "Size of the store's files.",
        [({"file": "db"}, _size(path)), ({"file": "wal"}, _size(wal))],
    )


def _sources(out: Exposition, runtime: RuntimeView) -> None:
    sources = runtime.source_health()
    last_event = []
    reconnects = []
    for name, health in sources.items():
        stamp = _timestamp(health.details.get("last_event_at"))
        if stamp is not None:
            last_event.append(({"pbx": name}, stamp))
        count = health.details.get("reconnects")
        if isinstance(count, int):
            reconnects.append(({"pbx": name}, float(count)))
    out.family(
        "ringback_pbx_connected",
        "gauge",
        "1 when the PBX source is connected.",
        [({"pbx": n}, 1 if h.usable else 0) for n, h in sources.items()],
    )
    out.family(
        "ringback_pbx_last_event_timestamp_seconds",
        "gauge",
        "When the PBX source last received an event, Unix seconds.",
        last_event,
    )
    out.family(
        "ringback_pbx_last_call_timestamp_seconds",
        "gauge",
        "When the PBX source last delivered a finished call, Unix seconds.",
        [
            ({"pbx": s.source.name}, s.last_record_at.timestamp())
            for s in runtime.sources
            if s.last_record_at is not None
        ],
    )
    out.family(
        "ringback_pbx_reconnects_total",
        "counter",
        "Reconnections of the PBX source since start.",
        reconnects,
    )


def _senders(out: Exposition, runtime: RuntimeView) -> None:
    senders = runtime.sender_health()
    sources = runtime.source_health()
    out.family(
        "ringback_sender_usable",
        "gauge",
        "1 when the sender can send now.",
        [({"sender": n}, 1 if h.usable else 0) for n, h in senders.items()],
    )
    rssi = [
        ({"sender": n}, float(v))
        for n, h in senders.items()
        if isinstance(v := h.details.get("rssi_dbm"), int | float)
    ]
    out.family("ringback_modem_signal_rssi_dbm", "gauge", "Modem signal strength, dBm.", rssi)
    limited = [
        ({"sender": n}, 1 if h.details.get("rate_limited_until") else 0)
        for n, h in senders.items()
        if "rate_limited_until" in h.details
    ]
    out.family(
        "ringback_sender_rate_limited",
        "gauge",
        "1 while a cloud sender is rate-limited by its provider.",
        limited,
    )
    out.family(
        "ringback_driver_events_total",
        "counter",
        "Events and bad input counted by each driver, by kind.",
        [
            ({"driver": name, "event": event}, value)
            for name, health in (*sources.items(), *senders.items())
            for event, value in sorted(health.counters.items())
        ],
    )


def _heartbeat(out: Exposition, daemon: StatusView) -> None:
    beat = daemon.heartbeat
    if beat is None:
        return
    out.family(
        "ringback_heartbeat_beats_total",
        "counter",
        "Heartbeats posted to the cloud, by result.",
        [({"result": "ok"}, beat.beats_ok), ({"result": "failed"}, beat.beats_failed)],
    )
    if beat.last_success_at is not None:
        out.family(
            "ringback_heartbeat_last_success_timestamp_seconds",
            "gauge",
            "When a heartbeat was last accepted, Unix seconds.",
            [({}, beat.last_success_at.timestamp())],
        )


def _timestamp(value: object) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


def _size(path: Path) -> float:
    try:
        return float(path.stat().st_size)
    except OSError:
        return 0.0
