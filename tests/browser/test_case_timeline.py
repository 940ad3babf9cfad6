"""A French advisor's case page in headless Chromium, its timeline holding every kind
of line the store writes for a case worked the long way: the PBX's callbacks (from
an extension, from no extension, the one that closed it), the caller's reply, a
click-to-call the PBX did not place, the reopening, a claim and a note. Each line
reads in French, who included ("le client", "le central", "poste 201"), and none
of the store's English forms gets through. Screenshots at 1400 and 390 px are kept
(RINGBACK_SCREENSHOTS)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.desk.timeline import call_failed
from agent.model import AttemptResult
from agent.store import Store
from tests.browser.chromium import browser, screenshot_dir
from tests.desk.site import PASSWORDS, desk_site, log_in, missed
from tests.e2e.daemon import DaemonProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CALLER, E164 = "5145550123", "+15145550123"


def _callback(call_id: str, minute: int, extension: str, talk: float) -> dict[str, Any]:
    """A call from the dealership to the caller (`extension` "" when the PBX names
    none), answered when `talk` > 0."""
    return {
        "source": "x",
        "call_id": call_id,
        "started_at": f"2026-11-23T15:{minute:02d}:00Z",
        "ended_at": f"2026-11-23T15:{minute:02d}:50Z",
        "direction": "outbound",
        "outcome": "answered" if talk else "missed",
        "caller_raw": extension,
        "dialed": CALLER,
        "ring_seconds": 10.0,
        "talk_seconds": talk,
    }


CALLS = [
    missed("t1", CALLER, "5145550102", "TREMBLAY MARIE"),
    _callback("t2", 2, "201", 0),  # rang out: an attempt from poste 201
    _callback("t3", 4, "", 5),  # too short, no extension named: the PBX's
    _callback("t4", 6, "201", 60),  # reached: the case closes on it
]


async def _caller_and_phone_system(db: Path, case_id: int) -> None:
    """What reaches the case outside the desk's forms, through the store as the
    daemon writes it: the caller's reply, a click-to-call the PBX did not answer."""
    now = datetime.now(UTC)
    async with Store(db) as store:
        reply = await store.add_reply(E164, "Oui, rappelez-moi après 16 h", now, "dry-run", "reply")
        await store.mark_replied(E164, reply, now, "service", now)
        note = call_failed("no_answer", "TimeoutError")
        await store.log_staff_attempt(
            case_id, "ana", AttemptResult.NOT_ANSWERED, note, now, refused=True
        )


def _case_id(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT id FROM cases WHERE caller_e164 = ?", (E164,)).fetchone()
    finally:
        conn.close()
    assert row is not None
    return int(row[0])


def _post(c: httpx.Client, case_id: int, action: str, **fields: str) -> None:
    page = c.get(f"/desk/cases/{case_id}").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    done = c.post(f"/desk/cases/{case_id}/{action}", data={"csrf": token, **fields})
    assert done.status_code == 303 and "done=" in done.headers["location"], (action, done.text)


def _shoot(url: str, case_id: int, shots: Path) -> dict[str, str]:
    seen: dict[str, str] = {}
    with browser() as chrome:
        for width, height in ((1400, 900), (390, 844)):
            page: Any = chrome.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            page.goto(f"{url}/desk/")
            page.fill("#name", "ana")
            page.fill("#password", PASSWORDS["ana"])
            page.click("button[type=submit]")
            page.wait_for_selector("#board")
            page.goto(f"{url}/desk/cases/{case_id}")
            page.screenshot(path=str(shots / f"desk-case-timeline-fr-{width}.png"), full_page=True)
            seen[f"timeline{width}"] = page.locator(".timeline").inner_text()
            seen[f"scroll{width}"] = str(page.evaluate("document.documentElement.scrollWidth"))
            page.close()
    return seen


def test_every_timeline_line_reads_in_french(tmp_path: Path) -> None:
    config, port, desk_port = desk_site(tmp_path, CALLS)
    db = tmp_path / "ringback.db"
    url = f"http://127.0.0.1:{desk_port}"
    with DaemonProcess(config, port) as daemon:
        daemon.wait_ready()
        daemon.wait_status(lambda d: d["pipeline"].get("calls", 0) >= len(CALLS))
        case_id = _case_id(db)
        with httpx.Client(base_url=url, timeout=10) as c:
            log_in(c, "ana")
            _post(c, case_id, "reopen")  # the callback had only reached voicemail
            asyncio.run(_caller_and_phone_system(db, case_id))
            _post(c, case_id, "claim")
            _post(c, case_id, "note", note="veut un prix pour les pneus d'hiver")
        seen = _shoot(url, case_id, screenshot_dir(tmp_path))
    timeline = seen["timeline1400"]
    for line in (
        "ringback a ouvert le dossier",
        "poste 201 a rappelé le client\u00a0: pas de réponse, 0 s",
        "le central a rappelé le client\u00a0: trop court, 5 s",
        "poste 201 a joint le client",
        "ana a rouvert le dossier (le rappel n'a eu que la boîte vocale)",
        "le client a répondu",
        "ana a tenté d'appeler le client\u00a0: le central n'a pas répondu (TimeoutError)",
        "ana s'en occupe",
        "ana a noté\u00a0: veut un prix pour les pneus d'hiver",
    ):
        assert line in timeline, (line, timeline)
    for english in ("caller", "pbx", "call failed", "logged", "callback", "outbound", "reached"):
        assert english not in timeline.lower(), (english, timeline)
    assert seen["timeline390"] == timeline
    assert int(seen["scroll390"]) <= 390  # nothing scrolls sideways on a phone
