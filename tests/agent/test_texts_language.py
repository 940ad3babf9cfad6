"""The texts customers read, in Quebec French and English (issue 18): the shipped
example's department texts and the built-in ones name each department with a correct
article or none, the opening time reads as a sentence in both languages, and
`ringback config example` prints the commented example shipped in the package."""

from __future__ import annotations

import re
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.cli.parser import main
from agent.config.settings import Settings, load_text
from agent.config.texts import format_opening, render

REPO = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 3, 3, 21, 30, tzinfo=TZ)  # a Tuesday evening

# Mistakes a French reader sees at once: a masculine article before a plural or
# feminine department name, "dès" before a word that cannot follow it, hours in
# "9 h 00" style (Quebec writes "9 h"), a day without "à" before its hour.
WRONG_FRENCH = [
    r"\bau (Ventes|Pièces|ventes|pièces)\b",
    r"\ble (Ventes|Pièces|ventes|pièces)\b",
    r"\bdès (aujourd'hui|demain|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|bientôt)",
    r"\d h 00\b",
    r"(aujourd'hui|demain|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d",
]
WRONG_ENGLISH = [r"\bfrom (today|tomorrow|Monday|Tuesday|Saturday)", r"\bcall to (Sales|Parts)\b"]


def example_settings(tmp_path: Path) -> Settings:
    text = (REPO / "config/ringback.example.yaml").read_text(encoding="utf-8")
    return load_text(text, tmp_path / "ringback.yaml", offline=True).settings


def every_text(settings: Settings) -> list[tuple[str, str, str]]:
    """(department, language, text) for each template, opening tomorrow and Monday."""
    found = []
    for department in settings.departments.by_name():
        for template in ("open", "after_hours"):
            for language in ("fr", "en"):
                for opens in (NOW.replace(day=4, hour=7, minute=30), NOW.replace(day=9, hour=9)):
                    text = render(settings, department, template, language, opens, NOW)
                    found.append((department, language, text))
    return found


def test_the_examples_texts_read_right(tmp_path: Path) -> None:
    """No text of the shipped example says "au Ventes", "le Pièces est fermé", "dès
    aujourd'hui 9 h 00" or "call you back from tomorrow"."""
    texts = every_text(example_settings(tmp_path))
    assert len(texts) == 3 * 2 * 2 * 2
    for department, language, text in texts:
        for pattern in WRONG_FRENCH if language == "fr" else WRONG_ENGLISH:
            assert not re.search(pattern, text), (department, text)


def test_the_built_in_texts_need_no_article(tmp_path: Path) -> None:
    """A department without its own texts gets the built-in ones, which name it
    without an article, whatever its gender or number."""
    text = (REPO / "config/ringback.example.yaml").read_text(encoding="utf-8")
    # drop the example's own texts: every department falls back to the built-in ones
    text = re.sub(r"\n    templates:\n(      .*\n)+", "\n", text)
    settings = load_text(text, tmp_path / "ringback.yaml", offline=True).settings
    assert all(
        "(Ventes)" in t or "(Pièces)" in t or "(Service)" in t
        for d, lang, t in every_text(settings)
        if lang == "fr"
    )
    for department, language, rendered in every_text(settings):
        for pattern in WRONG_FRENCH if language == "fr" else WRONG_ENGLISH:
            assert not re.search(pattern, rendered), (department, rendered)


@pytest.mark.parametrize(
    ("moment", "french", "english"),
    [
        (NOW.replace(hour=22, minute=0), "aujourd'hui à 22 h", "today at 10:00 PM"),
        (datetime(2026, 3, 4, 7, 30, tzinfo=TZ), "demain à 7 h 30", "tomorrow at 7:30 AM"),
        (datetime(2026, 3, 9, 9, 0, tzinfo=TZ), "lundi à 9 h", "Monday at 9:00 AM"),
        (datetime(2026, 3, 10, 9, 0, tzinfo=TZ), "mardi prochain à 9 h", "next Tuesday at 9:00 AM"),
        (None, "dès que possible", "as soon as we can"),
    ],
)
def test_the_opening_reads_after_we_will_call_you_back(
    moment: datetime | None, french: str, english: str
) -> None:
    """{opens_at} completes "Nous vous rappellerons ..." / "We will call you back ...":
    Quebec hours (9 h, 7 h 30), "à" before the hour, next week's day said so."""
    assert format_opening(moment, "fr", NOW) == french
    assert format_opening(moment, "en", NOW) == english


def test_config_example_prints_the_shipped_example(capsys: pytest.CaptureFixture[str]) -> None:
    """`ringback config example` prints the commented example the package ships."""
    assert main(["config", "example"]) == 0
    shipped = resources.files("agent.resources").joinpath("ringback.example.yaml")
    out = capsys.readouterr().out
    assert out == shipped.read_text(encoding="utf-8")
    assert out.startswith("# ringback configuration")
