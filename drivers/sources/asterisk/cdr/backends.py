"""The catch-up back-ends by `backend:` name (a line each): module and class, imported
when a catch-up of that back-end is made (the MySQL one brings PyMySQL, which a site
reading Master.csv, or with no catch-up at all, never loads)."""

from __future__ import annotations

import importlib

from drivers.sources.asterisk.cdr.backend import Backend
from drivers.sources.asterisk.cdr.config import CatchupConfig

_PACKAGE = "drivers.sources.asterisk.cdr"
BACKENDS: dict[str, tuple[str, str]] = {
    "mysql": ("mysql", "MysqlBackend"),
    "csv": ("csvfile", "CsvBackend"),
    "sqlite": ("sqlite", "SqliteBackend"),
}


def make_backend(config: CatchupConfig) -> Backend:
    module, name = BACKENDS[config.backend]
    backend: Backend = getattr(importlib.import_module(f"{_PACKAGE}.{module}"), name)(config)
    return backend
