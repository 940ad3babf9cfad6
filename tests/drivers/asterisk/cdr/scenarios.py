"""FreePBX-shaped CDR and CEL rows of one call per scenario, and writers that put them
where each back-end reads them (MariaDB tables, Master.csv, a cdr_sqlite3_custom file).

Rows follow the CDR specification's shapes: one row per dial attempt with the caller as
Party A, the losers of a ring group `NO ANSWER`, a machine that answers (IVR, queue,
voicemail) `ANSWERED` with no Party B, queue members ringing through Local channels.
Times are naive site-local datetimes, as FreePBX writes them without CDRUSEGMT.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from agent.model import Direction, Outcome
from drivers.sources.asterisk.cdr.config import CSV_BASE, CSV_OPTIONAL

Row = dict[str, object]
TRUNK = "PJSIP/trunk-0000"
CALLER = "5145551001"
DID = "5145550000"


@dataclass
class Scenario:
    name: str
    linkedid: str
    outcome: Outcome
    direction: Direction
    cdr: list[Row] = field(default_factory=list)
    cel: list[Row] = field(default_factory=list)


def cdr(
    at: datetime,
    lid: str,
    *,
    duration: int,
    billsec: int,
    disposition: str,
    channel: str,
    dstchannel: str = "",
    lastapp: str = "Dial",
    lastdata: str = "",
    dcontext: str = "ext-group",
    src: str = CALLER,
    dst: str = "600",
    uniqueid: str | None = None,
    sequence: int = 0,
    did: str = DID,
) -> Row:
    return {
        "calldate": at,
        "clid": f'"CUSTOMER" <{src}>',
        "src": src,
        "dst": dst,
        "dcontext": dcontext,
        "channel": channel,
        "dstchannel": dstchannel,
        "lastapp": lastapp,
        "lastdata": lastdata,
        "duration": duration,
        "billsec": billsec,
        "disposition": disposition,
        "amaflags": 3,
        "uniqueid": uniqueid or lid,
        "linkedid": lid,
        "sequence": sequence,
        "did": did,
        "cnum": src,
    }


def cel(
    at: datetime,
    lid: str,
    eventtype: str,
    *,
    channame: str,
    context: str = "from-pstn",
    exten: str = DID,
    appname: str = "",
    appdata: str = "",
    uniqueid: str | None = None,
    extra: str = "",
) -> Row:
    return {
        "eventtype": eventtype,
        "eventtime": at,
        "cid_num": CALLER,
        "exten": exten,
        "context": context,
        "channame": channame,
        "appname": appname,
        "appdata": appdata,
        "uniqueid": uniqueid or lid,
        "linkedid": lid,
        "extra": extra,
    }


def scenarios(base: datetime) -> list[Scenario]:
    """One call per scenario, a few minutes apart from `base`."""
    out: list[Scenario] = []
    t = base

    def step() -> datetime:
        nonlocal t
        t += timedelta(minutes=5)
        return t

    at = step()
    lid = "1764600001.10"
    trunk = f"{TRUNK}0010"
    out.append(
        Scenario(
            "answered",
            lid,
            Outcome.ANSWERED,
            Direction.INBOUND,
            cdr=[
                cdr(
                    at,
                    lid,
                    duration=60,
                    billsec=50,
                    disposition="ANSWERED",
                    channel=trunk,
                    dstchannel="PJSIP/201-00000011",
                    sequence=1,
                ),
                cdr(
                    at,
                    lid,
                    duration=10,
                    billsec=0,
                    disposition="NO ANSWER",
                    channel=trunk,
                    dstchannel="PJSIP/202-00000012",
                    sequence=2,
                ),
            ],
        )
    )
    at = step()
    lid = "1764600002.20"
    trunk = f"{TRUNK}0020"
    out.append(
        Scenario(
            "missed",
            lid,
            Outcome.MISSED,
            Direction.INBOUND,
            cdr=[
                cdr(
                    at,
                    lid,
                    duration=20,
                    billsec=0,
                    disposition="NO ANSWER",
                    channel=trunk,
                    dstchannel="PJSIP/201-00000021",
                    sequence=1,
                ),
                cdr(
                    at,
                    lid,
                    duration=20,
                    billsec=0,
                    disposition="NO ANSWER",
                    channel=trunk,
                    dstchannel="PJSIP/202-00000022",
                    sequence=2,
                ),
            ],
        )
    )
    at = step()
    lid = "1764600003.30"
    trunk = f"{TRUNK}0030"
    out.append(
        Scenario(
            "voicemail",
            lid,
            Outcome.VOICEMAIL,
            Direction.INBOUND,
            cdr=[
                cdr(
                    at,
                    lid,
                    duration=15,
                    billsec=0,
                    disposition="NO ANSWER",
                    channel=trunk,
                    dstchannel="PJSIP/201-00000031",
                    sequence=1,
                    dcontext="ext-local",
                    dst="201",
                ),
                cdr(
                    at + timedelta(seconds=15),
                    lid,
                    duration=30,
                    billsec=29,
                    disposition="ANSWERED",
                    channel=trunk,
                    lastapp="VoiceMail",
                    lastdata="201@default,u",
                    sequence=2,
                    dcontext="ext-local",
                    dst="vmu201",
                ),
            ],
        )
    )
    at = step()
    lid = "1764600004.40"
    trunk = f"{TRUNK}0040"
    out.append(
        Scenario(
            "busy",
            lid,
            Outcome.BUSY,
            Direction.INBOUND,
            cdr=[
                cdr(
                    at,
                    lid,
                    duration=6,
                    billsec=0,
                    disposition="BUSY",
                    channel=trunk,
                    dstchannel="PJSIP/201-00000041",
                    sequence=1,
                    dcontext="ext-local",
                    dst="201",
                ),
            ],
        )
    )
    at = step()
    lid = "1764600005.50"
    trunk = f"{TRUNK}0050"
    out.append(
        Scenario(
            "ivr_hangup",
            lid,
            Outcome.ABANDONED_IVR,
            Direction.INBOUND,
            cdr=[
                cdr(
                    at,
                    lid,
                    duration=12,
                    billsec=12,
                    disposition="ANSWERED",
                    channel=trunk,
                    lastapp="BackGround",
                    lastdata="custom/menu",
                    dcontext="ivr-1",
                    dst="s",
                ),
            ],
            cel=[
                cel(at, lid, "CHAN_START", channame=trunk),
                cel(
                    at, lid, "ANSWER", channame=trunk, context="ivr-1", exten="s", appname="Answer"
                ),
                cel(
                    at + timedelta(seconds=12),
                    lid,
                    "HANGUP",
                    channame=trunk,
                    context="ivr-1",
                    exten="s",
                    appname="BackGround",
                    appdata="custom/menu",
                    extra=f'{{"hangupcause":16,"hangupsource":"{trunk}","dialstatus":""}}',
                ),
                cel(
                    at + timedelta(seconds=12),
                    lid,
                    "CHAN_END",
                    channame=trunk,
                    context="ivr-1",
                    exten="s",
                ),
                cel(
                    at + timedelta(seconds=12),
                    lid,
                    "LINKEDID_END",
                    channame=trunk,
                    context="ivr-1",
                    exten="s",
                ),
            ],
        )
    )
    at = step()
    lid = "1764600006.60"
    trunk = f"{TRUNK}0060"
    member = "Local/201@from-queue-00000061"
    out.append(
        Scenario(
            "queue_abandon",
            lid,
            Outcome.ABANDONED_QUEUE,
            Direction.INBOUND,
            cdr=[
                cdr(
                    at,
                    lid,
                    duration=40,
                    billsec=39,
                    disposition="ANSWERED",
                    channel=trunk,
                    lastapp="Queue",
                    lastdata="400,t,,,300",
                    dcontext="ext-queues",
                    dst="400",
                    sequence=1,
                ),
                cdr(
                    at + timedelta(seconds=1),
                    lid,
                    duration=38,
                    billsec=0,
                    disposition="NO ANSWER",
                    channel=trunk,
                    dstchannel=f"{member};1",
                    lastapp="Queue",
                    lastdata="400,t,,,300",
                    dcontext="ext-queues",
                    dst="400",
                    sequence=2,
                ),
                cdr(
                    at + timedelta(seconds=1),
                    lid,
                    duration=38,
                    billsec=0,
                    disposition="NO ANSWER",
                    channel=f"{member};2",
                    dstchannel="PJSIP/201-00000062",
                    dcontext="from-queue",
                    dst="201",
                    uniqueid="1764600006.61",
                    sequence=3,
                    src="400",
                    did="",
                ),
            ],
            cel=[
                cel(at, lid, "CHAN_START", channame=trunk),
                cel(
                    at + timedelta(seconds=1),
                    lid,
                    "APP_START",
                    channame=trunk,
                    context="ext-queues",
                    exten="400",
                    appname="Queue",
                    appdata="400,t,,,300",
                ),
                cel(
                    at + timedelta(seconds=40),
                    lid,
                    "HANGUP",
                    channame=trunk,
                    context="ext-queues",
                    exten="400",
                    appname="Queue",
                    appdata="400,t,,,300",
                    extra=f'{{"hangupcause":16,"hangupsource":"{trunk}","dialstatus":""}}',
                ),
                cel(
                    at + timedelta(seconds=40),
                    lid,
                    "LINKEDID_END",
                    channame=trunk,
                    context="ext-queues",
                    exten="400",
                ),
            ],
        )
    )
    at = step()
    lid = "1764600007.70"
    out.append(
        Scenario(
            "internal",
            lid,
            Outcome.ANSWERED,
            Direction.INTERNAL,
            cdr=[
                cdr(
                    at,
                    lid,
                    duration=90,
                    billsec=80,
                    disposition="ANSWERED",
                    channel="PJSIP/201-00000070",
                    dstchannel="PJSIP/202-00000071",
                    dcontext="from-internal",
                    src="201",
                    dst="202",
                    did="",
                ),
            ],
        )
    )
    at = step()
    lid = "1764600008.80"
    out.append(
        Scenario(
            "outbound",
            lid,
            Outcome.ANSWERED,
            Direction.OUTBOUND,
            cdr=[
                cdr(
                    at,
                    lid,
                    duration=130,
                    billsec=100,
                    disposition="ANSWERED",
                    channel="PJSIP/201-00000080",
                    dstchannel="PJSIP/trunk-00000081",
                    dcontext="from-internal",
                    src="201",
                    dst="5145559999",
                    did="",
                ),
            ],
        )
    )
    return out


def in_progress(base: datetime) -> Scenario:
    """A call still up: a ring leg's Local half wrote its CDR, the caller's is not written."""
    at = base + timedelta(minutes=55)
    lid = "1764600009.90"
    return Scenario(
        "in_progress",
        lid,
        Outcome.UNKNOWN,
        Direction.INBOUND,
        cdr=[
            cdr(
                at,
                lid,
                duration=5,
                billsec=0,
                disposition="NO ANSWER",
                channel="Local/202@from-queue-00000091;2",
                dstchannel="PJSIP/202-00000092",
                uniqueid="1764600009.91",
                dcontext="from-queue",
                src="400",
                did="",
            ),
        ],
    )


# --- writers -----------------------------------------------------------------------------


def _stamp(value: object) -> str:
    assert isinstance(value, datetime)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def csv_line(row: Row) -> list[object]:
    """One Master.csv line with every optional column (21, newcdrcolumns=yes)."""
    start = row["calldate"]
    assert isinstance(start, datetime)
    duration, billsec = int(str(row["duration"])), int(str(row["billsec"]))
    values: dict[str, object] = {
        "accountcode": "",
        **{k: row[k] for k in ("src", "dst", "dcontext", "clid", "channel", "dstchannel")},
        "lastapp": row["lastapp"],
        "lastdata": row["lastdata"],
        "start": _stamp(start),
        "answer": _stamp(start + timedelta(seconds=duration - billsec)) if billsec else "",
        "end": _stamp(start + timedelta(seconds=duration)),
        "duration": duration,
        "billsec": billsec,
        "disposition": row["disposition"],
        "amaflags": "DOCUMENTATION",
        "uniqueid": row["uniqueid"],
        "userfield": "",
        "peeraccount": "",
        "linkedid": row["linkedid"],
        "sequence": row["sequence"],
    }
    return [values[name] for name in (*CSV_BASE, *CSV_OPTIONAL)]


def write_csv(path: Path, rows: list[Row], extra_lines: Sequence[str] = ()) -> None:
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        for row in rows:
            writer.writerow(csv_line(row))
        for line in extra_lines:
            handle.write(line + "\n")


SQLITE_COLUMNS = (
    "calldate",
    "clid",
    "src",
    "dst",
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
    "linkedid",
    "sequence",
)


def write_sqlite(path: Path, rows: list[Row], columns: tuple[str, ...] = SQLITE_COLUMNS) -> None:
    """Rows as cdr_sqlite3_custom writes them: `AcctId INTEGER PRIMARY KEY` + the
    configured columns, every value text (it inserts the `values=` strings)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS cdr (AcctId INTEGER PRIMARY KEY, {', '.join(columns)})"
        )
        marks = ", ".join("?" * len(columns))
        for row in rows:
            values = [_stamp(row[c]) if c == "calldate" else str(row.get(c, "")) for c in columns]
            conn.execute(f"INSERT INTO cdr ({', '.join(columns)}) VALUES ({marks})", values)
        conn.commit()
    finally:
        conn.close()
