"""The report's case figures from cases made by the real pipeline: recovered
(reached, replied) against lost by department, minutes to the first attempt and to
reached (median, p90), SLA met share, attempts per case and who reaches callers."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import replace
from datetime import date

from agent.cases.sweep import sweep_once
from agent.config.settings import Settings
from agent.model import Direction, InboundText, Outcome
from agent.report.build import build_report
from agent.report.cases import p90
from agent.report.context import ReportContext
from agent.report.render import render_json, render_text
from agent.store import Store
from tests.agent.conftest import call, local
from tests.cases.conftest import pipeline_at


async def test_case_figures_in_the_json_and_text_report(settings: Settings, store: Store) -> None:
    """Service: one caller reached by 201 after 20 min (one attempt that rang out
    first, at 10 min: within the 30 min SLA), one who replied and one expired untouched
    (both past the SLA with no attempt); Sales: one reached by 101 after 5 min."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:00:05")
    for caller in ("5145550123", "5145550124", "5145550125"):
        await pipeline.accept(call("2026-11-23 10:00", caller=caller))
    await pipeline.accept(call("2026-11-23 10:00", caller="5145550126", dialed="5145550101"))
    for when, to, ext, outcome, talk in (
        ("2026-11-23 10:05", "5145550126", "101", Outcome.ANSWERED, 60.0),
        ("2026-11-23 10:10", "5145550123", "201", Outcome.MISSED, 0.0),
        ("2026-11-23 10:20", "5145550123", "201", Outcome.ANSWERED, 60.0),
    ):
        record = call(
            when,
            direction=Direction.OUTBOUND,
            caller=ext,
            dialed=to,
            outcome=outcome,
            talk_seconds=talk,
            ring_seconds=0.0,
        )
        await pipeline.accept(record)
    await pipeline.inbound(InboundText("+15145550124", "ok", local("2026-11-23 10:30"), "x"))
    await sweep_once(store, settings, local("2026-12-08 12:00"))
    conn = sqlite3.connect(store.path)
    report = build_report(
        conn,
        site="Garage",
        timezone="America/Toronto",
        since=date(2026, 11, 23),
        until=date(2026, 11, 29),
        now=local("2026-12-08 12:00"),
    )
    doc = json.loads(render_json(report))
    figures = {s["name"]: s["cases"] for s in doc["sections"]}
    service, sales, site = figures["service"], figures["sales"], figures["site"]
    assert (service["cases"], service["reached"], service["replied"], service["lost"]) == (
        3,
        1,
        1,
        1,
    )
    assert (sales["cases"], sales["reached"], sales["median_minutes_to_reached"]) == (1, 1, 5.0)
    assert service["median_minutes_to_first_attempt"] == 10.0
    assert service["median_minutes_to_reached"] == 20.0
    assert service["sla_met_share"] == 1 / 3  # the replied and the expired: no call back
    assert service["attempts_per_case"] == 2 / 3
    assert site["extensions"] == [
        {"extension": "101", "attempts": 1, "reached": 1},
        {"extension": "201", "attempts": 2, "reached": 1},
    ]
    assert site["recovered"] == 3 and site["lost"] == 1
    assert {"weekday": 0, "hour": 10, "recovered": 2, "lost": 1} in service["by_weekday_hour"]
    text = render_text(report)
    assert re.search(r"^  call-back cases +3$", text, re.M)
    assert re.search(r"^    recovered +2   reached: 1; replied to the text: 1$", text, re.M)
    assert re.search(r"^    lost +1$", text, re.M)
    assert re.search(r"^    extension +calls back +callers reached$", text, re.M)
    assert re.search(r"^    201 +2 +1$", text, re.M)
    # the same figures for a French site, in its words
    french = render_text(replace(report, context=ReportContext(language="fr")))
    assert re.search(r"^  dossiers de rappel +3$", french, re.M)
    assert re.search(r"^    récupérés +2   rejoints : 1; ont répondu au texto : 1$", french, re.M)
    assert re.search(r"^    poste +rappels +clients rejoints$", french, re.M)
    assert re.search(r"^  rappelés dans le délai visé +33,3\u202f%   sur 3 dossiers$", french, re.M)


def test_p90_is_the_nearest_rank() -> None:
    """p90 of 1..10 is 9, of one value that value, of none None."""
    assert (p90([float(v) for v in range(10, 0, -1)]), p90([4.0]), p90([])) == (9.0, 4.0, None)
