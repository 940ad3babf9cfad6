"""SMDR parse rate and memory: `.venv/bin/python -m bench.bench_smdr` (< 60 s).

Baseline ("just reading and splitting the same lines", issue 4), measured in the
same run on the same bytes: read them in 64 KiB chunks, split into lines, decode
each line and split it into its comma fields. Decoding and the field split are in
the baseline because no parser of a text record can skip them; the issue's figures
(340-590 k lines/s) were taken with this baseline. For the record the bench also
prints the bytes-only rate (chunks split into lines, nothing else) and the ratio
against it, which is about 5 times stricter, and a ceiling: the baseline plus one
`CallRecord` per finished call (built the cheapest way, `new_call_record`) and
nothing else, the best ratio any parser that builds the record this way could reach;
and a floor, the least any parser can spend: lines split, decoded and cut at their
commas in C loops and one `CallRecord` per finished call built in place (plus, for
the families whose call id hashes the line, that hash on every line). A floor under
its limit says the goal is out of CPython's reach for that family.

Measured: the real path of the live source (framing, decoding, noise check, family
parser, call joining, CallRecord building, counters). Every call has its own Call ID
and start time, so no per-call cache can answer from an earlier copy of the block.
Baseline and parse runs are interleaved, three of each, and the median of each is
printed with its spread (the machine is shared). Limits, measured in the same run:
parse rate >= 0.1 x the raw `bytes.split(b"\r\n")` of the same bytes (issue 20) and
>= 0.5 x the decode+fields baseline (issue 4); resident memory growth over 1 M
records <= 16 MB (flat). The other families are measured the same way on their
fixtures' lines against the raw split of the same bytes, same limit.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import repeat as repeat_
from typing import Any, cast
from zoneinfo import ZoneInfo

from agent.model import CallRecord, Counters, Direction, Evidence, Outcome, new_call_record
from bench.harness import RUNS, Figure, Sample, current_rss_mb, interleaved, report, scaled
from drivers.sources.smdr.config import SmdrConfig
from drivers.sources.smdr.families import make_parser
from drivers.sources.smdr.framing import LineFramer
from drivers.sources.smdr.ingest import COUNTERS, Ingest
from drivers.sources.smdr.parsing import content_id
from tests.drivers.smdr.helpers import VENDORS, fixture_lines

CHUNK = 64 * 1024
BLOCK_CALLS = 2000
RECORDS = 1_000_000
RECEIVED = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)


def ipoffice_block() -> tuple[bytes, int]:
    """IP Office lines, each call with its own Call ID and Call Start (continuation
    segments keep sharing both): bytes, calls."""
    lines: list[str] = []
    calls = 0
    template = fixture_lines("avaya-ipoffice")
    for n in range(BLOCK_CALLS // 11):
        for line in template:
            fields = line.split(",")
            start = datetime.strptime(fields[0], "%Y/%m/%d %H:%M:%S") + timedelta(seconds=61 * n)
            fields[0] = start.strftime("%Y/%m/%d %H:%M:%S")
            fields[9] = str(2_000_000 + n * 100 + int(fields[9]) % 100)
            lines.append(",".join(fields))
        calls += 11
    return ("\r\n".join(lines) + "\r\n").encode(), calls


def split_only(data: bytes, repeat: int) -> float:
    """Lines per second of read + split into lines (bytes, nothing else)."""
    count = 0
    start = time.perf_counter()
    for _ in range(repeat):
        tail = b""
        for at in range(0, len(data), CHUNK):
            parts = (tail + data[at : at + CHUNK]).split(b"\r\n")
            tail = parts.pop()
            count += len(parts)
    return count / (time.perf_counter() - start)


def baseline(data: bytes, repeat: int) -> float:
    """Lines per second of read + split + decode + field split."""
    count = 0
    start = time.perf_counter()
    for _ in range(repeat):
        tail = b""
        for at in range(0, len(data), CHUNK):
            parts = (tail + data[at : at + CHUNK]).split(b"\r\n")
            tail = parts.pop()
            for raw in parts:
                if raw:
                    raw.decode("utf-8").split(",")
                    count += 1
    return count / (time.perf_counter() - start)


def ceiling(data: bytes, repeat: int) -> float:
    """Lines per second of the baseline plus one CallRecord per finished call."""
    count = 0
    start = time.perf_counter()
    for _ in range(repeat):
        tail = b""
        for at in range(0, len(data), CHUNK):
            parts = (tail + data[at : at + CHUNK]).split(b"\r\n")
            tail = parts.pop()
            for raw in parts:
                if raw:
                    f = raw.decode("utf-8").split(",")
                    count += 1
                    if f[10] == "0":  # Continuation 0: this record finishes a call
                        new_call_record(
                            "bench", f[9], RECEIVED, RECEIVED, Direction.INBOUND,
                            Outcome.MISSED, f[3], None, f[5], 0.0, 0.0, None, (),
                        )  # fmt: skip
    return count / (time.perf_counter() - start)


# the families whose call id is a hash of the line (`content_id`): every line pays it
_CONTENT_IDS: dict[str, Callable[[str], str]] = {
    "mitel_5000": partial(content_id, "m5k"),
    "mitel_mivb": partial(content_id, "mivb"),
    "nec": partial(content_id, "nec"),
    "panasonic": partial(content_id, "pana"),
    "samsung": partial(content_id, "sam"),
}


class _Draft:
    """`CallRecord`'s slots, filled by plain stores and then given its class: the
    cheapest way CPython builds one (what the IP Office lane does)."""

    __slots__ = CallRecord.__slots__


def _record(call_id: str, caller: str, dialed: str) -> CallRecord:
    r: Any = object.__new__(_Draft)
    r.source, r.call_id, r.started_at, r.ended_at = "bench", call_id, RECEIVED, RECEIVED
    r.direction, r.outcome, r.caller_raw, r.caller_e164 = (
        Direction.INBOUND,
        Outcome.MISSED,
        caller,
        None,
    )
    r.caller_name, r.dialed, r.queue, r.ivr_path = None, dialed, None, ""
    r.ring_seconds, r.ivr_seconds, r.queue_seconds, r.talk_seconds = 0.0, 0.0, 0.0, 0.0
    r.answered_by, r.extensions, r.evidence = None, (), Evidence.LIVE
    r.__class__ = CallRecord
    return cast(CallRecord, r)


def floor(data: bytes, repeat: int, fmt: str = "avaya_ipoffice") -> float:
    """Lines per second of the least a parser of these lines can do: split the bytes
    into lines, decode them and cut each into its fields in C loops, and build one
    `CallRecord` per finished call the cheapest way (`_record`), nothing else. IP
    Office: a record finishes a call when its Continuation field is 0; 3CX: every
    line, fields at its commas; the families whose call id hashes the line also pay
    that hash (`content_id`) on every line, fields at the spaces."""
    count = 0
    out: list[CallRecord] = []
    hashed = _CONTENT_IDS.get(fmt)
    start = time.perf_counter()
    for _ in range(repeat):
        tail = b""
        for at in range(0, len(data), CHUNK):
            parts = (tail + data[at : at + CHUNK]).split(b"\r\n")
            tail = parts.pop()
            count += len(parts)
            texts = list(map(bytes.decode, parts))
            if fmt == "avaya_ipoffice":
                for f in map(str.split, texts, repeat_(","), repeat_(17)):
                    if f[10] == "0":
                        out.append(_record(f[9], f[3], f[5]))
            elif hashed is None:
                for f in map(str.split, texts, repeat_(",")):
                    out.append(_record(f[0], f[7], f[8]))
            else:
                for line, f in zip(texts, map(str.split, texts), strict=True):
                    out.append(_record(hashed(line), f[0], f[-1]))
            out.clear()
    return count / (time.perf_counter() - start)


def parse(data: bytes, repeat: int, ingest: Ingest) -> tuple[float, int]:
    """Lines per second through the source's own path; records produced."""
    framer = LineFramer()
    lines = records = 0
    start = time.perf_counter()
    for _ in range(repeat):
        for at in range(0, len(data), CHUNK):
            raws = framer.feed(data[at : at + CHUNK])
            lines += len(raws)
            records += len(ingest.lines(raws, RECEIVED))
    return lines / (time.perf_counter() - start), records


def family_figures() -> list[Figure]:
    """Every other family: its fixture's lines repeated to a block of about 2,000
    lines, read the source's way (line framing) against the raw split of the same
    bytes, interleaved. Content-hashed call ids and repeated lines: no cache in these
    parsers answers from an earlier copy."""
    figures: list[Figure] = []
    for stem, fmt in sorted(VENDORS.items()):
        if fmt == "avaya_ipoffice":
            continue
        cfg = SmdrConfig.model_validate({"name": "bench", "format": fmt, "listen": "127.0.0.1:1"})
        ingest = Ingest(make_parser(cfg, ZoneInfo("America/Toronto")), cfg, Counters(*COUNTERS))
        lines = [line for line in fixture_lines(stem) if line.strip()]
        block = ("\r\n".join(lines * (BLOCK_CALLS // len(lines) + 1)) + "\r\n").encode()
        hashed = fmt in _CONTENT_IDS
        got = interleaved(
            {
                "split": lambda b=block: split_only(b, 20),  # type: ignore[misc]
                "floor": lambda b=block, f=fmt: floor(b, 4, f),  # type: ignore[misc]
                "parse": lambda b=block, i=ingest: parse(b, 2, i)[0],  # type: ignore[misc]
            }
        )
        split = got["split"]
        limit = f"0.1 x raw split {split.median:,.0f}"
        what = "decode+split+call id+CallRecord" if hashed else "decode+split+CallRecord"
        figures += [
            Figure(
                f"smdr {fmt} parse rate", got["parse"], "lines/s", scaled(split, 0.1), True, limit
            ),
            Figure(f"  floor: {what}", got["floor"], "lines/s", scaled(split, 0.1), True, limit),
        ]
    return figures


def main() -> None:
    cfg = SmdrConfig.model_validate(
        {"name": "bench", "format": "avaya_ipoffice", "listen": "127.0.0.1:1150"}
    )
    ingest = Ingest(make_parser(cfg, ZoneInfo("America/Toronto")), cfg, Counters(*COUNTERS))
    data, calls = ipoffice_block()
    got = interleaved(
        {
            "split": lambda: split_only(data, 20),
            "base": lambda: baseline(data, 5),
            "ceiling": lambda: ceiling(data, 2),
            "floor": lambda: floor(data, 4),
            "parse": lambda: parse(data, 4, ingest)[0],
        }
    )
    growths: list[float] = []
    records = 0
    for _ in range(RUNS):
        gc.collect()
        rss_before = current_rss_mb()
        records = parse(data, RECORDS // calls + 1, ingest)[1]
        gc.collect()
        growths.append(max(current_rss_mb() - rss_before, 0.0))
    split, base, top, rate = got["split"], got["base"], got["ceiling"], got["parse"]
    least = got["floor"]
    print(f"smdr bench, lines/s, median of {RUNS} interleaved runs (spread):")
    print(f"  raw bytes.split(b'\\r\\n') {split.text(',.0f')}")
    print(f"  baseline read+split+decode+fields {base.text(',.0f')}")
    print(f"  ceiling: baseline + one CallRecord per call {top.text(',.0f')}")
    print(f"  floor: split+decode+fields in C + one CallRecord per call {least.text(',.0f')}")
    print(f"  ringback parse {rate.text(',.0f')}; {records:,} records per long run")
    report(
        [
            Figure(
                "smdr IP Office parse rate",
                rate,
                "lines/s",
                scaled(split, 0.1),
                True,
                f"0.1 x raw split {split.median:,.0f}",
            ),
            Figure(
                "smdr IP Office parse rate",
                rate,
                "lines/s",
                scaled(base, 0.5),
                True,
                f"0.5 x decode+fields {base.median:,.0f}",
            ),
            Figure(
                "  floor: decode+split in C+CallRecord",
                least,
                "lines/s",
                scaled(split, 0.1),
                True,
                f"0.1 x raw split {split.median:,.0f}",
            ),
            Figure("smdr RSS growth over 1M records", Sample.of(growths), "MB", 16, False),
            *family_figures(),
        ]
    )


if __name__ == "__main__":
    main()
