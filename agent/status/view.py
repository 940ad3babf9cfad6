"""What the status API reads of the running daemon: a narrow, read-only view.

`agent.daemon.service.Daemon` implements `StatusView` (and its runtime `RuntimeView`);
the status modules depend on these Protocols only, never on the daemon itself, so the
daemon can import the status server without a circle.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from agent.cases.keeper import CaseKeeper
from agent.config.settings import LoadedConfig
from agent.decide.held import HeldCalls
from agent.decide.pipeline import Pipeline
from agent.model import Health
from agent.report.watch import AlertWatcher
from agent.send.dispatcher import Dispatcher
from agent.store import Store
from drivers.base import Source, WebhookReceiver


class SourceView(Protocol):
    """One PBX source as the runtime follows it."""

    @property
    def source(self) -> Source: ...

    @property
    def last_record_at(self) -> datetime | None: ...

    @property
    def records(self) -> int: ...


class RuntimeView(Protocol):
    """The running pipeline: its sources, senders, cases, dispatcher and alerts."""

    @property
    def pipeline(self) -> Pipeline: ...

    @property
    def cases(self) -> CaseKeeper: ...

    @property
    def dispatcher(self) -> Dispatcher | None: ...

    @property
    def held(self) -> HeldCalls: ...

    @property
    def alerts(self) -> AlertWatcher | None: ...

    @property
    def sources(self) -> Sequence[SourceView]: ...

    def webhook_receiver(self, kind: str, name: str) -> WebhookReceiver | None: ...

    def loops_alive(self) -> bool: ...

    def source_health(self) -> dict[str, Health]: ...

    def sender_health(self) -> dict[str, Health]: ...


class HeartbeatView(Protocol):
    """The heartbeat's counters (`agent.status.heartbeat.Heartbeat`)."""

    @property
    def beats_ok(self) -> int: ...

    @property
    def beats_failed(self) -> int: ...

    @property
    def last_success_at(self) -> datetime | None: ...

    def json(self) -> dict[str, Any]: ...


class StatusView(Protocol):
    """The daemon as the status API, the metrics and the heartbeat see it."""

    @property
    def loaded(self) -> LoadedConfig: ...

    @property
    def started_at(self) -> datetime: ...

    @property
    def loaded_at(self) -> datetime: ...

    @property
    def last_reload_ok(self) -> bool: ...

    @property
    def last_reload_error(self) -> str | None: ...

    @property
    def store(self) -> Store | None: ...

    @property
    def runtime(self) -> RuntimeView | None: ...

    @property
    def heartbeat(self) -> HeartbeatView | None: ...

    def clock(self) -> datetime: ...

    def loop_report(self) -> dict[str, dict[str, Any]]:
        """Each supervised loop: state, restarts, last error and when (`loops`)."""
        ...
