"""SMDR parse rate and memory: `.venv/bin/python -m bench.bench_smdr` (< 60 s).

Baseline, measured in the same run on the same bytes: read them in 64 KiB chunks,
split into lines, decode each and split it into fields: the least any parser does.
Measured: the real path of the live source (framing, decoding, noise check, family
parser, call joining, CallRecord building, counters). Limits: parse rate >= 0.5 x
baseline; resident memory growth over 1 M records <= 16 MB (flat).
"""

from __future__ import annotations

import gc
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from agent.model import Counters
from bench.harness import Figure, current_rss_mb, report
from drivers.sources.smdr.config import SmdrConfig
from drivers.sources.smdr.families import make_parser
from drivers.sources.smdr.framing import LineFramer
from drivers.sources.smdr.ingest import COUNTERS, Ingest
from tests.drivers.smdr.helpers import fixture_lines

CHUNK = 64 * 1024
BLOCK_CALLS = 2000
RECEIVED = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)


def ipoffice_block() -> tuple[bytes, int]:
    """IP Office lines with distinct call ids (continuations included): bytes, calls."""
    lines: list[str] = []
    calls = 0
    template = fixture_lines("avaya-ipoffice")
    for n in range(BLOCK_CALLS // 11):
        for line in template:
            fields = line.split(",")
            fields[9] = str(2_000_000 + n * 100 + int(fields[9]) % 100)
            lines.append(",".join(fields))
        calls += 11
    return ("\r\n".join(lines) + "\r\n").encode(), calls


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


def main() -> None:
    cfg = SmdrConfig.model_validate(
        {"name": "bench", "format": "avaya_ipoffice", "listen": "127.0.0.1:1150"}
    )
    ingest = Ingest(make_parser(cfg, ZoneInfo("America/Toronto")), cfg, Counters(*COUNTERS))
    data, calls = ipoffice_block()
    repeat = 1_000_000 // calls + 1
    base = baseline(data, 10)
    warm_rate, _ = parse(data, 3, ingest)
    gc.collect()
    rss_before = current_rss_mb()
    rate, records = parse(data, repeat, ingest)
    gc.collect()
    growth = current_rss_mb() - rss_before
    megabytes = repeat * len(data) / 1e6
    print(f"smdr bench: {records:,} records from {megabytes:.0f} MB; baseline {base:,.0f} lines/s,")
    print(f"  parse {rate:,.0f} lines/s (warm-up {warm_rate:,.0f})")
    report(
        [
            Figure("smdr parse rate / baseline read+split", rate / base, "x", 0.5, True),
            Figure("smdr parse rate (IP Office lines)", rate, "lines/s", 0.5 * base, True),
            Figure("smdr RSS growth over 1M records", max(growth, 0.001), "MB", 16, False),
        ]
    )


if __name__ == "__main__":
    main()
