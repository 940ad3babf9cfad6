"""Catch-up reads of each back-end (FreePBX's MariaDB, Master.csv, cdr_sqlite3_custom)
judged into the true outcome of every scenario, with bad rows counted and skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.model import CallRecord, Direction, Evidence, Outcome
from drivers.sources.asterisk.cdr.backend import CatchupError
from tests.drivers.asterisk.cdr.conftest import (
    PASSWORD,
    make_catchup,
    make_config,
    mysql_options,
)
from tests.drivers.asterisk.cdr.scenarios import (
    Scenario,
    cdr,
    in_progress,
    scenarios,
    write_csv,
    write_sqlite,
)
from tests.peers.mariadb import MariaDB

DAY_AGO = datetime.now(UTC) - timedelta(hours=24)


def by_call(records: list[CallRecord]) -> dict[str, CallRecord]:
    return {r.call_id: r for r in records}


def assert_true_outcomes(found: dict[str, CallRecord], cases: list[Scenario]) -> None:
    for case in cases:
        record = found[case.linkedid]
        assert (case.name, record.outcome, record.direction) == (
            case.name,
            case.outcome,
            case.direction,
        )
        assert record.evidence is Evidence.CDR


def load(mariadb: MariaDB, db: str, cases: list[Scenario]) -> None:
    mariadb.insert(db, "cdr", [row for case in cases for row in case.cdr])
    mariadb.insert(db, "cel", [row for case in cases for row in case.cel])


# --- FreePBX's MariaDB -----------------------------------------------------------------


async def test_mysql_every_scenario_true_outcome(
    mariadb: MariaDB, cdrdb: str, base: datetime
) -> None:
    """Through a read-only user, every FreePBX scenario (answered, missed, voicemail,
    busy, IVR hang-up, queue abandon, internal, outbound) gets its true outcome and
    direction with `evidence: cdr`; the caller, DID, queue and answering extension come
    from the rows; a call still up (caller's CDR not written) is left for later."""
    cases = scenarios(base)
    load(mariadb, cdrdb, [*cases, in_progress(base)])
    reader, counters = make_catchup(make_config(**mysql_options(mariadb, cdrdb)))
    result = await reader.read(DAY_AGO, set())
    found = by_call(result.records)
    assert_true_outcomes(found, cases)
    assert set(found) == {c.linkedid for c in cases}
    assert result.incomplete == 1 and counters.get("cdr_calls_incomplete") == 1
    answered = found["1764600001.10"]
    assert (answered.caller_raw, answered.dialed, answered.answered_by) == (
        "5145551001",
        "5145550000",
        "201",
    )
    assert answered.talk_seconds == 50
    assert found["1764600006.60"].queue == "400"
    assert found["1764600008.80"].dialed == "5145559999"
    assert result.records == sorted(result.records, key=lambda r: r.ended_at)


async def test_mysql_skips_calls_ami_saw(mariadb: MariaDB, cdrdb: str, base: datetime) -> None:
    """A linkedid AMI already handed on (or still follows) is not yielded again."""
    cases = scenarios(base)
    load(mariadb, cdrdb, cases)
    reader, counters = make_catchup(make_config(**mysql_options(mariadb, cdrdb)))
    result = await reader.read(DAY_AGO, {"1764600001.10", "1764600002.20"})
    assert "1764600001.10" not in by_call(result.records)
    assert "1764600002.20" not in by_call(result.records)
    assert len(result.records) == len(cases) - 2
    assert counters.get("cdr_calls_known") == 2


async def test_mysql_without_cel_reads_cdr_alone(
    mariadb: MariaDB, cdrdb: str, base: datetime
) -> None:
    """With CEL not readable (no such table), the queue abandon and the IVR hang-up are
    still told apart from the CDR's last application, and the note says CEL is off."""
    cases = scenarios(base)
    load(mariadb, cdrdb, cases)
    options = mysql_options(mariadb, cdrdb, cel_table="cel_absent")
    reader, _ = make_catchup(make_config(**options))
    result = await reader.read(DAY_AGO, set())
    assert_true_outcomes(by_call(result.records), cases)
    assert "cel_absent" in result.note


async def test_mysql_bad_row_counted_and_skipped(
    mariadb: MariaDB, cdrdb: str, base: datetime
) -> None:
    """A row with a negative duration is counted (`cdr_bad_number`) and skipped, once
    however many reads see it; the call beside it is still judged."""
    cases = scenarios(base)
    bad = cdr(
        base + timedelta(minutes=1),
        "1764600099.1",
        duration=-5,
        billsec=0,
        disposition="NO ANSWER",
        channel="PJSIP/trunk-00000999",
    )
    load(mariadb, cdrdb, cases)
    mariadb.insert(cdrdb, "cdr", [bad])
    reader, counters = make_catchup(make_config(**mysql_options(mariadb, cdrdb)))
    first = await reader.read(DAY_AGO, set())
    await reader.read(DAY_AGO, set())
    assert counters.get("cdr_bad_number") == 1
    assert len(first.records) == len(cases)


async def test_mysql_wrong_password_is_a_clear_error(mariadb: MariaDB, cdrdb: str) -> None:
    """A refused login raises CatchupError naming the user and the server, never the
    password, and counts `catchup_failures`."""
    options = mysql_options(mariadb, cdrdb, password="not-the-password")
    reader, counters = make_catchup(make_config(**options))
    with pytest.raises(CatchupError) as caught:
        await reader.read(DAY_AGO, set())
    assert "'ringback'" in str(caught.value) and "Access denied" in str(caught.value)
    assert "not-the-password" not in str(caught.value)
    assert counters.get("catchup_failures") == 1


async def test_mysql_password_from_environment(
    mariadb: MariaDB, cdrdb: str, base: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CDR password follows the secret rules: RINGBACK_<PBX>_CDR_PASSWORD works."""
    monkeypatch.setenv("RINGBACK_PBX_CDR_PASSWORD", PASSWORD)
    options = mysql_options(mariadb, cdrdb)
    del options["password"]
    config = make_config(**options)
    assert config.catchup is not None and config.catchup.password is not None
    load(mariadb, cdrdb, scenarios(base)[:1])
    reader, _ = make_catchup(config)
    assert len((await reader.read(DAY_AGO, set())).records) == 1


async def test_mysql_window_starts_at_since(mariadb: MariaDB, cdrdb: str, base: datetime) -> None:
    """Rows before the watermark are not read: only the calls after it come back."""
    cases = scenarios(base)
    load(mariadb, cdrdb, cases)
    reader, _ = make_catchup(make_config(**mysql_options(mariadb, cdrdb)))
    since = datetime.now(UTC) - timedelta(hours=2) + timedelta(minutes=27)
    found = by_call((await reader.read(since, set())).records)
    assert set(found) == {c.linkedid for c in cases[5:]}


# --- Master.csv ---------------------------------------------------------------------------


async def test_master_csv_every_scenario_and_bad_lines(tmp_path: Path, base: datetime) -> None:
    """Master.csv with every optional column: every scenario gets its true outcome; a
    garbage duration, an unparseable date and a line of an unexpected column count are
    counted by kind, once across reads, and skipped."""
    cases = scenarios(base)
    path = tmp_path / "Master.csv"
    stamp = (base + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    garbage = [
        f'"","5145551002","600","ext-group","x","PJSIP/t-1","","Dial","","{stamp}","","{stamp}"'
        ',abc,0,"NO ANSWER","DOCUMENTATION","1.1","","","1.1",0',
        '"","5145551002","600","ext-group","x","PJSIP/t-1","","Dial","","yesterday","",'
        '"yesterday",5,0,"NO ANSWER","DOCUMENTATION","1.2","","","1.2",0',
        '"","5145551002","600","ext-group"',
    ]
    write_csv(path, [row for case in cases for row in case.cdr], garbage)
    reader, counters = make_catchup(make_config(backend="csv", path=str(path)))
    result = await reader.read(DAY_AGO, set())
    assert_true_outcomes(by_call(result.records), cases)
    await reader.read(DAY_AGO, set())
    counts = [counters.get(k) for k in ("cdr_bad_number", "cdr_bad_date", "csv_bad_columns")]
    assert counts == [1, 1, 1]


async def test_master_csv_sample_layout_without_linkedid(tmp_path: Path, base: datetime) -> None:
    """The sample cdr.conf layout (18 columns: uniqueid and userfield, no linkedid):
    each uniqueid is a call; a one-row busy call is still judged busy."""
    case = scenarios(base)[3]
    path = tmp_path / "Master.csv"
    write_csv(path, case.cdr)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(",".join(line.split(",")[:18]) for line in lines) + "\n")
    reader, _ = make_catchup(make_config(backend="csv", path=str(path)))
    (record,) = (await reader.read(DAY_AGO, set())).records
    assert (record.call_id, record.outcome) == (case.linkedid, Outcome.BUSY)


async def test_master_csv_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """A Master.csv that is not there raises CatchupError naming the path."""
    reader, _ = make_catchup(make_config(backend="csv", path=str(tmp_path / "none.csv")))
    with pytest.raises(CatchupError, match=r"none\.csv"):
        await reader.read(DAY_AGO, set())


# --- cdr_sqlite3_custom ---------------------------------------------------------------


async def test_sqlite_every_scenario_and_bad_rows(tmp_path: Path, base: datetime) -> None:
    """A cdr_sqlite3_custom file configured with src/dst/linkedid: every scenario gets
    its true outcome; text garbage in duration or calldate is counted and skipped."""
    cases = scenarios(base)
    path = tmp_path / "master.db"
    bad_number = cdr(base, "1.1", duration=0, billsec=0, disposition="BUSY", channel="PJSIP/x")
    bad_number["duration"] = "lots"
    write_sqlite(path, [row for case in cases for row in case.cdr] + [bad_number])
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO cdr (calldate, uniqueid, linkedid) VALUES ('soon', '1.2', '1.2')")
    reader, counters = make_catchup(make_config(backend="sqlite", path=str(path)))
    result = await reader.read(DAY_AGO, set())
    assert_true_outcomes(by_call(result.records), cases)
    assert (counters.get("cdr_bad_number"), counters.get("cdr_bad_date")) == (1, 1)


async def test_sqlite_sample_columns(tmp_path: Path, base: datetime) -> None:
    """The sample column list (no src, dst, linkedid): the caller comes from clid and an
    IVR hang-up (one row) is judged abandoned_ivr, inbound."""
    case = scenarios(base)[4]
    path = tmp_path / "master.db"
    sample = (
        "calldate",
        "clid",
        "dcontext",
        "channel",
        "dstchannel",
        "lastapp",
        "lastdata",
        "duration",
        "billsec",
        "disposition",
        "amaflags",
        "accountcode",
        "uniqueid",
        "userfield",
    )
    write_sqlite(path, case.cdr, sample)
    reader, _ = make_catchup(make_config(backend="sqlite", path=str(path)))
    (record,) = (await reader.read(DAY_AGO, set())).records
    assert (record.outcome, record.direction, record.caller_raw) == (
        Outcome.ABANDONED_IVR,
        Direction.INBOUND,
        "5145551001",
    )


def test_the_backend_table_names_every_backend_of_the_config() -> None:
    """BACKENDS names a module and a class (imported when a catch-up of that back-end
    is made, so a site without MySQL never loads PyMySQL): one per `backend:` value,
    each a class with the Backend methods."""
    import importlib
    from typing import get_args

    from drivers.sources.asterisk.cdr.backends import _PACKAGE, BACKENDS
    from drivers.sources.asterisk.cdr.config import CatchupConfig

    assert set(BACKENDS) == set(get_args(CatchupConfig.model_fields["backend"].annotation))
    for module, name in BACKENDS.values():
        backend = getattr(importlib.import_module(f"{_PACKAGE}.{module}"), name)
        assert callable(backend.read) and callable(backend.probe)
