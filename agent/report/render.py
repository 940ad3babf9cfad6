"""Text for the terminal, JSON for the cloud, CSV for spreadsheets. Pure.

JSON: `ringback.report/1`, one object per section (department or site). CSV: one
long table `section,department,key,metric,value`, so a spreadsheet pivots it.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from agent.report.build import Report, Section
from agent.report.data import OUTCOMES, SITE, UNANSWERED_OUTCOMES
from agent.report.score import SCORE_EXPLAINED
from agent.report.words import outcome_words

SCHEMA = "ringback.report/1"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RATE_NOTE = (
    "Missed-call rate = missed / (answered + missed): short abandons (hang-ups within "
    "seconds, likely misdials) and calls of unknown outcome are excluded."
)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def title(section: Section) -> str:
    return "Whole site" if section.scope.name == SITE else f"Department: {section.scope.name}"


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


# --- text --------------------------------------------------------------------------


def render_text(report: Report) -> str:
    lines = [
        f"ringback report — {report.site}",
        f"{report.since} to {report.until} (both included), times in {report.timezone}",
        "",
        RATE_NOTE,
        "",
    ]
    for section in report.sections:
        lines += text_section(section)
    lines += ["", _wrap(SCORE_EXPLAINED)]
    return "\n".join(lines) + "\n"


def text_section(section: Section) -> list[str]:
    t = section.scope.totals
    lines = [title(section), "=" * len(title(section))]
    median = t.median_recovery_minutes
    lines += [
        _row("inbound calls", t.inbound),
        _row("answered", t.answered),
        *(_row(f"  {outcome_words(o, 'en')}", t.outcomes[o]) for o in UNANSWERED_OUTCOMES),
        _row("missed calls, all", t.missed, f"missed-call rate {pct(t.missed_rate)}"),
        *(
            _row(outcome_words(o, "en"), t.outcomes[o], "(not in the rate)")
            for o in ("short_abandon", "unknown")
        ),
        _row("after hours", t.after_hours, f"{pct(t.after_hours_share)} of inbound"),
        _row("texts sent", t.texts_sent, f"replies {t.replies}"),
        _row(
            "recovered",
            t.recovered,
            f"{pct(t.recovered_rate)} of missed, "
            f"median {'-' if median is None else f'{median:.0f} min'} to recover",
        ),
        "",
    ]
    lines += _cases_text(section)
    lines += _heat_text(section)
    lines += ["", "  Worst days (missed calls far above the usual for that weekday):"]
    lines += [
        f"    {w.day} {DAYS[w.day.weekday()]}  {w.missed:>5} missed, usual {w.usual:g}, "
        f"score {w.score:.1f}"
        for w in section.worst
    ] or ["    none"]
    lines += ["", *_weeks_text(section), "", "  IVR: where callers hung up in the menu:"]
    lines += [
        f"    {b.path or 'main menu':<10} reached {b.reached:>7}  hung up {b.hung_up:>6} "
        f"({pct(b.hang_up_rate)})  lost after the menu {b.lost_after:>6}"
        for b in section.branches[:12]
    ] or ["    no calls went through the menu"]
    return [*lines, ""]


def _row(label: str, count: int, after: str = "") -> str:
    """One line of a section's totals: the label (an outcome in a manager's words, its
    kinds indented under the missed calls they add up to), the count, a remark."""
    return f"  {label:<33} {count:>8}   {after}".rstrip()


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} min"


def _cases_text(section: Section) -> list[str]:
    """The recovery cases: what they came to, how fast, who called back."""
    if section.cases is None:
        return []
    c = section.cases.json()
    per_case = c["attempts_per_case"]
    lines = [
        f"  recovery cases       {c['cases']:>8}   recovered {c['recovered']} (reached "
        f"{c['reached']}, replied {c['replied']}), lost {c['lost']}, open {c['open']}",
        f"  first call back      median {_minutes(c['median_minutes_to_first_attempt'])}, "
        f"p90 {_minutes(c['p90_minutes_to_first_attempt'])}; reached: median "
        f"{_minutes(c['median_minutes_to_reached'])}, p90 {_minutes(c['p90_minutes_to_reached'])}",
        f"  within the SLA       {pct(c['sla_met_share'])} of {c['sla_counted']}; attempts per "
        f"case {'-' if per_case is None else f'{per_case:.1f}'}",
    ]
    lines += [
        f"    extension {e['extension']:<8} {e['attempts']:>5} call(s) back, reached {e['reached']}"
        for e in c["extensions"][:12]
    ]
    return [*lines, ""]


def _heat_text(section: Section) -> list[str]:
    hours = [h for h in range(24) if any(section.scope.heat[wd][h].calls for wd in range(7))]
    if not hours:
        return ["  Missed calls by weekday and hour: no calls"]
    lines = [
        "  Missed calls by weekday and hour (missed / rate):",
        "    hour " + "".join(f"{d:>10}" for d in DAYS),
    ]
    for h in hours:
        cells = []
        for wd in range(7):
            cell = section.scope.heat[wd][h]
            cells.append(
                f"{cell.missed:>4}/{'' if cell.rate is None else f'{100 * cell.rate:.0f}%':>4} "
            )
        lines.append(f"    {h:02d}h  " + "".join(f"{c:>10}" for c in cells))
    peak = section.scope.peak()
    if peak is not None:
        lines.append(f"    peak: {DAYS[peak[0]]} {peak[1]:02d}h, {peak[2].missed} missed")
    return lines


def _weeks_text(section: Section) -> list[str]:
    lines = ["  Week by week, missed calls (same weeks a year before; quiet weeks left out):"]
    for w in section.weeks:
        if not w.missed and not w.last_year:
            continue
        last = "-" if w.last_year is None else str(w.last_year)
        mark = " (partial)" if w.partial else ""
        lines.append(f"    week of {w.start}  {w.missed:>6}   year before {last:>6}{mark}")
    if section.shift is not None and section.shift.weeks:
        way = "later" if section.shift.weeks > 0 else "earlier"
        lines.append(
            f"  The busy weeks came {abs(section.shift.weeks)} week(s) {way} than the year before."
        )
    return lines


def _wrap(text: str, width: int = 88) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])
