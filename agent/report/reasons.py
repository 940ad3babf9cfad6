"""Why a day was bad, in words a manager reads: "Monday after a holiday", "first week
of tyre season", "2.4 times the calls of a usual Monday". Pure.

Each reason is a code (kept in the JSON) and its words in French and English. A day
with none of the known reasons and the usual number of calls gets "usual number of
calls: fewer people on the phones?", the one cause the report cannot see.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from agent.config.report import TyreSeason

DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
BUSIER = 1.3  # calls this many times the usual level of the weekday count as a reason


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    en: str
    fr: str

    def words(self, language: str) -> str:
        return self.fr if language == "fr" else self.en


def _ratio(value: float) -> tuple[str, str]:
    text = f"{value:.1f}"
    return text, text.replace(".", ",")


def reasons(
    day: date,
    calls: int,
    usual_calls: float,
    holidays: Collection[date],
    seasons: Sequence[TyreSeason],
) -> list[Reason]:
    """The reasons found for `day`, most telling first."""
    found: list[Reason] = []
    en_day, fr_day = DAYS["en"][day.weekday()], DAYS["fr"][day.weekday()]
    if day in holidays:
        found.append(Reason("holiday", "a public holiday", "un jour férié"))
    elif _after_holiday(day, holidays):
        found.append(
            Reason("after_holiday", f"{en_day} after a holiday", f"{fr_day} après un jour férié")
        )
    for season in seasons:
        if season.first_week(day):
            found.append(
                Reason(
                    "tyre_season_start",
                    "first week of tyre season",
                    "première semaine de la saison des pneus",
                )
            )
            break
        if season.covers(day):
            found.append(Reason("tyre_season", "tyre season", "saison des pneus"))
            break
    if usual_calls > 0 and calls >= BUSIER * usual_calls:
        en, fr = _ratio(calls / usual_calls)
        found.append(
            Reason(
                "busier",
                f"{en} times the calls of a usual {en_day}",
                f"{fr} fois plus d'appels qu'un {fr_day} habituel",
            )
        )
    if not found:
        found.append(
            Reason(
                "staffing",
                "usual number of calls: fewer people on the phones?",
                "nombre d'appels habituel : moins de monde au téléphone?",
            )
        )
    return found


def _after_holiday(day: date, holidays: Collection[date]) -> bool:
    """The first working day after a holiday (a long weekend's Monday or Tuesday)."""
    before = day - timedelta(days=1)
    for _ in range(4):
        if before in holidays:
            return True
        if before.weekday() < 5:  # a working day that was no holiday
            return False
        before -= timedelta(days=1)
    return False
