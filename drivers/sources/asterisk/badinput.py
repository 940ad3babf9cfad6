"""Bad input bookkeeping: a named counter per kind and one log line per kind."""

from __future__ import annotations

import logging

from agent.model import Counters

log = logging.getLogger("drivers.sources.asterisk")


class BadInput:
    """Counts every bad input by kind; logs the first one of each kind only.

    The counters live in the shared `Counters` so `health().counters` shows them; the
    log stays quiet after the first line, so a flood of garbage cannot fill the disk.
    """

    __slots__ = ("_counters", "_logged", "_name")

    def __init__(self, counters: Counters, name: str) -> None:
        self._counters = counters
        self._logged: set[str] = set()
        self._name = name

    def __call__(self, kind: str, detail: str) -> None:
        self._counters.inc(kind)
        if kind not in self._logged:
            self._logged.add(kind)
            log.warning(
                "asterisk: driver=%s bad input %s: %s (further ones are only counted)",
                self._name,
                kind,
                detail[:200],
            )
