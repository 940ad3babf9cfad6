"""The managers' page: one self-contained HTML file (inline CSS and SVG, no script, no
font, no network), in the site's language, read in a minute.

Departments side by side first (by volume), then one block per department: missed
calls by weekday and hour (rate and count; closed hours grey), the worst days with
their reason in words, week by week against last year (real axes), what happened to
the calls and where callers hung up in the menu (in words), and the staffing advice.
Every figure carries `data-q`, the name of the query in `--format json`'s `queries`
that produced it. Readable on a phone (no horizontal scroll at 400 px) and printable.
Ids for tests and readers: `compare`, `dept-<name>`, `heat-`, `worst-`, `weeks-`,
`outcomes-`, `ivr-`, `staffing-<name>`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from agent.report.build import Report, Section
from agent.report.cases import CaseFigures, median_or_none
from agent.report.data import SITE, UNANSWERED_OUTCOMES
from agent.report.staffing import is_open
from agent.report.words import (
    SHORT_WEEKDAYS,
    WEEKDAYS,
    amount_words,
    branch_words,
    count_words,
    hour_words,
    long_date,
    number,
    outcome_words,
    percent,
    short_date,
    weeks_words,
    word,
)

WORST_SHOWN = 5


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("agent.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: Report, links: Sequence[tuple[str, str]] = ()) -> str:
    """The page; `links` (address, words) lead back to where it was opened from (the
    desk passes its own; the e-mailed file has none: a relative link is no use there)."""
    lang = report.context.language
    template = _environment().get_template("report.html.j2")
    return template.render(
        page=_page(report), links=links, lang=lang, w=lambda key, **kw: word(key, lang, **kw)
    )


def _page(report: Report) -> dict[str, Any]:
    lang = report.context.language
    departments = [s for s in report.sections if s.scope.name != SITE]
    site = next((s for s in report.sections if s.scope.name == SITE), None)
    shown = departments if len(departments) > 1 or site is None else [site]
    compared = [*departments, site] if site is not None and len(departments) > 1 else shown
    return {
        "site": report.site,
        "period": word(
            "period",
            lang,
            since=long_date(report.since, lang),
            until=long_date(report.until, lang),
        ),
        "generated": word(
            "generated",
            lang,
            at=f"{long_date(report.generated_at.date(), lang)} {report.generated_at:%H:%M}",
        ),
        "compare": _compare(report, compared),
        "sections": [_section(report, s) for s in shown],
        "targets": report.context.targets,
        "target_share": percent(report.context.targets.target_share, lang),
    }


def _label(report: Report, section: Section) -> str:
    if section.scope.name == SITE:
        return word("site", report.context.language)
    return report.context.label(section.scope.name)


def _compare(report: Report, sections: list[Section]) -> dict[str, Any]:
    """Metrics as rows, departments as columns (the site last): read across a row.
    Each row names the query of `--format json`'s `queries` that produced it: the
    calls' figures come from `scan`, recovered and the time to the first attempt
    from the recovery cases (`cases`)."""
    lang = report.context.language

    def minutes(value: float | None) -> str:
        return "–" if value is None else word("minutes", lang, n=number(value, lang, 0))

    def recovered(cases: CaseFigures | None) -> tuple[str, str]:
        """The count, and under it (reached / replied): narrow enough for a phone."""
        if cases is None or not cases.cases:
            return "–", ""
        return f"{cases.recovered}", f"({cases.reached} / {cases.replied})"

    def first_attempt(cases: CaseFigures | None) -> str:
        return minutes(None if cases is None else median_or_none(cases.to_first_attempt))

    def plain(values: list[str]) -> list[tuple[str, str]]:
        return [(v, "") for v in values]

    totals = [s.scope.totals for s in sections]
    rows: list[tuple[str, list[tuple[str, str]], bool, str]] = [
        ("missed_rate", plain([percent(t.open_missed_rate, lang) for t in totals]), True, "scan"),
        ("lost", plain([f"{t.open_missed}" for t in totals]), False, "scan"),
        ("recovered_cases", [recovered(s.cases) for s in sections], False, "cases"),
        (
            "time_to_first_attempt",
            plain([first_attempt(s.cases) for s in sections]),
            False,
            "cases",
        ),
        ("calls", plain([f"{t.inbound}" for t in totals]), False, "scan"),
        ("after_hours", plain([percent(t.after_hours_share, lang) for t in totals]), False, "scan"),
    ]
    return {
        "columns": [(_id(s), _label(report, s)) for s in sections],
        "rows": [(word(key, lang), values, lead, q) for key, values, lead, q in rows],
    }


def _id(section: Section) -> str:
    return "".join(c if c.isalnum() else "-" for c in section.scope.name)


def _section(report: Report, section: Section) -> dict[str, Any]:
    lang = report.context.language
    t = section.scope.totals
    return {
        "id": _id(section),
        "label": _label(report, section),
        "heat": _heat(report, section),
        "worst": [
            {
                "day": long_date(w.day, lang),
                "missed": w.missed,
                "usual": number(w.usual, lang),
                "why": "; ".join(r.words(lang) for r in section.reasons.get(w.day, [])),
            }
            for w in section.worst[:WORST_SHOWN]
        ],
        "weeks": _weeks_svg(report, section),
        "shift": _shift(report, section),
        "outcomes": [
            (outcome_words(o, lang), t.outcomes[o])
            for o in ("answered", *UNANSWERED_OUTCOMES, "short_abandon", "unknown")
            if t.outcomes[o]
        ],
        "ivr": [
            {
                "what": _branch_words(report, b.path),
                "reached": b.reached,
                "hung_up": b.hung_up,
                "rate": percent(b.hang_up_rate, lang),
                "lost_after": b.lost_after,
            }
            for b in section.branches[:10]
        ],
        "staffing": _staffing(report, section),
    }


def _branch_words(report: Report, path: str) -> str:
    """ "2*1" -> "after choosing Service, then key *1" (`words.branch_words`)."""
    context = report.context
    return branch_words(path, context.menu, context.label, context.language)


@dataclass(frozen=True, slots=True)
class _Cell:
    text: str
    count: str
    color: str
    title: str
    closed: bool


def _heat(report: Report, section: Section) -> dict[str, Any]:
    lang = report.context.language
    heat = section.scope.heat
    weekly = _weekly(report, section)
    hours = [
        h
        for h in range(24)
        if any(heat[wd][h].calls for wd in range(7))
        or any(weekly is not None and is_open(weekly, wd, h) for wd in range(7))
    ]
    rows = []
    for h in hours:
        cells = []
        for wd in range(7):
            cell = heat[wd][h]
            closed = weekly is not None and not is_open(weekly, wd, h)
            rate = cell.rate
            cells.append(
                _Cell(
                    text="" if closed or rate is None else percent(rate, lang),
                    count="" if closed or not cell.calls else f"{cell.missed}",
                    color="" if closed or rate is None else _color(rate),
                    title=_heat_title(wd, h, cell.missed, cell.calls, closed, lang),
                    closed=closed,
                )
            )
        rows.append((hour_words(h, lang), cells))
    return {"days": SHORT_WEEKDAYS[lang], "rows": rows}


def _when(weekday: int, hour: int, language: str) -> str:
    """ "lundi 8 h" / "Monday 08:00", as the text report writes an hour."""
    return f"{WEEKDAYS[language][weekday]} {hour_words(hour, language)}"


def _calls(per_week: float, lang: str) -> str:
    return amount_words(per_week, "call", "calls_n", lang)


def _heat_title(weekday: int, hour: int, missed: int, calls: int, closed: bool, lang: str) -> str:
    """A heat cell's tooltip: "lundi 8 h : 3 appels manqués sur 12", and for an hour
    without a call "aucun appel", not "0 manqués / 0"."""
    if closed:
        what = word("closed", lang)
    elif not calls:
        what = word("no_calls", lang)
    else:
        what = word(
            "of_calls",
            lang,
            missed=count_words(missed, "missed_call", "missed_calls", lang),
            calls=calls,
        )
    return word("when_what", lang, when=_when(weekday, hour, lang), what=what)


def _weekly(report: Report, section: Section) -> Any:
    """The opening hours of a department; for the site, open when any department is."""
    hours = report.context.hours
    if not report.context.has_hours:
        return None
    if section.scope.name != SITE:
        return hours.get(section.scope.name)
    if any(v is None for v in hours.values()):
        return None
    merged: dict[int, list[Any]] = {wd: [] for wd in range(7)}
    for weekly in hours.values():
        if weekly is not None:
            for wd, ranges in weekly.items():
                merged[wd].extend(ranges)
    return merged


def _color(rate: float) -> str:
    """Pale yellow (no miss) to red (half the calls or more missed), never so dark
    that the cell's dark text falls under WCAG AA contrast (4.5:1; 5.2:1 at red)."""
    x = min(1.0, rate / 0.5)
    r = 255 - int(25 * x)
    g = 243 - int(137 * x)
    b = 205 - int(123 * x)
    return f"#{r:02x}{g:02x}{b:02x}"


def _nice_ticks(top: int) -> list[int]:
    """Round axis ticks from 0 to at least `top` (about four steps of 1, 2 or 5 x 10^n)."""
    if top <= 0:
        return [0, 1]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, top + step, step)) if top % step else list(range(0, top + 1, step))


def _weeks_svg(report: Report, section: Section) -> str:
    lang = report.context.language
    weeks = [w for w in section.weeks if w.missed or w.last_year]
    if not weeks:
        return ""
    top = max([w.missed for w in weeks] + [w.last_year or 0 for w in weeks])
    ticks = _nice_ticks(top)
    ceiling = ticks[-1] or 1
    left, right, plot_top, plot_h, step = 40, 8, 8, 150, 14
    width = left + step * len(weeks) + right
    bottom = plot_top + plot_h

    def y(v: float) -> float:
        return round(plot_top + plot_h * (1 - v / ceiling), 1)

    parts = [
        f'<svg viewBox="0 0 {width} {bottom + 30}" role="img" '
        f'aria-label="{word("weeks", lang)}" xmlns="http://www.w3.org/2000/svg" '
        # at most twice its drawn size: a short period's chart is not blown up
        f'font-size="10" class="chart" style="max-width:{2 * width}px">'
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick)}" y2="{y(tick)}" '
            'stroke="#d9d9d9"/>'
            f'<text x="{left - 4}" y="{y(tick) + 3}" text-anchor="end">{tick}</text>'
        )
    month = None
    for i, w in enumerate(weeks):
        x = left + step * i
        parts.append(
            f'<rect x="{x + 1}" y="{y(w.missed)}" width="{step - 3}" '
            f'height="{round(bottom - y(w.missed), 1)}" fill="#c0392b">'
            f"<title>{word('week_of', lang, day=short_date(w.start, lang))}: {w.missed} "
            f"{word('missed', lang)}; {word('last_year', lang)}: "
            f"{'–' if w.last_year is None else w.last_year}</title></rect>"
        )
        if w.start.month != month:
            month = w.start.month
            parts.append(
                f'<line x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 4}" stroke="#555"/>'
                f'<text x="{x}" y="{bottom + 15}">{short_date(w.start, lang)}</text>'
            )
    points = " ".join(
        f"{left + step * i + step / 2},{y(w.last_year)}"
        for i, w in enumerate(weeks)
        if w.last_year is not None
    )
    if points:
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="#1b1f24" stroke-width="1.5"/>'
        )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{bottom}" y2="{bottom}" stroke="#555"/></svg>'
    )
    return "".join(parts)


def _shift(report: Report, section: Section) -> str:
    shift = section.shift
    if shift is None or not shift.weeks:
        return ""
    key = "shift_later" if shift.weeks > 0 else "shift_earlier"
    lang = report.context.language
    return word(key, lang, weeks=weeks_words(abs(shift.weeks), lang))


def _staffing(report: Report, section: Section) -> dict[str, Any] | None:
    if not section.staffing:
        return None
    lang = report.context.language
    hours = sorted({a.hour for a in section.staffing})
    grid = {(a.weekday, a.hour): a for a in section.staffing}
    rows = []
    for h in hours:
        cells: list[dict[str, object] | None] = []
        for wd in range(7):
            advice = grid.get((wd, h))
            if advice is None:
                cells.append(None)
            else:
                cells.append(
                    {
                        "text": f"{advice.needed}/{number(advice.answering, lang)}",
                        "short": advice.short,
                        "title": word(
                            "when_what",
                            lang,
                            when=_when(wd, h, lang),
                            what=word("per_week", lang, calls=_calls(advice.calls_per_week, lang)),
                        ),
                    }
                )
        rows.append((hour_words(h, lang), cells))
    savers = sorted(
        (a for a in section.staffing if a.saved_per_week and a.saved_per_week >= 0.5),
        key=lambda a: -(a.saved_per_week or 0),
    )[:3]
    saved = [
        word(
            "saved",
            lang,
            when=_when(a.weekday, a.hour, lang),
            calls=_calls(a.saved_per_week or 0, lang),
        )
        for a in savers
    ]
    return {"days": SHORT_WEEKDAYS[lang], "rows": rows, "saved": saved}
