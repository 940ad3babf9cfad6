"""CDR catch-up of a day: `.venv/bin/python -m bench.bench_cdr` (< 60 s).

A real MariaDB (Debian's mariadbd, in a temporary data directory, as the tests start
it) holds FreePBX's schema with a day of calls: 5,000 CDR rows (the eight scenarios of
the catch-up tests, repeated with their own linkedids: answered, missed, voicemail,
busy, IVR hang-up, queue abandon, internal, outbound) and their CEL rows.

Baseline, same run, same server, same rows: a plain `SELECT` of those CDR and CEL rows
through PyMySQL (connect, query, fetch), the least any reader must do. Measured: the
catch-up read the source runs (connect as the read-only user, column discovery, both
SELECTs, every row parsed, grouped by linkedid and judged into records). Best of five
rounds each, interleaved, wall clock and this process's CPU time (the shared machine's
load inflates wall time; CPU time shows what the code costs). Limits: the catch-up of
the day < 2 s (issue 14), and at most 4 x the baseline (parse + judge stay within a
few times the cost of merely fetching the rows).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import Figure, Sample, report
from drivers.sources.asterisk.cdr.backend import CDR_COLUMNS, CEL_COLUMNS
from drivers.sources.asterisk.cdr.backends import make_backend
from tests.drivers.asterisk.cdr.conftest import (
    PASSWORD,
    SCHEMA,
    local_now,
    make_catchup,
    make_config,
    mysql_options,
)
from tests.drivers.asterisk.cdr.scenarios import Row, scenarios
from tests.peers.mariadb import MariaDB, _find, sql_statements

ROWS = 5_000
ROUNDS = 3  # each figure the median of three, with its spread
DB = "asteriskcdrdb"


def day_of_rows() -> tuple[list[Row], list[Row], int]:
    """CDR rows, CEL rows and the number of calls of one day."""
    cdr: list[Row] = []
    cel: list[Row] = []
    calls = 0
    start = local_now() - timedelta(hours=23)
    n = 0
    while len(cdr) < ROWS:
        for case in scenarios(start + timedelta(seconds=200 * n)):
            for row in [*case.cdr, *case.cel]:
                row = dict(row)
                row["linkedid"] = f"{row['linkedid']}_{n}"
                row["uniqueid"] = f"{row['uniqueid']}_{n}"
                (cdr if "calldate" in row else cel).append(row)
            calls += 1
        n += 1
    return cdr, cel, calls


def fill(server: MariaDB, cdr: list[Row], cel: list[Row]) -> None:
    server.execute([f"CREATE DATABASE {DB}"])
    server.execute(sql_statements(SCHEMA.read_text(encoding="utf-8")), database=DB)
    server.execute(
        [
            f"CREATE USER 'ringback'@'localhost' IDENTIFIED BY '{PASSWORD}'",
            f"GRANT SELECT ON {DB}.cdr TO 'ringback'@'localhost'",
            f"GRANT SELECT ON {DB}.cel TO 'ringback'@'localhost'",
        ]
    )
    conn = server.connect(database=DB)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET SESSION sql_mode = ''")
            for table, rows in (("cdr", cdr), ("cel", cel)):
                names = list(rows[0])
                sql = (
                    f"INSERT INTO {table} ({', '.join(names)}) "
                    f"VALUES ({', '.join(['%s'] * len(names))})"
                )
                cursor.executemany(sql, [tuple(r[k] for k in names) for r in rows])
    finally:
        conn.close()


def plain_select(server: MariaDB, since: datetime) -> tuple[float, int]:
    begin = time.perf_counter()
    conn = server.connect(user="ringback", password=PASSWORD, database=DB)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(CDR_COLUMNS)} FROM cdr WHERE calldate >= %s", (since,)
            )
            count = len(cursor.fetchall())
            cel = [c for c in CEL_COLUMNS if c != "eventextra"]
            cursor.execute(f"SELECT {', '.join(cel)} FROM cel WHERE eventtime >= %s", (since,))
            cursor.fetchall()
    finally:
        conn.close()
    return time.perf_counter() - begin, count


def main() -> None:
    if _find("mariadbd") is None:
        print("bench_cdr: mariadbd is not installed (apt-get install mariadb-server); skipped")
        return
    cdr, cel, calls = day_of_rows()
    with tempfile.TemporaryDirectory(prefix="bench-cdr-") as root:
        server = MariaDB(Path(root))
        server.start()
        try:
            fill(server, cdr, cel)
            config = make_config(**mysql_options(server, DB, max_lookback_hours=25))
            reader, _ = make_catchup(config)
            assert config.catchup is not None
            backend = make_backend(config.catchup)
            since = datetime.now(UTC) - timedelta(hours=24)
            local_since = local_now() - timedelta(hours=24)
            read_best = float("inf")
            bases: list[float] = []
            catches: list[float] = []
            base_cpus: list[float] = []
            catch_cpus: list[float] = []
            judged = selected = 0
            for _ in range(ROUNDS):
                cpu = time.process_time()
                seconds, selected = plain_select(server, local_since)
                base_cpus.append(time.process_time() - cpu)
                bases.append(seconds)
                begin = time.perf_counter()
                backend.read(local_since)
                read_best = min(read_best, time.perf_counter() - begin)
                begin, cpu = time.perf_counter(), time.process_time()
                result = asyncio.run(reader.read(since, set()))
                catches.append(time.perf_counter() - begin)
                catch_cpus.append(time.process_time() - cpu)
                judged = len(result.records)
        finally:
            server.stop()
    base_best, catch_best = min(bases), min(catches)
    catch_cpu, base_cpu = min(catch_cpus), min(base_cpus)
    print(
        f"{selected} CDR rows, {len(cel)} CEL rows, {judged}/{calls} calls judged; "
        f"plain SELECT {base_best * 1000:.0f} ms, back-end read alone {read_best * 1000:.0f} ms, "
        f"catch-up {catch_best * 1000:.0f} ms (CPU {catch_cpu * 1000:.0f} ms, "
        f"plain SELECT CPU {base_cpu * 1000:.0f} ms)"
    )
    report(
        [
            Figure("cdr catch-up of a day (5,000 rows)", Sample.of(catches), "s", 2.0, False),
            Figure(
                "cdr catch-up / plain SELECT (wall)",
                Sample.of([c / b for c, b in zip(catches, bases, strict=True)]),
                "x",
                4.0,
                False,
            ),
            Figure(
                "cdr catch-up / plain SELECT (CPU)",
                Sample.of([c / b for c, b in zip(catch_cpus, base_cpus, strict=True)]),
                "x",
                4.0,
                False,
            ),
        ]
    )


if __name__ == "__main__":
    main()
