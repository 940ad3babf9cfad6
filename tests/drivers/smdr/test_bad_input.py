"""Bad input: one log line, a counter per reason, the raw line kept, the stream goes on."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime

import pytest

from agent.model import Counters
from drivers.base import SiteContext
from drivers.sources.smdr.families import make_parser
from drivers.sources.smdr.ingest import BAD_REASONS, COUNTERS, Ingest
from drivers.sources.smdr.replay import replay
from tests.drivers.smdr.helpers import config, fixture_bytes, fixture_lines

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
GOOD = fixture_lines("avaya-ipoffice")[0].encode()


def ingest_for(fmt: str, site: SiteContext, **options: object) -> tuple[Ingest, Counters]:
    counters = Counters(*COUNTERS)
    cfg = config(fmt, **options)
    return Ingest(make_parser(cfg, site.tz), cfg, counters), counters


@pytest.mark.parametrize(
    ("fmt", "raw", "reason"),
    [
        ("avaya_ipoffice", GOOD[:40], "line_truncated"),
        ("avaya_ipoffice", b"hello world, this is not SMDR", "line_garbled"),
        ("avaya_ipoffice", b"\x8f\xfe\xa0\xc3(\x99", "line_garbled"),
        ("avaya_ipoffice", b"2008/06/28 09:28:41,00:00:00,9\x00\x13,8004206", "line_garbled"),
        ("avaya_ipoffice", GOOD.replace(b"2008/06/28", b"2008/13/28"), "field_impossible"),
        ("avaya_ipoffice", GOOD.replace(b",I,", b",X,"), "field_impossible"),
        ("avaya_ipoffice", GOOD.replace(b"00:00:00", b"00:99:00"), "field_impossible"),
        ("nec", b"ZZZ 10:53 022 2142623801 NO ANSWER", "record_unknown"),
        ("samsung", b"701 01/03 17:42:15 00:00:02 Q 13055554676", "record_unknown"),
        ("samsung", b"701 13/45 17:42:15 00:00:02 A 13055554676", "field_impossible"),
        ("mitel_5000", b"XYZ 11202 94003 961-9000   08:36 00:00:03", "record_unknown"),
        ("panasonic", b"12/31/98 13:52PM 103 05 123 00:00'16", "field_impossible"),
        ("threecx", b"Call 1,abc", "line_truncated"),
    ],
)
def test_bad_line_is_counted_logged_kept_and_the_stream_goes_on(
    fmt: str, raw: bytes, reason: str, site: SiteContext, caplog: pytest.LogCaptureFixture
) -> None:
    """Pins, per kind of bad input: the counter named after the reason, exactly one
    WARNING naming it, the raw bytes at DEBUG and in bad_lines, and that the next
    good line still gives its call."""
    ingest, counters = ingest_for(fmt, site)
    good = fixture_lines({"avaya_ipoffice": "avaya-ipoffice", "nec": "nec", "samsung": "samsung",
                          "mitel_5000": "mitel-5000", "panasonic": "panasonic",
                          "threecx": "3cx"}[fmt])[-1].encode()  # fmt: skip
    with caplog.at_level(logging.DEBUG, logger="drivers.sources.smdr"):
        assert ingest.line(raw, NOW) == []
        assert len(ingest.line(good, NOW)) == 1
    assert counters.get(reason) == 1
    assert sum(counters.get(r) for r in BAD_REASONS) == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and reason in warnings[0].getMessage()
    assert any(r.levelno == logging.DEBUG and repr(raw) in r.getMessage() for r in caplog.records)
    assert ingest.bad_lines[0]["reason"] == reason


def test_wrong_baud_rate_garbage_is_counted_and_reported_noisy(site: SiteContext) -> None:
    """Pins wrong-baud garbage (random high bytes, seeded): every line counted as
    line_garbled, only the last N raw lines kept, logging rate-limited, and the
    ingest reports itself noisy so health() can hint at the baud rate."""
    ingest, counters = ingest_for("panasonic", site, bad_lines_kept=5)
    rng = random.Random(42)
    for _ in range(40):
        ingest.line(bytes(rng.randrange(0x80, 0x100) for _ in range(60)), NOW)
    assert counters.get("line_garbled") == 40
    assert len(ingest.bad_lines) == 5 and ingest.noisy()


def test_header_lines_and_blank_pages_are_not_errors(site: SiteContext) -> None:
    """Pins that page headers and column titles are ignored silently, not counted."""
    data = (
        b"\x0c\r\n   Date     Time    Ext  CO  Dial Number        Ring Duration  Cost\r\n"
        b"--------------------------------------------------------------------\r\n"
        + fixture_bytes("panasonic")
    )
    records = list(replay(data, config("panasonic"), site))
    assert len(records) == 5


def test_replay_of_a_log_without_final_line_end_keeps_the_last_record(
    site: SiteContext,
) -> None:
    """Pins replay: a saved file whose last record has no line end still yields it."""
    data = fixture_bytes("samsung").rstrip(b"\r\n")
    assert len(list(replay(data, config("samsung"), site))) == 4


def test_kept_bad_lines_hide_phone_numbers(site: SiteContext) -> None:
    """The bad lines kept for inspection reach the status API: a caller's number in
    them keeps only its last two digits (the full bytes go to the DEBUG log only)."""
    ingest, _ = ingest_for("nec", site)
    ingest.line(b"ZZZ 10:53 022 2142623801 NO ANSWER", NOW)
    kept = ingest.bad_lines[-1]
    assert "2142623801" not in kept["raw"] and "214262" not in kept["raw"]
    assert kept["raw"].endswith("••••••••01 NO ANSWER")
    assert "10:53 022" in kept["raw"]
