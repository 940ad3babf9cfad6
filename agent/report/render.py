"""JSON for the cloud, CSV for spreadsheets (and, from `text`, the text for the
terminal and the e-mail). Pure.

JSON: `ringback.report/1`, one object per section (department or site). CSV: one
long table `section,department,key,metric,value`, so a spreadsheet pivots it.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from agent.report.build import Report, Section
from agent.report.data import OUTCOMES
from agent.report.score import SCORE_EXPLAINED
from agent.report.text import render_text

__all__ = ["render_csv", "render_json", "render_text", "report_dict"]

SCHEMA = "ringback.report/1"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RATE_NOTE = (
    "Missed-call rate = missed / (answered + missed): short abandons (hang-ups within "
    "seconds, likely misdials) and calls of unknown outcome are excluded."
)


# --- JSON --------------------------------------------------------------------------


def section_dict(section: Section) -> dict[str, Any]:
    t = section.scope.totals
    peak = section.scope.peak()
    return {
        "name": section.scope.name,
        "query": "scan",
        "totals": {
            "inbound_calls": t.inbound,
            "answered": t.answered,
            "outcomes": {o: t.outcomes[o] for o in OUTCOMES},
            "missed_calls": t.missed,
            "missed_rate": t.missed_rate,
            "open_missed_calls": t.open_missed,
            "open_missed_rate": t.open_missed_rate,
            "after_hours_calls": t.after_hours,
            "after_hours_share": t.after_hours_share,
            "after_hours_missed": t.after_hours_missed,
            "texts_sent": t.texts_sent,
            "replies": t.replies,
            "recovered": t.recovered,
            "recovered_rate": t.recovered_rate,
            "median_minutes_to_recover": t.median_recovery_minutes,
        },
        "heat_map": [
            {"weekday": DAYS[wd], "hour": h, "calls": c.calls, "missed": c.missed, "rate": c.rate}
            for wd, row in enumerate(section.scope.heat)
            for h, c in enumerate(row)
            if c.calls
        ],
        "peak": None
        if peak is None
        else {"weekday": DAYS[peak[0]], "hour": peak[1], "missed": peak[2].missed},
        "worst_days": [
            {
                "date": w.day.isoformat(),
                "missed": w.missed,
                "usual": w.usual,
                "score": w.score,
                "reasons": [
                    {"code": r.code, "en": r.en, "fr": r.fr} for r in section.reasons.get(w.day, [])
                ],
                "query": "scan",
            }
            for w in section.worst
        ],
        "cases": section.cases.json() if section.cases else None,
        "staffing": [
            {
                "weekday": DAYS[a.weekday],
                "hour": a.hour,
                "calls_per_week": a.calls_per_week,
                "handle_seconds": a.handle_seconds,
                "patience_seconds": a.patience_seconds,
                "model": a.model,
                "people_needed": a.needed,
                "people_answering": a.answering,
                "service_level": a.service_level,
                "calls_saved_per_week_by_one_more": a.saved_per_week,
                "query": "staffing",
            }
            for a in section.staffing
        ],
        "weeks": [
            {
                "week_of": w.start.isoformat(),
                "missed": w.missed,
                "last_year": w.last_year,
                "partial": w.partial,
            }
            for w in section.weeks
        ],
        "season_shift_weeks": section.shift.weeks if section.shift else None,
        "ivr_branches": [
            {
                "path": b.path,
                "reached": b.reached,
                "hung_up": b.hung_up,
                "lost_after": b.lost_after,
                "hang_up_rate": b.hang_up_rate,
            }
            for b in section.branches
        ],
    }


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "site": report.site,
        "timezone": report.timezone,
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "department": report.department,
        "language": report.context.language,
        "definitions": {"missed_rate": RATE_NOTE, "worst_days": SCORE_EXPLAINED},
        "staffing_targets": report.context.targets.model_dump(),
        # The SQL each figure comes from, as SQLite ran it: every figure names its query.
        "queries": report.queries,
        "sections": [section_dict(s) for s in report.sections],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"


# --- CSV ---------------------------------------------------------------------------


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "department", "key", "metric", "value"])
    for section in report_dict(report)["sections"]:
        name = section["name"]
        for metric, value in section["totals"].items():
            if isinstance(value, dict):
                for key, n in value.items():
                    writer.writerow(["totals", name, key, metric, n])
            else:
                writer.writerow(["totals", name, "", metric, _cell(value)])
        for cell in section["heat_map"]:
            key = f"{cell['weekday']} {cell['hour']:02d}h"
            for metric in ("calls", "missed", "rate"):
                writer.writerow(["heat_map", name, key, metric, _cell(cell[metric])])
        for day in section["worst_days"]:
            for metric in ("missed", "usual", "score"):
                writer.writerow(["worst_days", name, day["date"], metric, day[metric]])
        for week in section["weeks"]:
            for metric in ("missed", "last_year"):
                writer.writerow(["weeks", name, week["week_of"], metric, _cell(week[metric])])
        writer.writerow(
            ["weeks", name, "", "season_shift_weeks", _cell(section["season_shift_weeks"])]
        )
        for branch in section["ivr_branches"]:
            for metric in ("reached", "hung_up", "lost_after", "hang_up_rate"):
                writer.writerow(
                    ["ivr", name, branch["path"] or "main", metric, _cell(branch[metric])]
                )
    return out.getvalue()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return value
