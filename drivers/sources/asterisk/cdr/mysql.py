"""FreePBX's `asteriskcdrdb` on MariaDB/MySQL (cdr_adaptive_odbc + cel_odbc), read with
PyMySQL by a read-only user (`GRANT SELECT ON asteriskcdrdb.cdr` and `.cel`).

Only the columns the table has are selected (old installs lack linkedid/sequence; the
judge then treats each uniqueid as a call). CEL rows are ordered by `id`: MariaDB's
`datetime` drops the microseconds, so `eventtime` cannot order them. A CEL table that
is missing or not granted is not an error: the judge reads CDR alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymysql
import pymysql.cursors

from drivers.sources.asterisk.cdr.backend import CDR_COLUMNS, CEL_COLUMNS, Batch, CatchupError
from drivers.sources.asterisk.cdr.config import CatchupConfig
from drivers.sources.asterisk.cdr.rows import RawRow

# MySQL error numbers that mean "no such table" / "not granted".
_NO_TABLE = frozenset({1146, 1142, 1143})


class MysqlBackend:
    def __init__(self, config: CatchupConfig) -> None:
        self._config = config

    def _connect(self) -> pymysql.connections.Connection[Any]:
        cfg = self._config
        timeout = max(1, int(cfg.timeout_seconds))
        try:
            return pymysql.connect(
                host=cfg.host,
                port=cfg.port,
                unix_socket=str(cfg.unix_socket) if cfg.unix_socket else None,
                user=cfg.user,
                password=cfg.password.get_secret_value() if cfg.password else "",
                database=cfg.database,
                connect_timeout=timeout,
                read_timeout=timeout,
                charset="utf8mb4",
                cursorclass=pymysql.cursors.DictCursor,
            )
        except pymysql.MySQLError as err:
            raise CatchupError(f"cannot connect to {self._where()}: {_describe(err)}") from err

    def _where(self) -> str:
        cfg = self._config
        place = str(cfg.unix_socket) if cfg.unix_socket else f"{cfg.host}:{cfg.port}"
        return f"MySQL {place} database {cfg.database!r} as {cfg.user!r}"

    def read(self, since: datetime) -> Batch:
        cfg = self._config
        conn = self._connect()
        try:
            with conn.cursor() as cursor:
                cdr = _select(cursor, cfg.cdr_table, CDR_COLUMNS, "calldate", since, "calldate")
                batch = Batch(cdr=cdr)
                if cfg.cel_table is None:
                    batch.note = "CEL not configured"
                    return batch
                try:
                    batch.cel = _select(
                        cursor, cfg.cel_table, CEL_COLUMNS, "eventtime", since, "id"
                    )
                except pymysql.MySQLError as err:
                    if _code(err) not in _NO_TABLE:
                        raise
                    batch.note = f"CEL table {cfg.cel_table!r} not readable: {_describe(err)}"
                return batch
        except pymysql.MySQLError as err:
            raise CatchupError(f"{self._where()}: {_describe(err)}") from err
        finally:
            conn.close()

    def probe(self) -> str:
        cfg = self._config
        conn = self._connect()
        try:
            with conn.cursor() as cursor:
                columns = _columns(cursor, cfg.cdr_table)
                cursor.execute(f"SELECT MAX(calldate) AS last FROM `{cfg.cdr_table}`")
                row = cursor.fetchone() or {}
                found = [f"{self._where()}: table {cfg.cdr_table!r} readable"]
                found.append(f"last CDR at {row.get('last') or 'never'}")
                if "linkedid" not in columns:
                    found.append("no linkedid column (each channel judged alone)")
                if cfg.cel_table is not None:
                    try:
                        _columns(cursor, cfg.cel_table)
                        found.append(f"CEL table {cfg.cel_table!r} readable")
                    except pymysql.MySQLError as err:
                        found.append(f"CEL not readable ({_describe(err)}): CDR only")
                return ", ".join(found)
        except pymysql.MySQLError as err:
            raise CatchupError(f"{self._where()}: {_describe(err)}") from err
        finally:
            conn.close()


def _columns(cursor: Any, table: str) -> set[str]:
    cursor.execute(f"SHOW COLUMNS FROM `{table}`")
    return {str(row["Field"]).lower() for row in cursor.fetchall()}


def _select(
    cursor: Any, table: str, wanted: tuple[str, ...], when: str, since: datetime, order: str
) -> list[RawRow]:
    present = _columns(cursor, table)
    names = [c for c in wanted if c in present]
    if when not in present:
        raise CatchupError(f"table {table!r} has no {when} column")
    ordering = order if order in present else when
    cursor.execute(
        f"SELECT {', '.join(f'`{c}`' for c in names)} FROM `{table}` "
        f"WHERE `{when}` >= %s ORDER BY `{ordering}`",
        (since,),
    )
    rows: list[RawRow] = list(cursor.fetchall())
    return rows


def _code(err: pymysql.MySQLError) -> int:
    first = err.args[0] if err.args else 0
    return first if isinstance(first, int) else 0


def _describe(err: pymysql.MySQLError) -> str:
    if len(err.args) >= 2:
        return f"{err.args[1]} (error {err.args[0]})"
    return str(err) or type(err).__name__
