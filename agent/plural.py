"""The one plural rule of every count and amount a person reads: the report, the
alerts, the desk and the technician's commands (`agent.report.words` says them in
words; the store and the configuration, which import nothing of the report, count
with it too)."""

from __future__ import annotations


def singular(n: float, language: str = "en") -> bool:
    """Whether `n` takes the singular: French under 2 ("0 appel manqué", "1,5
    appel"), English for 1 only ("0 missed calls", "1.5 calls")."""
    return n < 2 if language == "fr" else n == 1


def counted(n: int, one: str, many: str, language: str = "en") -> str:
    """`n` and the noun that goes with it, `one` or `many` as written (`singular`)."""
    return f"{n} {one if singular(n, language) else many}"
