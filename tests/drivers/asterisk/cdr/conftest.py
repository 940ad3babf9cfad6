"""Fixtures of the catch-up tests: a real MariaDB holding FreePBX's CDR/CEL schema, a
Master.csv and a cdr_sqlite3_custom file, each filled with the scenarios' rows."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.model import Counters
from drivers.base import SiteContext
from drivers.sources.asterisk.badinput import BadInput
from drivers.sources.asterisk.cdr.catchup import COUNTERS, Catchup
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.dialplan import Dialplan
from tests.peers.mariadb import MariaDB, require_mariadb, sql_statements

SCHEMA = Path(__file__).parents[3] / "fixtures" / "cdr" / "freepbx-asteriskcdrdb.sql"
TZ = ZoneInfo("America/Toronto")
PASSWORD = "r3ad-only-Pw"
_numbers = itertools.count(1)


def local_now() -> datetime:
    return datetime.now(TZ).replace(tzinfo=None, microsecond=0)


@pytest.fixture
def base() -> datetime:
    """Two hours ago, site-local and naive, as FreePBX writes `calldate`."""
    return local_now() - timedelta(hours=2)


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    require_mariadb()
    server = MariaDB(tmp_path_factory.mktemp("mariadb"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cdrdb(mariadb: MariaDB) -> str:
    """A fresh `asteriskcdrdb`-like database with FreePBX's schema and a read-only
    user `ringback` granted SELECT on `cdr` and `cel` only."""
    name = f"asteriskcdrdb_{next(_numbers)}"
    mariadb.execute([f"CREATE DATABASE {name}"])
    mariadb.execute(sql_statements(SCHEMA.read_text(encoding="utf-8")), database=name)
    mariadb.execute(
        [
            f"CREATE USER IF NOT EXISTS 'ringback'@'localhost' IDENTIFIED BY '{PASSWORD}'",
            f"GRANT SELECT ON {name}.cdr TO 'ringback'@'localhost'",
            f"GRANT SELECT ON {name}.cel TO 'ringback'@'localhost'",
        ]
    )
    return name


def make_config(**catchup: Any) -> AsteriskConfig:
    return AsteriskConfig(name="pbx", secret="s3cret", catchup=catchup)


def mysql_options(mariadb: MariaDB, database: str, **more: Any) -> dict[str, Any]:
    return {
        "backend": "mysql",
        "unix_socket": str(mariadb.socket),
        "user": "ringback",
        "password": PASSWORD,
        "database": database,
        **more,
    }


def make_catchup(config: AsteriskConfig) -> tuple[Catchup, Counters]:
    assert config.catchup is not None
    counters = Counters(*COUNTERS)
    reader = Catchup(
        config.catchup,
        config.name,
        TZ,
        Dialplan(config),
        config.short_abandon_seconds,
        counters,
        BadInput(counters, config.name),
    )
    return reader, counters


@pytest.fixture
def site() -> SiteContext:
    return SiteContext(name="test-site", tz=TZ, country="CA")
