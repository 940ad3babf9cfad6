"""The plain-text report, in the report's language (`report.context.language`):
what `ringback report` prints and the weekly e-mail's text part. Pure.

Every word comes from `words` (French of Quebec or English); numbers, percentages,
dates and hours are written as the reader writes them. Each block is a column of
labels padded to its longest, then right-aligned figures, then a remark; tables
(heat map, weeks, menu, extensions) have a header row in the same words. The
technical definitions (the score of the worst days, the SQL) stay in the JSON.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.report.build import Report, Section
from agent.report.data import SITE, UNANSWERED_OUTCOMES
from agent.report.score import MIN_EXCESS
from agent.report.words import (
    SHORT_WEEKDAYS,
    WEEKDAYS,
    branch_words,
    count_words,
    day_month_year,
    duration,
    hour_words,
    long_date,
    number,
    outcome_words,
    percent,
    weeks_words,
    word,
)

WIDTH = 88
Row = tuple[str, str, str]  # label, figure, remark


def render_text(report: Report) -> str:
    lang = report.context.language
    since, until = long_date(report.since, lang), long_date(report.until, lang)
    lines = [
        word("text_title", lang, site=report.site),
        word("text_period", lang, since=since, until=until),
        word("text_timezone", lang, timezone=report.timezone),
        "",
        wrap(word("text_rate_note", lang)),
        "",
    ]
    for section in report.sections:
        lines += _section(report, section)
    lines += ["", wrap(word("text_worst_note", lang, excess=MIN_EXCESS))]
    return "\n".join(lines) + "\n"


def title(report: Report, section: Section) -> str:
    lang = report.context.language
    if section.scope.name == SITE:
        return word("text_site", lang)
    label = report.context.label(section.scope.name)
    return word("text_department", lang, label=label[:1].upper() + label[1:])


def _section(report: Report, section: Section) -> list[str]:
    head = title(report, section)
    lines = [head, "=" * len(head)]
    totals, cases = _totals(report, section), _cases(report, section)
    block = rows([*totals, *cases])  # one column of labels for both
    lines += [*block[: len(totals)], ""]
    if cases:
        lines += [*block[len(totals) :], ""]
        lines += _extensions(report, section)
    lines += _heat(report, section)
    lines += ["", *_worst(report, section)]
    lines += ["", *_weeks(report, section)]
    lines += ["", *_menu(report, section)]
    return [*lines, ""]


def rows(items: Sequence[Row], indent: str = "  ") -> list[str]:
    """Labels padded to one column, figures right-aligned in the next, then remarks."""
    label_width = max(len(label) for label, _, _ in items)
    figure_width = max(8, *(len(figure) for _, figure, _ in items))
    return [
        f"{indent}{label:<{label_width}}  {figure:>{figure_width}}   {remark}".rstrip()
        for label, figure, remark in items
    ]


def table(
    header: Sequence[str], body: Sequence[Sequence[str]], gap: str = "   ", indent: str = "    "
) -> list[str]:
    """A header row and rows: the first column left-aligned, the others right-aligned,
    each as wide as its widest cell."""
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    out = []
    for row in [header, *body]:
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        out.append((indent + gap.join(cells)).rstrip())
    return out


def _totals(report: Report, section: Section) -> list[Row]:
    lang = report.context.language
    t = section.scope.totals

    def rate(value: float | None) -> str:
        """The remark of a rate; blank when there is none (no calls), not "taux : –"."""
        return "" if value is None else word("text_rate", lang, rate=percent(value, lang, 1))

    def share(key: str, value: float | None) -> str:
        """A remark "12,5 % des appels reçus"; blank, not "– des appels reçus"."""
        return "" if value is None else word(key, lang, share=percent(value, lang, 1))

    return [
        (word("text_inbound", lang), f"{t.inbound}", ""),
        (word("text_answered", lang), f"{t.answered}", ""),
        (
            word("text_missed_all", lang),
            f"{t.missed}",
            rate(t.missed_rate),
        ),
        # what happened to them, indented under the total they add up to
        *((f"  {outcome_words(o, lang)}", f"{t.outcomes[o]}", "") for o in UNANSWERED_OUTCOMES),
        (
            word("text_open_missed", lang),
            f"{t.open_missed}",
            rate(t.open_missed_rate),
        ),
        *(
            (outcome_words(o, lang), f"{t.outcomes[o]}", word("text_not_in_rate", lang))
            for o in ("short_abandon", "unknown")
        ),
        (
            word("text_after_hours", lang),
            f"{t.after_hours}",
            share("text_of_inbound", t.after_hours_share),
        ),
        (word("texts", lang), f"{t.texts_sent}", word("text_replies", lang, n=t.replies)),
        (
            word("text_recovered", lang),
            f"{t.recovered}",
            share("text_recovered_after", t.recovered_rate),
        ),
        (word("text_recovery_time", lang), duration(t.median_recovery_minutes, lang), ""),
    ]


def _cases(report: Report, section: Section) -> list[Row]:
    """The recovery cases: what they came to, how fast, within the target time."""
    if section.cases is None:
        return []
    lang = report.context.language
    c = section.cases.json()
    per_case = c["attempts_per_case"]

    def nine_in_ten(minutes: float | None) -> str:
        if minutes is None:
            return ""
        return word("text_nine_in_ten", lang, time=duration(minutes, lang))

    return [
        (word("text_cases", lang), f"{c['cases']}", ""),
        (
            word("text_cases_recovered", lang),
            f"{c['recovered']}",
            word("text_cases_split", lang, reached=c["reached"], replied=c["replied"]),
        ),
        (word("text_cases_lost", lang), f"{c['lost']}", ""),
        (word("text_cases_open", lang), f"{c['open']}", ""),
        (
            word("text_first_attempt", lang),
            duration(c["median_minutes_to_first_attempt"], lang),
            nine_in_ten(c["p90_minutes_to_first_attempt"]),
        ),
        (
            word("text_to_reached", lang),
            duration(c["median_minutes_to_reached"], lang),
            nine_in_ten(c["p90_minutes_to_reached"]),
        ),
        (
            word("text_sla", lang),
            percent(c["sla_met_share"], lang, 1),
            word("text_sla_of", lang, cases=count_words(c["sla_counted"], "case", "cases_n", lang)),
        ),
        (
            word("text_attempts", lang),
            "–" if per_case is None else number(per_case, lang),
            "",
        ),
    ]


def _extensions(report: Report, section: Section) -> list[str]:
    """Per extension: how many calls back it made, how many callers it reached."""
    lang = report.context.language
    extensions = section.cases.json()["extensions"][:12] if section.cases else []
    if not extensions:
        return []
    header = [word(k, lang) for k in ("text_extension", "text_calls_back", "text_callers_reached")]
    body = [[e["extension"], f"{e['attempts']}", f"{e['reached']}"] for e in extensions]
    return [*table(header, body), ""]


def _heat(report: Report, section: Section) -> list[str]:
    lang = report.context.language
    heat = section.scope.heat
    hours = [h for h in range(24) if any(heat[wd][h].calls for wd in range(7))]
    if not hours:
        return [f"  {word('text_heat', lang)} {word('text_no_calls', lang)}"]
    header = [word("text_hour", lang), *SHORT_WEEKDAYS[lang]]
    body = []
    for h in hours:
        cells = []
        for wd in range(7):
            cell = heat[wd][h]
            rate = "" if cell.rate is None else percent(cell.rate, lang)
            cells.append(f"{cell.missed:>4} {rate:>5}" if cell.calls else "")
        body.append([hour_words(h, lang).rjust(5), *cells])
    lines = [f"  {word('text_heat', lang)}", *table(header, body, gap=" ")]
    peak = section.scope.peak()
    if peak is not None:
        day, hour, cell = peak
        missed = count_words(cell.missed, "missed_call", "missed_calls", lang)
        start, end = hour_words(hour, lang), hour_words((hour + 1) % 24, lang)
        weekday = WEEKDAYS[lang][day]
        lines.append(
            "    " + word("text_peak", lang, day=weekday, start=start, end=end, missed=missed)
        )
    return lines


def _worst(report: Report, section: Section) -> list[str]:
    lang = report.context.language
    lines = [f"  {word('text_worst', lang)}"]
    if not section.worst:
        return [*lines, "    " + word("worst_none", lang)]
    days = [long_date(w.day, lang) for w in section.worst]
    width = max(len(d) for d in days)
    for day, w in zip(days, section.worst, strict=True):
        missed = f"{w.missed:>4}"
        lines.append(
            f"    {day:<{width}}  "
            + word("text_worst_row", lang, missed=missed, usual=number(w.usual, lang))
        )
        why = "; ".join(r.words(lang) for r in section.reasons.get(w.day, []))
        if why:
            lines.append("      " + word("text_why", lang, why=why))
    return lines


def _weeks(report: Report, section: Section) -> list[str]:
    lang = report.context.language
    lines = [f"  {word('text_weeks', lang)}"]
    body = [
        [
            day_month_year(w.start, lang),
            f"{w.missed}",
            "–" if w.last_year is None else f"{w.last_year}",
            word("text_partial", lang) if w.partial else "",
        ]
        for w in section.weeks
        if w.missed or w.last_year
    ]
    if body:
        week_of = word("week_of", lang, day="").strip()
        lines += table([week_of, word("missed", lang), word("last_year", lang), ""], body)
    else:
        lines.append("    " + word("text_no_missed", lang))
    shift = section.shift
    if shift is not None and shift.weeks:
        key = "shift_later" if shift.weeks > 0 else "shift_earlier"
        lines.append("  " + word(key, lang, weeks=weeks_words(abs(shift.weeks), lang)))
    return lines


def _menu(report: Report, section: Section) -> list[str]:
    lang = report.context.language
    context = report.context
    lines = [f"  {word('text_ivr', lang)}"]
    if not section.branches:
        return [*lines, "    " + word("ivr_none", lang)]
    header = [word(k, lang) for k in ("branch", "text_passed", "text_hung_up", "lost_after")]
    body = [
        [
            branch_words(b.path, context.menu, context.label, lang),
            f"{b.reached}",
            f"{b.hung_up} ({percent(b.hang_up_rate, lang, 1)})",
            f"{b.lost_after}",
        ]
        for b in section.branches[:12]
    ]
    return [*lines, *table(header, body, gap="  ")]


def wrap(text: str, width: int = WIDTH) -> str:
    """`text` in lines of at most `width`; a French space before ":" or "?" does not
    break (it becomes a no-break space)."""
    text = text.replace(" :", "\u00a0:").replace(" ?", "\u00a0?")
    words, lines, line = text.split(" "), [], ""
    for part in words:
        if line and len(line) + len(part) + 1 > width:
            lines.append(line)
            line = part
        else:
            line = f"{line} {part}" if line else part
    return "\n".join([*lines, line])
