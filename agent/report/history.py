"""A deterministic, realistic call history of a dealership, written straight to a store.

Used by the report tests, the report bench and `ringback demo --history`. Same spec,
same seed -> the same rows, byte for byte. What it models (site-local time):

- Service takes about 80 % of the calls, Sales about 12 %, Parts about 8 %.
- Service peaks on Monday mornings (8-10 h), Parts in the late afternoon (15-17 h),
  Sales in the evening (17-20 h) all week including Saturday.
- Each department has a staffed capacity per hour; the share of unanswered calls
  rises when the hour's expected volume goes past it (so the peaks are where calls
  are lost). Calls outside opening hours go to voicemail or hang up.
- A storm Monday: Service volume x1.8 while half the staff could not come in.
- Tyre rushes: three busy Service weeks from early April and mid-October. The rushes
  of the last 52 weeks start three weeks later than the year before (a late spring,
  a mild autumn), which the report's week-by-week comparison must show.
- 4 % short abandons (misdials), 0.2 % unknown outcomes; most missed calls get a
  text, some texts get a reply, about half the missed callers are recovered
  (called back, called again and were answered, or replied). A caller who missed a
  closed department is called back, or calls again and is answered, only once it
  opens: nobody is there to reach them at night.
- With `cases=True` (the demo's), each unanswered call also has its recovery case,
  closed, from the same draws (the calls are the same rows with or without): reached
  when the caller was called back (its first attempt then) or called again and was
  answered, replied when they answered the text, expired otherwise; an SLA of an
  hour for calls in opening hours. One case per call: a caller's repeated misses are
  not joined as the running daemon joins them.

Rows are generated in time order and inserted with `executemany` in one transaction.
"""

from __future__ import annotations

import math
import queue
import random
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent.store.schema import MIGRATIONS

DEPARTMENT_SHARES = {"service": 0.80, "sales": 0.12, "parts": 0.08}
# Relative volume per weekday (Monday first) and per local hour, per department.
WEEKDAY_FACTORS = {
    "service": (1.55, 1.1, 1.0, 0.95, 0.9, 0.3, 0.05),
    "sales": (1.0, 1.0, 1.0, 1.05, 1.0, 1.1, 0.3),
    "parts": (1.0, 1.0, 1.0, 1.0, 1.05, 0.2, 0.02),
}
OPEN_HOURS = {  # [first, last) local hour, per weekday
    "service": ((7, 18),) * 5 + ((8, 12), (0, 0)),
    "sales": ((9, 21),) * 4 + ((9, 18), (10, 16), (0, 0)),
    "parts": ((7, 17),) * 5 + ((0, 0), (0, 0)),
}
STORM_VOLUME = 1.8
STORM_CAPACITY = 0.5
TYRE_RUSH_VOLUME = 1.6
TYRE_RUSH_WEEKS = 3
SEASON_SHIFT_WEEKS = 3


def _hour_profile(department: str) -> tuple[float, ...]:
    """Relative volume by local hour 0..23 (outside opening hours: stray callers)."""
    base = [0.04] * 24
    shape = {
        "service": (0.2, 1.6, 2.4, 2.1, 1.5, 1.0, 0.9, 1.2, 1.0, 1.0, 0.9, 0.6, 0.2, 0.1, 0.08),
        "parts": (0.1, 0.7, 0.9, 1.0, 1.0, 1.0, 0.8, 1.0, 1.2, 1.8, 2.2, 0.4, 0.1, 0.08, 0.06),
        "sales": (0.05, 0.1, 0.3, 0.6, 0.7, 0.9, 0.8, 0.9, 1.0, 1.1, 1.3, 1.8, 2.0, 2.0, 1.4),
    }[department]
    base[6 : 6 + len(shape)] = shape  # 06h to 20h
    base[21] = 0.1 if department == "sales" else 0.05
    return tuple(base)


HOUR_PROFILES = {name: _hour_profile(name) for name in DEPARTMENT_SHARES}

# Where a caller who hung up in the phone menu was: "" = main menu.
IVR_LOSS_PATHS = {"service": (("", 0.3), ("2", 0.7)), "sales": (("", 0.5), ("1", 0.5))}
IVR_LOSS_PATHS["parts"] = (("", 0.4), ("3", 0.6))
IVR_PATHS = {"service": (("2*1", 0.6), ("2*2", 0.4)), "sales": (("1", 1.0),)}
IVR_PATHS["parts"] = (("3", 1.0),)
QUEUES = {"service": "service", "sales": "sales", "parts": "parts"}
DIDS = {"service": "5145550102", "sales": "5145550101", "parts": "5145550103"}
# Unanswered outcomes while open, and after hours.
OPEN_LOSSES = (
    ("missed", 0.35),
    ("voicemail", 0.25),
    ("abandoned_queue", 0.20),
    ("abandoned_ivr", 0.15),
    ("busy", 0.05),
)
CLOSED_LOSSES = (("voicemail", 0.7), ("missed", 0.2), ("abandoned_ivr", 0.1))
SHORT_ABANDON_SHARE = 0.04
UNKNOWN_SHARE = 0.002
BASE_MISS = 0.08
MEAN_TALK_SECONDS = 210.0  # the answered calls' talk time is uniform on 60..360 s
OCCUPANCY = 0.85  # of a person's hour on the phone
EXTENSIONS = {
    "service": tuple(f"2{n:02d}" for n in range(1, 9)),
    "sales": tuple(f"3{n:02d}" for n in range(1, 7)),
    "parts": tuple(f"4{n:02d}" for n in range(1, 5)),
}
CAPACITY = {"service": 1.25, "sales": 1.4, "parts": 1.3}  # x the mean open-hour volume


@dataclass(frozen=True, slots=True)
class HistorySpec:
    """What to generate: `days` local days ending with `end` (inclusive)."""

    end: date
    days: int = 728
    calls_per_day: float = 300.0
    seed: int = 7
    timezone: str = "America/Toronto"
    storm_day: date | None = None
    tyre_rushes: tuple[date, ...] = ()
    source: str = "history"
    cases: bool = False  # a recovery case per unanswered call (see the module's text)

    @property
    def first(self) -> date:
        return self.end - timedelta(days=self.days - 1)


@dataclass(slots=True)
class HistoryFacts:
    """What was written, for tests and the demo to check against."""

    spec: HistorySpec
    calls: int = 0
    messages: int = 0
    replies: int = 0
    cases: int = 0
    by_department: dict[str, int] = field(default_factory=dict)


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def tyre_rushes(first: date, end: date) -> tuple[date, ...]:
    """The Mondays tyre rushes start: early April and mid-October of each year, three
    weeks later for the rushes of the last 52 weeks than for the year before."""
    recent = end - timedelta(days=363)
    found: list[date] = []
    for year in range(first.year - 1, end.year + 1):
        for month, day in ((4, 1), (10, 12)):
            start = _monday_on_or_after(date(year, month, day))
            if start >= recent:
                start += timedelta(weeks=SEASON_SHIFT_WEEKS)
            if first <= start + timedelta(weeks=TYRE_RUSH_WEEKS) and start <= end:
                found.append(start)
    return tuple(found)


def dealership_history(
    end: date, days: int = 728, calls_per_day: float = 300.0, seed: int = 7
) -> HistorySpec:
    """The standard history: a storm Monday about nine weeks before `end` and tyre
    rushes three weeks later in the last 52 weeks than in the 52 before."""
    first = end - timedelta(days=days - 1)
    storm = _monday_on_or_after(end - timedelta(days=66))
    if storm < first:
        storm = _monday_on_or_after(first + timedelta(days=days // 2))
    return HistorySpec(
        end=end,
        days=days,
        calls_per_day=calls_per_day,
        seed=seed,
        storm_day=storm,
        tyre_rushes=tyre_rushes(first, end),
    )


# --- the generator -----------------------------------------------------------------

CallRow = tuple[object, ...]


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    x = rng.random()
    for value, weight in table:
        x -= weight
        if x < 0:
            return value
    return table[-1][0]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _weights(spec: HistorySpec) -> dict[str, float]:
    """Calls per department per unit of (weekday factor x hour profile), so that an
    average week gives `calls_per_day` calls a day."""
    out = {}
    for dept, share in DEPARTMENT_SHARES.items():
        week = sum(WEEKDAY_FACTORS[dept]) * sum(HOUR_PROFILES[dept])
        out[dept] = spec.calls_per_day * 7 * share / week
    return out


def _capacity(spec: HistorySpec, weights: dict[str, float]) -> dict[str, float]:
    """Calls an hour each department answers before losses rise."""
    out = {}
    for dept in DEPARTMENT_SHARES:
        volumes = [
            weights[dept] * WEEKDAY_FACTORS[dept][wd] * HOUR_PROFILES[dept][h]
            for wd in range(7)
            for h in range(*OPEN_HOURS[dept][wd])
        ]
        out[dept] = CAPACITY[dept] * sum(volumes) / max(1, len(volumes))
    return out


def _in_rush(day: date, rushes: tuple[date, ...]) -> bool:
    return any(start <= day < start + timedelta(weeks=TYRE_RUSH_WEEKS) for start in rushes)


# Times go to SQLite as Unix seconds and are formatted there (C is much faster than
# Python at it) into the store's form, `ts()`'s: microseconds, +00:00.
_TS = "strftime('%Y-%m-%dT%H:%M:%f000+00:00', ?, 'unixepoch')"


@dataclass(slots=True)
class _Out:
    calls: list[CallRow] = field(default_factory=list)
    messages: list[CallRow] = field(default_factory=list)
    replies: list[CallRow] = field(default_factory=list)
    cases: list[CallRow] = field(default_factory=list)


class _Generator:
    def __init__(self, spec: HistorySpec, first_id: int) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.tz = ZoneInfo(spec.timezone)
        self.weights = _weights(spec)
        self.capacity = _capacity(spec, self.weights)
        self.next_id = first_id
        self.numbers = max(500, int(spec.calls_per_day * 40))

    def days(self) -> Iterator[_Out]:
        for offset in range(self.spec.days):
            day = self.spec.first + timedelta(days=offset)
            out = _Out()
            for hour in range(24):
                start = datetime.combine(day, time(hour), self.tz).timestamp()
                for dept in DEPARTMENT_SHARES:
                    self._hour(out, day, hour, start, dept)
            out.calls.sort(key=lambda row: float(row[5]))  # type: ignore[arg-type]
            yield out

    def _hour(self, out: _Out, day: date, hour: int, start: float, dept: str) -> None:
        wd = day.weekday()
        lam = self.weights[dept] * WEEKDAY_FACTORS[dept][wd] * HOUR_PROFILES[dept][hour]
        capacity = self.capacity[dept]
        if dept == "service" and _in_rush(day, self.spec.tyre_rushes):
            lam *= TYRE_RUSH_VOLUME
        if day == self.spec.storm_day:
            lam *= STORM_VOLUME if dept == "service" else 1.2
            capacity *= STORM_CAPACITY
        first, last = OPEN_HOURS[dept][wd]
        is_open = first <= hour < last
        p_miss = BASE_MISS + 0.6 * max(0.0, 1.0 - capacity / lam) if lam > 0 else 0.0
        people = max(1, math.ceil(capacity * MEAN_TALK_SECONDS / 3600.0 / OCCUPANCY))
        for _ in range(_poisson(self.rng, lam)):
            self._call(out, dept, start + self.rng.random() * 3600.0, is_open, p_miss, people)

    def _call(
        self, out: _Out, dept: str, at: float, is_open: bool, p_miss: float, people: int
    ) -> None:
        rng = self.rng
        call_id, self.next_id = self.next_id, self.next_id + 1
        number = f"+1514{2_000_000 + int(rng.random() * self.numbers):07d}"
        x = rng.random()
        ivr_path = _pick(rng, IVR_PATHS[dept])
        queue: str | None = None
        department = dept
        if x < UNKNOWN_SHARE:
            outcome, ring = "unknown", 10.0
        elif x < UNKNOWN_SHARE + SHORT_ABANDON_SHARE:
            outcome, ring, ivr_path = "short_abandon", 2.0, ""
        elif is_open and rng.random() >= p_miss:
            outcome, ring, queue = "answered", 5.0 + x * 40, QUEUES[dept]
        else:
            outcome = _pick(rng, OPEN_LOSSES if is_open else CLOSED_LOSSES)
            ring = 10.0 + x * 50
            if outcome == "abandoned_ivr":
                ivr_path = _pick(rng, IVR_LOSS_PATHS[dept])
                if not ivr_path:
                    department = "service"  # hung up in the main menu: the default
            elif outcome == "abandoned_queue":
                queue = QUEUES[dept]
        answered = outcome == "answered"
        talk = 60.0 + rng.random() * 300 if answered else 0.0
        end = at + ring + talk
        recovered: tuple[float | None, str | None] = (None, None)
        unanswered = not answered and outcome not in {"short_abandon", "unknown"}
        if unanswered:
            template = "open" if is_open else "after_hours"
            reachable = self._next_open(department, end)
            recovered = self._texts(out, call_id, number, department, end, reachable, template)
            if self.spec.cases:
                out.cases.append(_case(number, department, call_id, end, is_open, recovered))
        # In the order of the parameters of _INSERT_CALL.
        out.calls.append(
            (
                *recovered,
                call_id,
                self.spec.source,
                f"h{call_id:010d}",
                at,
                end,
                "inbound",
                outcome,
                number[2:],
                number,
                DIDS[dept],
                queue,
                ivr_path,
                ring,
                8.0 if ivr_path else 0.0,
                talk,
                # The hour's staff take calls in turn (no extra draw: same rows as before).
                EXTENSIONS[dept][call_id % people % len(EXTENSIONS[dept])] if answered else None,
                department,
                int(not is_open),
                "notify" if unanswered else f"skip:{outcome}",
            )
        )

    def _next_open(self, dept: str, at: float) -> float:
        """`at` while `dept` is open, else when it next opens: the first moment a
        person there can call back or answer the caller's next call."""
        local = datetime.fromtimestamp(at, self.tz)
        for k in range(8):
            day = local.date() + timedelta(days=k)
            first, last = OPEN_HOURS[dept][day.weekday()]
            if last > first and local < datetime.combine(day, time(last), self.tz):
                return max(at, datetime.combine(day, time(first), self.tz).timestamp())
        return at

    def _texts(
        self,
        out: _Out,
        call_id: int,
        number: str,
        dept: str,
        end: float,
        reachable: float,
        template: str,
    ) -> tuple[float | None, str | None]:
        """The text about a missed call, maybe a reply, maybe a recovery: a call back
        or the caller's next, answered call, from `reachable` on (the PBX can only show
        a person reaching the caller while the department is open); a reply any time."""
        rng = self.rng
        recovered: tuple[float, str] | None = None
        r = rng.random()
        if r < 0.30:
            recovered = (reachable + rng.expovariate(1 / 2400.0) + 120, "callback")
        elif r < 0.42:
            recovered = (reachable + rng.expovariate(1 / 5400.0) + 60, "answered_again")
        if rng.random() < 0.88:
            sent = end + 90.0
            state = "sent" if recovered is None or recovered[0] > sent else "suppressed"
            out.messages.append(
                (
                    call_id,
                    number,
                    dept,
                    template,
                    state,
                    sent,
                    sent + 14400,
                    int(state == "sent"),
                    end + 1,
                )
            )
            if state == "sent" and recovered is None and rng.random() < 0.22:
                replied = sent + rng.expovariate(1 / 900.0) + 30
                out.replies.append((number, replied))
                recovered = (replied, "reply")
        if recovered is None:
            return None, None
        return recovered


SLA_SECONDS = 3600.0
CASE_EXPIRY_SECONDS = 7 * 86400.0


def _case(
    number: str,
    department: str,
    call_id: int,
    end: float,
    is_open: bool,
    recovered: tuple[float | None, str | None],
) -> CallRow:
    """The case of one unanswered call, in the order of `_INSERT_CASE`'s parameters."""
    at, how = recovered
    reached = at if how in {"callback", "answered_again"} else None
    replied = at if how == "reply" else None
    first = at if how == "callback" else None
    resolution = "reached" if reached is not None else "expired"
    closed = reached if reached is not None else end + CASE_EXPIRY_SECONDS
    return (
        number,
        number[2:],
        department,
        resolution,
        str(call_id),
        end,
        end,
        end + SLA_SECONDS if is_open else None,
        first,
        int(first is not None),
        replied,
        reached,
        closed,
        closed,
        closed,
    )


_INSERT_CALL = (
    "INSERT INTO calls (id, source, pbx_call_id, started_at, ended_at, received_at, direction, "
    "outcome, caller_raw, caller_e164, remote_e164, caller_name, dialed, queue, ivr_path, "
    "ring_seconds, ivr_seconds, queue_seconds, talk_seconds, answered_by, extensions, "
    "department, after_hours, decision, recovered_at, recovered_by) "
    "SELECT a, b, c, s, e, e, d, f, g, h, h, NULL, i, j, k, l, m, 0, n, o, '', p, q, r, "
    f"{_TS}, ? FROM (SELECT ? AS a, ? AS b, ? AS c, {_TS} AS s, {_TS} AS e, ? AS d, ? AS f, "
    "? AS g, ? AS h, ? AS i, ? AS j, ? AS k, ? AS l, ? AS m, ? AS n, ? AS o, ? AS p, ? AS q, "
    "? AS r LIMIT 1 OFFSET 0)"  # OFFSET: not flattened, each strftime runs once
)
_INSERT_MESSAGE = (
    "INSERT INTO messages (call_id, to_e164, department, template, language, dedup_key, state, "
    "not_before, expires_at, attempts, created_at, updated_at, sent_at) "
    "SELECT a, b, c, d, 'fr', b || ':' || a, f, s, x, g, k, s, CASE WHEN f = 'sent' THEN s END "
    f"FROM (SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS f, {_TS} AS s, {_TS} AS x, ? AS g, "
    f"{_TS} AS k LIMIT 1 OFFSET 0)"
)
_INSERT_CASE = (
    "INSERT INTO cases (caller_e164, caller_raw, department, state, resolution, calls, "
    "call_ids, opened_at, last_miss_at, sla_due_at, first_attempt_at, attempts, replied_at, "
    "reached_at, closed_at, touched_at, updated_at) "
    f"VALUES (?, ?, ?, 'closed', ?, 1, ?, {_TS}, {_TS}, {_TS}, {_TS}, ?, {_TS}, {_TS}, "
    f"{_TS}, {_TS}, {_TS})"
)
_INSERT_REPLY = (
    "INSERT INTO replies (from_e164, body, received_at, sender, kind) "
    f"VALUES (?, 'ok merci', {_TS}, 'history', 'reply')"
)


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Apply the store's migrations to a plain connection (same rule as `Store`)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number in range(version, len(MIGRATIONS)):
        conn.executescript(
            f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; PRAGMA user_version={number + 1}; COMMIT;"
        )


# Secondary indexes are dropped during the load and rebuilt once at the end (a sort
# instead of a random b-tree insert per row), inside the same transaction.
_SECONDARY = (
    "calls_ended", "calls_remote", "calls_report", "messages_due", "messages_to",
    "messages_created", "messages_counted",
)  # fmt: skip


def write_history(conn: sqlite3.Connection, spec: HistorySpec) -> HistoryFacts:
    """Generate `spec` into the store behind `conn` in one transaction. A thread
    generates day after day while this one inserts (SQLite works without the GIL)."""
    ensure_schema(conn)
    first_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM calls").fetchone()[0])
    facts = HistoryFacts(spec)
    days: queue.Queue[_Out | BaseException | None] = queue.Queue(maxsize=8)
    producer = threading.Thread(
        target=_produce, args=(_Generator(spec, first_id), days), name="history", daemon=True
    )
    conn.execute("BEGIN IMMEDIATE")
    try:
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN "
            f"({','.join('?' * len(_SECONDARY))})",
            _SECONDARY,
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        producer.start()
        while (out := days.get()) is not None:
            if isinstance(out, BaseException):
                raise out
            _insert(conn, out, facts)
        for _, sql in indexes:
            conn.execute(sql)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        if producer.is_alive():
            _drain(days)
            producer.join()
    conn.execute("COMMIT")
    return facts


def _produce(generator: _Generator, days: queue.Queue[_Out | BaseException | None]) -> None:
    try:
        for out in generator.days():
            days.put(out)
    except BaseException as err:  # handed to the inserting thread
        days.put(err)
        return
    days.put(None)


def _drain(days: queue.Queue[_Out | BaseException | None]) -> None:
    """Unblock a producer whose consumer gave up (keeps taking until it ends)."""
    while days.get() is not None:
        pass


def _insert(conn: sqlite3.Connection, out: _Out, facts: HistoryFacts) -> None:
    conn.executemany(_INSERT_CALL, out.calls)
    conn.executemany(_INSERT_MESSAGE, out.messages)
    conn.executemany(_INSERT_REPLY, out.replies)
    conn.executemany(_INSERT_CASE, out.cases)
    facts.calls += len(out.calls)
    facts.messages += len(out.messages)
    facts.replies += len(out.replies)
    facts.cases += len(out.cases)
    for row in out.calls:
        dept = str(row[18])
        facts.by_department[dept] = facts.by_department.get(dept, 0) + 1


def write_history_file(path: str, spec: HistorySpec) -> HistoryFacts:
    """Open (or create) the store file at `path`, write the history, close it."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA cache_size=-131072")  # 128 MB: the indexes' random inserts
        return write_history(conn, spec)
    finally:
        conn.close()
