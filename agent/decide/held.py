"""Calls the store could not take yet: held in memory and in a spill file beside it.

When the store is full or read-only (agent/store/writable.py), the runtime does not
drop a finished call and does not stall its source: the call is appended here, one
JSON line, flushed and fsync'd to `held-calls.jsonl` beside the database, and kept
in memory. The runtime stores them again in order, oldest first, when writes
succeed again; the spill file is rewritten as they are stored and removed when none
is left. A crash or SIGKILL in between replays them at the next start: a call the
store already has is recognised by its source and call id (`calls_duplicate`), so
nothing is stored twice. At `limit` calls the source waits (back-pressure, no drop).
If the spill file itself cannot be written (the same disk is full), the call stays
in memory and the failure is counted (`held_spill_failed`).
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque
from pathlib import Path

from agent.model import CallRecord, Counters, record_from_json, record_to_json

log = logging.getLogger(__name__)

HELD_FILE = "held-calls.jsonl"
HELD_LIMIT = 20_000
REWRITE_EVERY = 50


class HeldCalls:
    def __init__(self, path: Path, counters: Counters, limit: int = HELD_LIMIT) -> None:
        self.path = path
        self.counters = counters
        self.limit = limit
        self._calls: deque[CallRecord] = deque()
        self._stored_since_rewrite = 0
        self._spill_ok = True

    def __len__(self) -> int:
        return len(self._calls)

    @property
    def full(self) -> bool:
        return len(self._calls) >= self.limit

    def load(self) -> int:
        """The calls a previous run left in the spill file; a line that does not
        read is counted (`held_unreadable`) and logged, never fatal."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return 0
        except OSError as err:
            log.error("cannot read the held calls in %s: %s", self.path, err.strerror)
            return 0
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                self._calls.append(record_from_json(json.loads(line)))
            except ValueError as err:
                self.counters.inc("held_unreadable")
                log.error("%s:%d: held call unreadable, left out: %s", self.path, number, err)
        return len(self._calls)

    def hold(self, record: CallRecord) -> None:
        self._calls.append(record)
        self.counters.inc("calls_held")
        try:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record_to_json(record), ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as err:
            self.counters.inc("held_spill_failed")
            if self._spill_ok:
                log.error(
                    "cannot write held calls to %s (%s): they are held in memory only",
                    self.path,
                    err.strerror,
                )
            self._spill_ok = False
        else:
            self._spill_ok = True

    def first(self) -> CallRecord:
        return self._calls[0]

    def stored_first(self) -> None:
        """The oldest held call is in the store now."""
        self._calls.popleft()
        self._stored_since_rewrite += 1
        if not self._calls or self._stored_since_rewrite >= REWRITE_EVERY:
            self._rewrite()

    def _rewrite(self) -> None:
        """The spill file holds exactly what is still held (written aside, fsync'd,
        renamed over); gone when nothing is."""
        self._stored_since_rewrite = 0
        try:
            if not self._calls:
                self.path.unlink(missing_ok=True)
                return
            aside = self.path.with_name(self.path.name + ".new")
            with aside.open("w", encoding="utf-8") as out:
                for record in self._calls:
                    out.write(json.dumps(record_to_json(record), ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
            aside.replace(self.path)
        except OSError as err:  # the old file stays: replaying it stores nothing twice
            self.counters.inc("held_spill_failed")
            log.warning("cannot rewrite %s: %s", self.path, err.strerror)
