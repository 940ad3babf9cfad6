"""Logging set-up: journald-friendly under systemd, plain with timestamps elsewhere.

Under systemd (`$JOURNAL_STREAM` set) each line starts with a `<N>` syslog priority
that journald maps to its own levels, and carries no timestamp (journald adds one).
Elsewhere: `HH:MM:SS LEVEL logger: message`.

The level comes from `logging.level` in the config; `--verbose` forces debug and stays
in force when the daemon re-applies the config's level. At INFO and above, every
run of digits of phone-number length in a line (with or without `+`, spaces or
dashes inside: `agent.numbers.mask_text`) is masked, a safety net behind the
masking each log call already does; dates, times and call ids stay readable. DEBUG
(`--verbose`, for a technician at the console) keeps them whole.
"""

from __future__ import annotations

import logging
import os
import sys

from agent.numbers import mask_text

_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}
_verbose = False


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return mask_text(text) if record.levelno >= logging.INFO else text


class JournalFormatter(PlainFormatter):
    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 6)
        text = super().format(record)
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def setup(level: str = "info", verbose: bool = False) -> None:
    global _verbose  # noqa: PLW0603 (the one process-wide switch of --verbose)
    _verbose = _verbose or verbose
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(
            PlainFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if _verbose else getattr(logging, level.upper(), logging.INFO))
    for noisy in ("aiosqlite", "asyncio", "aiohttp.access", "httpx", "httpcore", "panoramisk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
