"""`ringback report` and `ringback demo --history` from the command line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from agent.cli.parser import main
from agent.report.demo import run_history_demo
from agent.report.history import HistorySpec, write_history_file
from tests.agent.conftest import DEALERSHIP, merged


@pytest.fixture
def config(tmp_path: Path) -> Path:
    store = tmp_path / "ringback.db"
    write_history_file(str(store), HistorySpec(end=date(2026, 11, 22), days=14, calls_per_day=30))
    path = tmp_path / "ringback.yaml"
    data = merged(DEALERSHIP, {"storage": {"path": str(store)}})
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_report_formats_and_filters(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--since/--until/--department select the rows; -o writes the file; JSON is valid;
    the text speaks the site's language (French for this Quebec site) unless --lang."""
    args = ["report", "-c", str(config), "--since", "2026-11-16", "--until", "2026-11-22"]
    assert main([*args, "--department", "parts", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in doc["sections"]] == ["site", "parts"]
    assert doc["since"] == "2026-11-16" and doc["until"] == "2026-11-22"
    out = tmp_path / "report.html"
    assert main([*args, "--format", "html", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main([*args]) == 0
    french = capsys.readouterr().out
    assert "Tout le site" in french and "appels manqués, en tout" in french
    assert "Department" not in french and "missed" not in french
    assert main([*args, "--lang", "en"]) == 0
    english = capsys.readouterr().out
    assert "Department: Service" in english and "missed calls, all" in english


def test_report_refuses_bad_input(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown department or an inverted period is a usage error (exit 2); a
    missing store is a runtime failure (exit 1)."""
    assert main(["report", "-c", str(config), "--department", "body"]) == 2
    assert "unknown department 'body'" in capsys.readouterr().err
    assert (
        main(["report", "-c", str(config), "--since", "2026-11-20", "--until", "2026-11-01"]) == 2
    )
    (config.parent / "ringback.db").unlink()
    assert main(["report", "-c", str(config)]) == 1


def test_demo_history_prints_a_full_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`demo --history` needs nothing set up: it prints the report (in French unless
    --lang en) and writes the HTML."""
    html = tmp_path / "demo.html"
    assert run_history_demo(html, calls_per_day=12.0) == 0
    out = capsys.readouterr().out
    headings = ("Tout le site", "Service\n===", "Les pires journées", "Semaine par semaine")
    for heading in (*headings, "menu téléphonique"):
        assert heading in out
    assert "<svg" in html.read_text(encoding="utf-8")
