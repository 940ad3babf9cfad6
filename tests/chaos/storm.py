"""Storms of calls for the chaos suite, and the invariants checked after each run.

`Storm` takes the recorded AMI scenarios (tests/fixtures/ami/) and makes copies with
fresh identities: every `Uniqueid`/`Linkedid` moved to an id of its own, every
channel suffix moved, the caller's number given four digits of its own, the
timestamps moved to now. The outcome each copy must be stored with is the one its
scenario's JSON names: the truth, known from the uncut recording. `Invariants`
reads the daemon's database (read-only) and the fake peers and prints the table.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from drivers.sources.asterisk.demo import shift_to_now

AMI = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
SKIPPED = {"internal_unanswered"}  # an internal call: no caller, nothing to text
_ID_LINE = re.compile(rb"^(\w*(?:Uniqueid|Linkedid)): (\d+)\.(\d+)\r$", re.MULTILINE)
_CHANNEL = re.compile(rb"-([0-9a-f]{8})(?=[;\r,/])")


@dataclass(frozen=True)
class Copy:
    """One call of the storm: its stream and the truth about it."""

    key: int
    scenario: str
    number: str  # the national ten digits the copy's caller has
    outcome: str
    stream: bytes


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)[-10:]


def make_copy(scenario: str, key: int) -> Copy:
    """Scenario `scenario` with fresh ids and a caller of its own (`key` < 10000)."""
    truth = json.loads((AMI / f"{scenario}.json").read_text())
    (call,) = truth["calls"]
    data = (AMI / f"{scenario}.ami").read_bytes()
    old = _digits(call["caller_number"])
    new = old[:-4] + f"{key:04d}"
    data = data.replace(old.encode(), new.encode())

    def new_id(m: re.Match[bytes]) -> bytes:
        return m.group(1) + b": " + m.group(2) + b".%d\r" % (int(m.group(3)) + key * 1000)

    def new_channel(m: re.Match[bytes]) -> bytes:
        return b"-%08x" % ((int(m.group(1), 16) + key * 0x100) & 0xFFFFFFFF)

    data = _CHANNEL.sub(new_channel, _ID_LINE.sub(new_id, data))
    return Copy(key, scenario, new, call["expected_outcome"], data)


def scenarios() -> list[str]:
    return sorted(p.stem for p in AMI.glob("*.ami") if p.stem not in SKIPPED)


@dataclass
class Storm:
    """Copies handed out with keys never used twice in one run."""

    rng: random.Random
    next_key: int = 1
    copies: list[Copy] = field(default_factory=list)

    def burst(self, per_scenario: int) -> list[Copy]:
        batch = []
        for _ in range(per_scenario):
            for name in scenarios():
                batch.append(make_copy(name, self.next_key))
                self.next_key += 1
        self.rng.shuffle(batch)
        self.copies += batch
        return batch


def now_streams(batch: list[Copy]) -> list[bytes]:
    """The copies' streams with their timestamps moved so the latest call ends now."""
    moved = shift_to_now({str(c.key): c.stream for c in batch})
    return [moved[str(c.key)] for c in batch]


# --- what the daemon stored -------------------------------------------------------------


def stored_calls(db: Path) -> dict[str, list[tuple[str, str | None, int]]]:
    """By the caller's national ten digits: (outcome, decision, row id) of each row."""
    out: dict[str, list[tuple[str, str | None, int]]] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        for outcome, decision, row, raw, e164 in conn.execute(
            "SELECT outcome, decision, id, caller_raw, remote_e164 FROM calls"
        ):
            number = _digits(e164 or raw or "")
            out.setdefault(number, []).append((outcome, decision, row))
    return out


def messages(db: Path) -> list[tuple[int | None, str, str, str | None]]:
    """(call row id, to, state, last_error) of every message."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return list(conn.execute("SELECT call_id, to_e164, state, last_error FROM messages"))


def open_messages(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM messages WHERE state IN ('pending','retry_wait','sending')"
        ).fetchone()
        return int(count)


@dataclass
class Invariants:
    """Each invariant: what it checks, how many items, how many broke it."""

    rows: list[tuple[str, int, int]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, name: str, items: int, broken: list[str]) -> None:
        self.rows.append((name, items, len(broken)))
        self.failures += [f"{name}: {b}" for b in broken[:10]]

    def table(self, title: str) -> str:
        width = max(len(r[0]) for r in self.rows)
        lines = [
            f"\n{title}",
            f"| {'invariant'.ljust(width)} | checked | broken |",
            f"|{'-' * (width + 2)}|---------|--------|",
        ]
        for name, items, broken in self.rows:
            lines.append(f"| {name.ljust(width)} | {items:7d} | {broken:6d} |")
        return "\n".join(lines)


def check_calls(
    inv: Invariants, db: Path, settled: list[Copy], in_flight: list[Copy]
) -> dict[str, list[tuple[str, str | None, int]]]:
    """Calls completed while connected: exactly once, true outcome. Calls in progress
    at a kill or a drop: at most once, never with a wrong outcome other than unknown."""
    stored = stored_calls(db)
    broken = []
    for c in settled:
        rows = stored.get(c.number, [])
        if len(rows) != 1 or rows[0][0] != c.outcome:
            broken.append(f"{c.scenario}#{c.key}: stored {rows}, expected one {c.outcome}")
    inv.check("call completed while connected: stored once, true outcome", len(settled), broken)
    broken = []
    for c in in_flight:
        rows = stored.get(c.number, [])
        if len(rows) > 1 or any(r[0] not in (c.outcome, "unknown") for r in rows):
            broken.append(f"{c.scenario}#{c.key}: stored {rows}, expected <= one {c.outcome}")
    inv.check("call in progress at a kill/drop: at most once, never wrong", len(in_flight), broken)
    return stored


def check_messages(
    inv: Invariants,
    db: Path,
    stored: dict[str, list[tuple[str, str | None, int]]],
    sent_to: list[str],
) -> None:
    """Every notify decision has one message; no number texted twice at the peer;
    every message ended sent, failed (rejected or gave up) or suppressed (expired,
    recovered, opted out) with a reason."""
    rows = messages(db)
    by_call: dict[int | None, int] = {}
    for call_id, _, _, _ in rows:
        by_call[call_id] = by_call.get(call_id, 0) + 1
    notified = [r for rs in stored.values() for r in rs if r[1] == "notify"]
    broken = [f"call row {r[2]}: {by_call.get(r[2], 0)} messages" for r in notified]
    broken = [b for b, r in zip(broken, notified, strict=True) if by_call.get(r[2], 0) != 1]
    inv.check("notify decision: exactly one message", len(notified), broken)
    counts: dict[str, int] = {}
    for to in sent_to:
        counts[to] = counts.get(to, 0) + 1
    dupes = [f"{to[:-4]}****: {n} sends" for to, n in counts.items() if n > 1]
    inv.check("no duplicate send (counted at the fake peer)", len(counts), dupes)
    ended, parked = [], []
    for call_id, to, state, error in rows:
        if state == "sent":
            continue
        if state == "unknown" and error:
            # an ambiguous answer the lookup could not settle: parked for a technician
            parked.append(f"call row {call_id} to {to[:-4]}****: {error}")
            continue
        if state not in ("failed", "suppressed") or not error:
            ended.append(f"call row {call_id}: {state} ({error})")
    inv.check("message ends sent, rejected, expired or parked, with a reason", len(rows), ended)
    inv.rows.append(("  of which parked `unknown` after an ambiguous answer", len(parked), 0))


_NUMBER_RUN = re.compile(r"(?<!\d)\d{10,15}(?!\d)")


def check_logs(inv: Invariants, log: str, secrets: list[str], copies: list[Copy]) -> None:
    """No secret and no caller's full number in any line the daemon logged."""
    numbers = {c.number for c in copies}
    broken = []
    lines = log.splitlines()
    for number, line in enumerate(lines, 1):
        if any(s in line for s in secrets):
            broken.append(f"line {number}: a secret")
        for run in _NUMBER_RUN.findall(line):
            if run[-10:] in numbers:
                broken.append(f"line {number}: full number {run[:-4]}****")
    inv.check("no secret and no full number in a log line", len(lines), broken)
