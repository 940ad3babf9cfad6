"""Prometheus text exposition, hand-written for a few dozen series.

Every family has HELP and TYPE; names carry the `ringback_` prefix and base units;
labels are low-cardinality (driver names, states, reasons), never numbers or text.
Drivers' bad-input counters appear as `ringback_driver_events_total{driver, event}`.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from typing import TYPE_CHECKING

from agent import __version__

if TYPE_CHECKING:
    from agent.daemon import Daemon


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]
    ) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {value:g}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


async def render_metrics(daemon: Daemon) -> str:
    out = Exposition()
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
    runtime = daemon.runtime
    store = daemon.store
    if store is not None:
        counts = await store.message_counts()
        out.family(
            "ringback_outbox_messages",
            "gauge",
            "Outbox messages by state.",
            [({"state": s}, n) for s, n in sorted(counts.items())],
        )
    if runtime is None:
        return out.text()
    sources = runtime.source_health()
    senders = runtime.sender_health()
    out.family(
        "ringback_pbx_connected",
        "gauge",
        "1 when the PBX source is connected.",
        [({"pbx": n}, 1 if h.usable else 0) for n, h in sources.items()],
    )
    out.family(
        "ringback_sender_usable",
        "gauge",
        "1 when the sender can send now.",
        [({"sender": n}, 1 if h.usable else 0) for n, h in senders.items()],
    )
    driver_events = [
        ({"driver": name, "event": event}, value)
        for name, health in (*sources.items(), *senders.items())
        for event, value in sorted(health.counters.items())
    ]
    out.family(
        "ringback_driver_events_total",
        "counter",
        "Events and bad input counted by each driver, by kind.",
        driver_events,
    )
    out.family(
        "ringback_pipeline_events_total",
        "counter",
        "Calls, decisions and replies handled.",
        [({"event": k}, v) for k, v in sorted(runtime.pipeline.counters.snapshot().items())],
    )
    return out.text()
