"""One self-contained HTML page: inline CSS and SVG, no script, no font, no network.

Readable on a phone (fluid width, charts scale with their `viewBox`, wide tables
scroll inside their box) and printable (one section per page, no backgrounds lost).
Every section carries an `id` (`totals-<dept>`, `heat-<dept>`, `worst-<dept>`,
`weeks-<dept>`, `ivr-<dept>`) so tests and readers can find it.
"""

from __future__ import annotations

from html import escape

from agent.report.build import Report, Section
from agent.report.data import UNANSWERED_OUTCOMES
from agent.report.render import DAYS, RATE_NOTE, pct, title
from agent.report.score import SCORE_EXPLAINED

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:60rem;padding:1rem;color:#1b1f24}
h1{font-size:1.4rem}h2{font-size:1.2rem;border-bottom:2px solid #1b1f24;margin-top:2rem}
h3{font-size:1rem;margin-bottom:.3rem}
.box{overflow-x:auto}table{border-collapse:collapse;font-variant-numeric:tabular-nums}
td,th{padding:.15rem .5rem;text-align:right;border-bottom:1px solid #ddd}
th:first-child,td:first-child{text-align:left}svg{width:100%;height:auto;display:block}
.note{color:#555;font-size:.85rem}.big{font-size:1.6rem;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:.6rem}.card{border:1px solid #ccc;border-radius:6px;
padding:.4rem .7rem;min-width:8rem}
@media print{body{max-width:none;font-size:11pt}section.dept{break-before:page}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def render_html(report: Report) -> str:
    head = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>ringback report — {escape(report.site)}</title><style>{CSS}</style></head><body>"
    )
    intro = (
        f"<h1>Missed calls — {escape(report.site)}</h1>"
        f"<p>{report.since} to {report.until} (both included). Dates and hours in "
        f"{escape(report.timezone)}. Generated {report.generated_at:%Y-%m-%d %H:%M}.</p>"
        f'<p class="note">{escape(RATE_NOTE)}</p>'
    )
    body = "".join(_section(s) for s in report.sections)
    notes = f'<h2>How the worst days are found</h2><p class="note">{escape(SCORE_EXPLAINED)}</p>'
    return head + intro + body + notes + "</body></html>\n"


def _id(section: Section) -> str:
    return "".join(c if c.isalnum() else "-" for c in section.scope.name)


def _section(section: Section) -> str:
    ident = _id(section)
    return (
        f'<section class="dept" id="dept-{ident}"><h2>{escape(title(section))}</h2>'
        f'<div id="totals-{ident}">{_totals(section)}</div>'
        f'<div id="heat-{ident}"><h3>Missed calls by weekday and hour</h3>{heat_svg(section)}</div>'
        f'<div id="worst-{ident}"><h3>Worst days</h3>{_worst(section)}</div>'
        f'<div id="weeks-{ident}"><h3>Week by week, against the same weeks a year before</h3>'
        f"{weeks_svg(section)}{_shift(section)}</div>"
        f'<div id="ivr-{ident}"><h3>Where callers hung up in the phone menu</h3>'
        f"{_ivr(section)}</div>"
        "</section>"
    )


def _totals(section: Section) -> str:
    t = section.scope.totals
    median = t.median_recovery_minutes
    cards = [
        ("inbound calls", f"{t.inbound}"),
        ("missed-call rate", pct(t.missed_rate)),
        ("missed calls", f"{t.missed}"),
        ("after hours", pct(t.after_hours_share)),
        ("texts sent", f"{t.texts_sent}"),
        ("replies", f"{t.replies}"),
        ("recovered", pct(t.recovered_rate)),
        ("median time to recover", "-" if median is None else f"{median:.0f} min"),
    ]
    html = (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="note">{label}</div><div class="big">{value}</div></div>'
            for label, value in cards
        )
        + "</div>"
    )
    rows = [("answered", t.answered)] + [(o, t.outcomes[o]) for o in UNANSWERED_OUTCOMES]
    rows += [("short_abandon (not in the rate)", t.outcomes["short_abandon"])]
    rows += [("unknown (not in the rate)", t.outcomes["unknown"])]
    body = "".join(f"<tr><td>{escape(k)}</td><td>{v}</td></tr>" for k, v in rows)
    return (
        html
        + f'<div class="box"><table><tr><th>outcome</th><th>calls</th></tr>{body}</table></div>'
    )


def _color(rate: float) -> str:
    """White to deep red with the share of the peak cell."""
    r = 255 - int(80 * rate)
    gb = 255 - int(215 * rate)
    return f"#{r:02x}{gb:02x}{gb:02x}"


def heat_svg(section: Section) -> str:
    heat = section.scope.heat
    hours = [h for h in range(24) if any(heat[wd][h].calls for wd in range(7))]
    if not hours:
        return "<p>No calls.</p>"
    peak = max(heat[wd][h].missed for wd in range(7) for h in hours) or 1
    cw, ch, left, top = 40, 22, 36, 18
    width, height = left + cw * 7, top + ch * len(hours)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="missed calls by weekday '
        f'and hour" xmlns="http://www.w3.org/2000/svg" font-size="10" style="max-width:34rem">'
    ]
    parts += [
        f'<text x="{left + cw * wd + cw / 2}" y="12" text-anchor="middle">{d}</text>'
        for wd, d in enumerate(DAYS)
    ]
    for row, h in enumerate(hours):
        y = top + ch * row
        parts.append(f'<text x="2" y="{y + 15}">{h:02d}h</text>')
        for wd in range(7):
            cell = heat[wd][h]
            x = left + cw * wd
            label = f"{DAYS[wd]} {h:02d}h: {cell.missed} missed of {cell.calls} ({pct(cell.rate)})"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cw - 1}" height="{ch - 1}" '
                f'fill="{_color(cell.missed / peak)}"><title>{label}</title></rect>'
            )
            if cell.calls:
                parts.append(
                    f'<text x="{x + cw / 2}" y="{y + 15}" text-anchor="middle">{cell.missed}</text>'
                )
    parts.append("</svg>")
    return (
        "".join(parts)
        + '<p class="note">Number of missed calls; darker = more. Hover or tap for the rate.</p>'
    )


def weeks_svg(section: Section) -> str:
    weeks = section.weeks
    if not weeks:
        return "<p>No weeks.</p>"
    top = max([w.missed for w in weeks] + [w.last_year or 0 for w in weeks]) or 1
    step, height, left = 12, 140, 30
    width = left + step * len(weeks) + 10

    def y(v: int) -> float:
        return round(10 + (height - 20) * (1 - v / top), 1)

    parts = [
        f'<svg viewBox="0 0 {width} {height + 14}" role="img" aria-label="missed calls per '
        f'week" xmlns="http://www.w3.org/2000/svg" font-size="9">',
        f'<text x="0" y="{y(top) + 3}">{top}</text><text x="0" y="{y(0) + 3}">0</text>',
    ]
    for i, w in enumerate(weeks):
        x = left + step * i
        parts.append(
            f'<rect x="{x}" y="{y(w.missed)}" width="{step - 2}" height="{y(0) - y(w.missed)}" '
            f'fill="#c0392b"><title>week of {w.start}: {w.missed} missed, year before '
            f"{'-' if w.last_year is None else w.last_year}</title></rect>"
        )
        if i % 4 == 0:
            parts.append(f'<text x="{x}" y="{height + 12}">{w.start:%d/%m}</text>')
    points = " ".join(
        f"{left + step * i + step / 2 - 1},{y(w.last_year)}"
        for i, w in enumerate(weeks)
        if w.last_year is not None
    )
    if points:
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="#1b1f24" stroke-width="1.5"/>'
        )
    parts.append("</svg>")
    legend = (
        '<p class="note">Bars: missed calls per week (weeks start on Monday). '
        "Line: the same weeks a year before.</p>"
    )
    return "".join(parts) + legend


def _shift(section: Section) -> str:
    shift = section.shift
    if shift is None or not shift.weeks:
        return ""
    way = "later" if shift.weeks > 0 else "earlier"
    return (
        f"<p><strong>The busy weeks came {abs(shift.weeks)} week(s) {way} "
        "than the year before.</strong></p>"
    )


def _worst(section: Section) -> str:
    if not section.worst:
        return "<p>No day stood far above the usual level of its weekday.</p>"
    rows = "".join(
        f"<tr><td>{w.day} {DAYS[w.day.weekday()]}</td><td>{w.missed}</td><td>{w.usual:g}</td>"
        f"<td>{w.score:.1f}</td></tr>"
        for w in section.worst
    )
    return (
        '<div class="box"><table><tr><th>day</th><th>missed</th><th>usual</th><th>score</th></tr>'
        f"{rows}</table></div>"
    )


def _ivr(section: Section) -> str:
    if not section.branches:
        return "<p>No calls went through the phone menu.</p>"
    rows = "".join(
        f"<tr><td>{escape(b.path or 'main menu')}</td><td>{b.reached}</td><td>{b.hung_up}</td>"
        f"<td>{pct(b.hang_up_rate)}</td><td>{b.lost_after}</td></tr>"
        for b in section.branches
    )
    return (
        '<div class="box"><table><tr><th>keys pressed</th><th>reached</th><th>hung up there</th>'
        f"<th>hang-up rate</th><th>lost after the menu</th></tr>{rows}</table></div>"
    )
