"""Play a JSON-lines file of recorded call records back as if the calls ended now."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from importlib import resources
from pathlib import Path

from agent.model import CallRecord, Counters, Health, HealthState, record_from_json
from drivers.base import SiteContext
from drivers.sources.replay.config import ReplayConfig

log = logging.getLogger(__name__)

BUNDLED = "demo_calls.jsonl"
MAX_LINE_CHARS = 16_384  # a call record is a few hundred characters


def read_records(text: str, origin: str, counters: Counters) -> list[CallRecord]:
    """Parse every line; a bad line is logged with its number and counted, not fatal."""
    records: list[CallRecord] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            if len(line) > MAX_LINE_CHARS:
                raise ValueError(f"line longer than {MAX_LINE_CHARS} characters")
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            records.append(record_from_json(data))
        except RecursionError:
            counters.inc("bad_record")
            log.warning("replay: %s:%d: skipped, JSON nested too deep", origin, number)
        except ValueError as err:
            counters.inc("bad_record")
            log.warning("replay: %s:%d: skipped, %s", origin, number, err)
    return records


def replay(data: bytes, config: ReplayConfig, site: SiteContext) -> list[CallRecord]:
    """The offline parse behind `ringback replay --source replay FILE`."""
    origin = str(config.path) if config.path else config.name
    return read_records(data.decode("utf-8", errors="replace"), origin, Counters())


class ReplaySource:
    """A `Source` fed by a file instead of a PBX. Finishes after the last record."""

    def __init__(self, config: ReplayConfig, site: SiteContext) -> None:
        self.name = config.name
        self._config = config
        self._site = site
        self._counters = Counters("bad_record", "records")
        self._state = HealthState.STARTING
        self._done = False

    def _load(self) -> list[CallRecord]:
        if self._config.path is None:
            text = resources.files(__package__).joinpath(BUNDLED).read_text(encoding="utf-8")
            return read_records(text, BUNDLED, self._counters)
        path: Path = self._config.path
        return read_records(path.read_text(encoding="utf-8"), str(path), self._counters)

    async def records(self) -> AsyncIterator[CallRecord]:
        try:
            recorded = sorted(self._load(), key=lambda r: r.ended_at)
        except OSError as err:
            self._state = HealthState.DOWN
            log.error("replay: cannot read %s: %s", self._config.path, err.strerror)
            return
        self._state = HealthState.OK
        shift = (self._site.clock() - recorded[-1].ended_at) if recorded else None
        previous = recorded[0].ended_at if recorded else None
        for record in recorded:
            if self._config.speed > 0 and previous is not None:
                gap = (record.ended_at - previous).total_seconds() / self._config.speed
                await asyncio.sleep(max(0.0, gap))
            previous = record.ended_at
            if self._config.shift_to_now and shift is not None:
                record = replace(
                    record, started_at=record.started_at + shift, ended_at=record.ended_at + shift
                )
            self._counters.inc("records")
            yield replace(record, source=self.name)
        self._done = True

    def health(self) -> Health:
        summary = "finished" if self._done else "replaying"
        return Health(self._state, summary, counters=self._counters.snapshot())
