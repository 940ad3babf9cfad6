"""Every long-running loop of the daemon under one supervisor.

`Loops.supervise(name, start)` runs `start()` and, when it fails, logs the failure
once with its cause (the traceback the first time a cause is seen, one line after),
counts it, keeps it for `/v1/status` and `ringback doctor`, and starts the loop again
after a backoff (1 s doubling to 60 s, back to 1 s once a run lasted a minute). A loop
that returns has finished (a replay source at its end). Only what a restart cannot
mend leaves the supervisor: `ConfigError` and `StoreError` (the process then exits
with their code, see `exit_code_for`) and cancellation. So one bad loop never tears
the others down through their TaskGroup.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.errors import ConfigError, StoreError
from drivers.base import utc_now

log = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
HEALTHY_RUN_SECONDS = 60.0

EXIT_OK = 0
EXIT_BUG = 1
EXIT_CONFIG = 2
EXIT_STORE = 3
# The exit codes a restart cannot mend: the unit's RestartPreventExitStatus= names them.
NO_RESTART_CODES = (EXIT_CONFIG, EXIT_STORE)


def is_fatal(err: BaseException) -> bool:
    """A failure a restart of the loop cannot mend: the configuration, or a store that
    is corrupt (not merely full or read-only: those are waited out)."""
    if isinstance(err, ConfigError | StoreError):
        return True
    return isinstance(err, sqlite3.DatabaseError) and not isinstance(err, sqlite3.OperationalError)


def exit_code_for(err: BaseException) -> int:
    """The process exit code for what stopped it: 2 configuration, 3 store unusable
    (corrupt, newer schema, unwritable directory), 1 anything else. Looks inside the
    exception groups a TaskGroup raises."""
    if isinstance(err, BaseExceptionGroup):
        codes = [exit_code_for(e) for e in err.exceptions]
        fatal = [c for c in codes if c != EXIT_BUG]
        return min(fatal) if fatal else EXIT_BUG
    if isinstance(err, ConfigError):
        return EXIT_CONFIG
    if isinstance(err, StoreError) or is_fatal(err):
        return EXIT_STORE
    return EXIT_BUG


@dataclass
class LoopState:
    """What the status API shows of one supervised loop."""

    name: str
    state: str = "running"  # running | backing_off | finished
    restarts: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    started_at: datetime | None = None

    def json(self) -> dict[str, Any]:
        at = self.last_error_at
        return {
            "state": self.state,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "last_error_at": at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            if at
            else None,
        }


class Loops:
    """The daemon's board of supervised loops, kept across reloads."""

    def __init__(
        self, clock: Callable[[], datetime] = utc_now, first_backoff: float = FIRST_BACKOFF
    ) -> None:
        self.clock = clock
        self.first_backoff = first_backoff
        self.states: dict[str, LoopState] = {}
        self._seen_causes: set[tuple[str, str]] = set()

    def state(self, name: str) -> LoopState:
        return self.states.setdefault(name, LoopState(name))

    def restarts(self) -> int:
        return sum(s.restarts for s in self.states.values())

    def report(self) -> dict[str, dict[str, Any]]:
        """Each loop's state for `/v1/status` (`loops`), by name."""
        return {name: state.json() for name, state in sorted(self.states.items())}

    async def supervise(
        self,
        name: str,
        start: Callable[[], Awaitable[None]],
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        state = self.state(name)
        backoff = self.first_backoff
        loop = asyncio.get_running_loop()
        while True:
            state.state, state.started_at = "running", self.clock()
            began = loop.time()
            try:
                await start()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if is_fatal(err):
                    log.critical("%s: cannot go on: %s", name, _cause(err))
                    raise
                if loop.time() - began >= HEALTHY_RUN_SECONDS:
                    backoff = self.first_backoff
                self._failed(state, err, backoff)
                if on_failure is not None:
                    on_failure(err)
            else:
                state.state = "finished"
                return
            state.state = "backing_off"
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _failed(self, state: LoopState, err: Exception, backoff: float) -> None:
        state.restarts += 1
        state.last_error, state.last_error_at = _cause(err), self.clock()
        key = (state.name, type(err).__name__)
        first = key not in self._seen_causes
        self._seen_causes.add(key)
        log.error(
            "loop %s failed (%d so far): %s; restarting in %.0fs",
            state.name,
            state.restarts,
            state.last_error,
            backoff,
            exc_info=err if first else None,
        )


def _cause(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
