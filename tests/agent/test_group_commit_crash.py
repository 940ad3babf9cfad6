"""Group commit under SIGKILL: a real child process stores a burst of calls through
the real pipeline and store (tests/agent/group_child.py) and is killed at chosen
points: after some acknowledgements, or on SQLite's thread just before or just after
a batch's COMMIT. The store, reopened, holds every acknowledged call with its
decision and its text, no call without its decision, and, when the burst is stored
again (a source sending its calls again after the restart), each call and each text
exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.store import Store

CALLS = 40
ROOT = Path(__file__).resolve().parents[2]


def _run_until(
    config: Path, pause: str | None, kill_after_acks: int | None
) -> dict[str, int | None]:
    """Run the child; kill it (SIGKILL) once `kill_after_acks` acks were printed or
    once it paused; return the acknowledgements it printed ({call id: message id})."""
    args = [sys.executable, "-m", "tests.agent.group_child", str(config), str(CALLS)]
    if pause:
        args.append(pause)
    child = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert child.stdout is not None
    acks: dict[str, int | None] = {}
    paused = False
    try:
        for line in child.stdout:
            word, *rest = line.split()
            if word == "ack":
                acks[rest[0]] = None if rest[1] == "None" else int(rest[1])
            paused = word == "pause"
            if paused or (kill_after_acks is not None and len(acks) >= kill_after_acks):
                break
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.stderr is not None
    err = child.stderr.read()
    child.stdout.close()
    child.stderr.close()
    if pause:
        assert paused, f"the child never reached {pause}: {err}"
    if child.returncode != -signal.SIGKILL:
        assert child.returncode == 0, err
    return acks


async def _stored(db: Path) -> tuple[dict[str, int | None], int, int]:
    """({call id: its text's id or None}, calls without a decision, texts)."""
    async with Store(db) as store:
        rows = await store.fetchall(
            "SELECT c.pbx_call_id, m.id FROM calls c LEFT JOIN messages m ON m.call_id = c.id"
        )
        undecided = await store.scalar("SELECT COUNT(*) FROM calls WHERE decision IS NULL")
        texts = await store.scalar("SELECT COUNT(*) FROM messages")
    return {str(c): m for c, m in rows}, int(undecided), int(texts)


@pytest.mark.parametrize(
    ("pause", "kill_after_acks"),
    [
        (None, 0),
        (None, 1),
        (None, CALLS // 2),
        ("before:1", None),
        ("after:1", None),
        ("before:2", None),
        ("after:2", None),
    ],
)
async def test_a_kill_during_a_burst_loses_no_acknowledged_call_and_duplicates_none(
    tmp_path: Path,
    dealership_yaml: Callable[..., str],
    pause: str | None,
    kill_after_acks: int | None,
) -> None:
    """Killed with SIGKILL at this point of a burst, then the burst stored again."""
    config = tmp_path / "ringback.yaml"
    config.write_text(dealership_yaml())
    db = tmp_path / "ringback.db"
    acks = _run_until(config, pause, kill_after_acks)
    stored, undecided, texts = await _stored(db)
    assert {c: stored.get(c, "lost") for c in acks} == acks  # every acknowledged call, its text
    assert undecided == 0  # all or nothing: no call without its decision
    assert texts == sum(m is not None for m in stored.values())

    again = _run_until(config, None, None)
    assert len(again) == CALLS
    stored, undecided, texts = await _stored(db)
    assert len(stored) == CALLS and undecided == 0
    assert texts == sum(m is not None for m in stored.values()) > CALLS // 2
    assert {c: stored[c] for c in acks} == acks  # the acknowledged texts were not queued again
