"""The catch-up back-ends by `backend:` name (a line each)."""

from __future__ import annotations

from drivers.sources.asterisk.cdr.backend import Backend
from drivers.sources.asterisk.cdr.config import CatchupConfig
from drivers.sources.asterisk.cdr.csvfile import CsvBackend
from drivers.sources.asterisk.cdr.mysql import MysqlBackend
from drivers.sources.asterisk.cdr.sqlite import SqliteBackend

BACKENDS: dict[str, type[CsvBackend] | type[MysqlBackend] | type[SqliteBackend]] = {
    "mysql": MysqlBackend,
    "csv": CsvBackend,
    "sqlite": SqliteBackend,
}


def make_backend(config: CatchupConfig) -> Backend:
    return BACKENDS[config.backend](config)
