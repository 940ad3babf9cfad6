"""axe-core (Deque's accessibility rules) run inside a page opened by Playwright.

`scripts/install-axe` (called by `.ci/run`) puts axe.min.js in `.tools/`; without it
the tests that need it are skipped with the reason, unless CI is set (then a missing
file is a failure). The script is evaluated through the DevTools protocol, so the
desk's Content-Security-Policy (our own scripts only) stays as shipped.

`violations(page)` returns the violations of the WCAG 2.x A and AA rules and of axe's
best practices (landmarks, headings) of impact serious or critical
(RINGBACK_AXE_IMPACTS widens it), each as one readable line (rule, impact, the first
elements it names).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["best-practice", "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# RINGBACK_AXE_IMPACTS=minor,moderate,serious,critical shows every finding.
SEVERE = frozenset(os.environ.get("RINGBACK_AXE_IMPACTS", "serious,critical").split(","))


def axe_source() -> str:
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing: .ci/run installs it with scripts/install-axe")
        pytest.skip("axe-core is not installed (scripts/install-axe puts it in .tools/)")
    return AXE.read_text(encoding="utf-8")


def violations(page: Any, source: str) -> list[str]:
    """The serious and critical WCAG A/AA violations of what `page` shows now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']}).then(r => r.violations.map(v => ({"
        "id: v.id, impact: v.impact, help: v.help, "
        "nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + "
        "(n.failureSummary || '').split('\\n').slice(1, 2).join(''))})))",
        TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + " | ".join(v["nodes"])
        for v in found
        if v["impact"] in SEVERE
    ]
