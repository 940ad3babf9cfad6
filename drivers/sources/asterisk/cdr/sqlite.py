"""cdr_sqlite3_custom's database (`/var/log/asterisk/master.db`), opened read-only.

The columns are whatever `cdr_sqlite3_custom.conf` lists (the sample has no src, dst
or linkedid: the caller then comes from `clid` and each uniqueid is a call); the date
column is `calldate` (the sample) or `start`. Asterisk holds the file with a busy
timeout, so reads wait up to `timeout_seconds` for its lock.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from drivers.sources.asterisk.cdr.backend import CDR_COLUMNS, Batch, CatchupError
from drivers.sources.asterisk.cdr.config import CatchupConfig
from drivers.sources.asterisk.cdr.rows import RawRow

_DATE_COLUMNS = ("calldate", "start")
_WANTED = frozenset(CDR_COLUMNS) | {"start"}


class SqliteBackend:
    def __init__(self, config: CatchupConfig) -> None:
        assert config.path is not None  # the options require it
        self._path = config.path
        self._table = config.sqlite_table
        self._timeout = config.timeout_seconds

    def _connect(self) -> sqlite3.Connection:
        if not self._path.is_file():
            raise CatchupError(f"{self._path}: no such file")
        try:
            return sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=self._timeout)
        except sqlite3.Error as err:
            raise CatchupError(f"cannot open {self._path}: {err}") from err

    def _columns(self, conn: sqlite3.Connection) -> list[str]:
        rows = conn.execute(f'PRAGMA table_info("{self._table}")').fetchall()
        if not rows:
            raise CatchupError(f"{self._path}: no table {self._table!r}")
        return [str(r[1]) for r in rows]

    def read(self, since: datetime) -> Batch:
        conn = self._connect()
        try:
            columns = self._columns(conn)
            lower = {c.lower(): c for c in columns}
            when = next((lower[c] for c in _DATE_COLUMNS if c in lower), None)
            if when is None:
                raise CatchupError(f"{self._path}: table {self._table!r} has no calldate column")
            names = [lower[c] for c in lower if c in _WANTED]
            selected = ", ".join(f'"{c}"' for c in names)
            cursor = conn.execute(
                f"SELECT {selected} FROM "
                f'"{self._table}" WHERE typeof("{when}") != \'text\' OR "{when}" >= ?',
                (since.strftime("%Y-%m-%d %H:%M:%S"),),
            )
            keys = [c.lower() for c in names]
            rows: list[RawRow] = []
            for values in cursor:
                row = dict(zip(keys, values, strict=True))
                if "start" in row and "calldate" not in row:
                    row["calldate"] = row.pop("start")
                rows.append(row)
            return Batch(cdr=rows, note="CEL not in the CDR database")
        except sqlite3.Error as err:
            raise CatchupError(f"{self._path}: {err}") from err
        finally:
            conn.close()

    def probe(self) -> str:
        conn = self._connect()
        try:
            columns = [c.lower() for c in self._columns(conn)]
            (count,) = conn.execute(f'SELECT COUNT(*) FROM "{self._table}"').fetchone()
        except sqlite3.Error as err:
            raise CatchupError(f"{self._path}: {err}") from err
        finally:
            conn.close()
        missing = [c for c in ("src", "linkedid") if c not in columns]
        note = f", no {'/'.join(missing)} column(s)" if missing else ""
        return f"{self._path} table {self._table!r} readable ({count} rows{note})"
