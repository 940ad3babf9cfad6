"""The supervisor: a failing loop is logged with its cause, counted, shown, restarted
with backoff; only a configuration or store that cannot be used leaves it, and the
process exit code says which (2, 3; 1 for anything else)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest

from agent.daemon.supervise import (
    EXIT_BUG,
    EXIT_CONFIG,
    EXIT_STORE,
    NO_RESTART_CODES,
    Loops,
    exit_code_for,
)
from agent.errors import ConfigError, StoreError


async def test_a_failing_loop_is_restarted_counted_and_logged_once_with_its_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three failures then a clean end: three restarts, the last cause kept, the
    traceback logged the first time only, state `finished` at the end."""
    loops = Loops(first_backoff=0.01)
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise sqlite3.OperationalError(f"database or disk is full (run {runs})")

    with caplog.at_level(logging.ERROR, logger="agent.daemon.supervise"):
        await asyncio.wait_for(loops.supervise("dispatcher", flaky), 30)
    state = loops.report()["dispatcher"]
    assert runs == 4
    assert state["restarts"] == 3 and state["state"] == "finished"
    assert state["last_error"] == "OperationalError: database or disk is full (run 3)"
    assert state["last_error_at"] is not None
    failures = [r for r in caplog.records if "loop dispatcher failed" in r.getMessage()]
    assert len(failures) == 3
    assert [r.exc_info is not None for r in failures] == [True, False, False]


async def test_the_backoff_state_is_visible_while_waiting() -> None:
    """Between a failure and the next try the loop reads `backing_off`."""
    loops = Loops(first_backoff=30)

    failed = asyncio.Event()

    async def broken() -> None:
        failed.set()
        raise RuntimeError("boom")

    task = asyncio.create_task(loops.supervise("alerts", broken))
    await failed.wait()
    await asyncio.sleep(0)  # the supervisor records the failure and starts its wait
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert loops.report()["alerts"]["restarts"] == 1


@pytest.mark.parametrize(
    "error",
    [ConfigError(["x:1: bad"]), StoreError("gone"), sqlite3.DatabaseError("malformed")],
)
async def test_what_a_restart_cannot_mend_leaves_the_supervisor(error: Exception) -> None:
    """A ConfigError, a StoreError or a corrupt database is raised, not retried."""
    loops = Loops(first_backoff=0.01)
    runs = 0

    async def fatal() -> None:
        nonlocal runs
        runs += 1
        raise error

    with pytest.raises(type(error)):
        await loops.supervise("dispatcher", fatal)
    assert runs == 1


def test_exit_codes_per_kind_also_inside_task_groups() -> None:
    """2 config, 3 store, 1 anything else; found inside a TaskGroup's group; the
    codes no restart mends are 2 and 3 (the unit's RestartPreventExitStatus=)."""
    assert exit_code_for(ConfigError(["a"])) == EXIT_CONFIG == 2
    assert exit_code_for(StoreError("a")) == EXIT_STORE == 3
    assert exit_code_for(sqlite3.DatabaseError("file is not a database")) == EXIT_STORE
    assert exit_code_for(RuntimeError("bug")) == EXIT_BUG == 1
    group = ExceptionGroup("tg", [RuntimeError("x"), ExceptionGroup("in", [StoreError("s")])])
    assert exit_code_for(group) == EXIT_STORE
    assert NO_RESTART_CODES == (2, 3)


def test_both_unit_files_name_the_codes_no_restart_mends() -> None:
    """systemd/ringback.service and the template install writes agree on them."""
    from pathlib import Path

    root = Path(__file__).parents[2]
    wanted = "RestartPreventExitStatus=" + " ".join(str(c) for c in NO_RESTART_CODES)
    for unit in (root / "systemd/ringback.service", root / "agent/resources/ringback.service"):
        assert wanted in unit.read_text().splitlines(), unit
