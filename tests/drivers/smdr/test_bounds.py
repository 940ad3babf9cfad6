"""Bounds on what an SMDR record may say: absurd numbers, dates out of range and a
call that ends before it starts are named bad lines, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.model import Counters
from drivers.base import SiteContext
from drivers.sources.smdr.families import make_parser
from drivers.sources.smdr.ingest import COUNTERS, Ingest
from tests.drivers.smdr.helpers import config, fixture_lines

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
AVAYA = fixture_lines("avaya-ipoffice")[0]
THREECX = fixture_lines("3cx")[2]  # Call 9746: 10:59:35 -> 10:59:54


@pytest.mark.parametrize(
    ("fmt", "line", "detail"),
    [
        # a 38-digit hold time: OverflowError out of the pump before
        ("avaya_ipoffice", AVAYA.rsplit(",", 2)[0] + "," + "9" * 38 + ",0", "digits"),
        # a 4-digit-hour connected time past any call
        ("avaya_ipoffice", AVAYA.replace(",00:00:00,", ",9999:00:00,", 1), "over"),
        ("threecx", THREECX.replace("2020/05/04 10:59:54", "9999/05/04 10:59:54"), "year"),
        ("threecx", THREECX.replace("2020/05/04 10:59:54", "2020/05/04 10:59:00"), "before"),
        ("avaya_ipoffice", AVAYA.replace("2008/06/28", "0001/06/28"), "year"),
    ],
)
def test_absurd_values_are_field_impossible(
    fmt: str, line: str, detail: str, site: SiteContext
) -> None:
    """Pins: the record is counted `field_impossible` with a detail naming what is
    wrong, no call comes out, and the next good record still gives its call."""
    counters = Counters(*COUNTERS)
    cfg = config(fmt)
    ingest = Ingest(make_parser(cfg, site.tz), cfg, counters)
    assert ingest.line(line.encode(), NOW) == []
    assert counters.get("field_impossible") == 1
    assert detail in ingest.bad_lines[-1]["detail"]
    good = AVAYA if fmt == "avaya_ipoffice" else THREECX
    assert len(ingest.line(good.encode(), NOW)) == 1
