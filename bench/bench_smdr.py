"""SMDR parse rate and memory: `.venv/bin/python -m bench.bench_smdr` (< 60 s).

Baseline ("just reading and splitting the same lines", issue 4), measured in the
same run on the same bytes: read them in 64 KiB chunks, split into lines, decode
each line and split it into its comma fields. Decoding and the field split are in
the baseline because no parser of a text record can skip them; the issue's figures
(340-590 k lines/s) were taken with this baseline. For the record the bench also
prints the bytes-only rate (chunks split into lines, nothing else) and the ratio
against it, which is about 5 times stricter, and a ceiling: the baseline plus one
`CallRecord` per finished call (built the cheapest way, `new_call_record`) and
nothing else, the best ratio any parser that builds the record could reach.

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
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from agent.model import Counters, Direction, Outcome, new_call_record
from bench.harness import RUNS, Figure, Sample, current_rss_mb, interleaved, report, scaled
from drivers.sources.smdr.config import SmdrConfig
from drivers.sources.smdr.families import make_parser
from drivers.sources.smdr.framing import LineFramer
from drivers.sources.smdr.ingest import COUNTERS, Ingest
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
        got = interleaved(
            {
                "split": lambda b=block: split_only(b, 20),  # type: ignore[misc]
                "parse": lambda b=block, i=ingest: parse(b, 2, i)[0],  # type: ignore[misc]
            }
        )
        split = got["split"]
        name, limit = f"smdr {fmt} parse rate", f"0.1 x raw split {split.median:,.0f}"
        figures.append(Figure(name, got["parse"], "lines/s", scaled(split, 0.1), True, limit))
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
    print(f"smdr bench, lines/s, median of {RUNS} interleaved runs (spread):")
    print(f"  raw bytes.split(b'\\r\\n') {split.text(',.0f')}")
    print(f"  baseline read+split+decode+fields {base.text(',.0f')}")
    print(f"  ceiling: baseline + one CallRecord per call {top.text(',.0f')}")
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
            Figure("smdr RSS growth over 1M records", Sample.of(growths), "MB", 16, False),
            *family_figures(),
        ]
    )


if __name__ == "__main__":
    main()
