"""The desk in headless Chromium against the real daemon fed by the fake AMI peer:
an advisor signs in, sees the missed call appear without reloading, takes the case,
texts the caller (the fake Twilio receives the words), sees the recorded callback
close the case on its own, and signs out. Screenshots of the board and the case at
desktop and phone widths are kept (RINGBACK_SCREENSHOTS)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from drivers.sources.asterisk.demo import shift_to_now
from drivers.sources.asterisk.fake_server import FakeAmiServer
from tests.browser.chromium import browser, screenshot_dir
from tests.browser.site import desk_site
from tests.e2e.daemon import DaemonProcess, free_port
from tests.peers.cloud_api import FakeTwilio

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MISS = ROOT / "tests" / "fixtures" / "ami" / "voicemail_after_ringout.ami"
CALLBACK = ROOT / "drivers" / "sources" / "asterisk" / "demo" / "callback_answered.ami"
PASSWORD = "advisor-password-1"
WORDS = "Bonjour! Ici Ana du Service, on vous rappelle dans 5 minutes."


def _drive(url: str, shots: Path, play: Any) -> dict[str, Any]:
    """The browser part, run in a thread while the event loop plays the PBX."""
    seen: dict[str, Any] = {}
    with browser() as chrome:
        page: Any = chrome.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
        page.goto(url)
        page.fill("#name", "ana")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#board")
        page.wait_for_selector("#live:not([hidden])", timeout=15000)
        seen["empty"] = page.locator(".case").count()
        play("miss")
        page.wait_for_selector(".case", timeout=30000)  # no reload: the board updates
        seen["caller"] = page.locator(".case .caller").first.inner_text()
        seen["edge"] = page.locator(".case").first.evaluate(
            "e => [e.className, getComputedStyle(e).borderLeftColor]"
        )
        page.screenshot(path=str(shots / "desk-board-1400.png"), full_page=True)
        page.click(".case .open")
        page.click("#claim")
        page.wait_for_selector(".done")
        page.click("#call")  # click-to-call: the PBX rings 201, then dials the caller
        page.wait_for_selector(".done")
        seen["calling"] = page.locator(".done").inner_text()
        seen["timeline"] = page.locator(".timeline").inner_text()
        page.fill("#text", WORDS)
        page.click("#send")
        page.wait_for_selector(".done")
        page.screenshot(path=str(shots / "desk-case-1400.png"), full_page=True)
        phone: Any = chrome.new_page(viewport={"width": 400, "height": 800})  # type: ignore[attr-defined]
        phone.context.add_cookies(page.context.cookies())
        phone.goto(page.url)
        phone.screenshot(path=str(shots / "desk-case-400.png"), full_page=True)
        seen["phone_scroll"] = phone.evaluate("document.documentElement.scrollWidth")
        phone.goto(url)
        phone.screenshot(path=str(shots / "desk-board-400.png"), full_page=True)
        play("callback")
        case_url = page.url.split("?")[0]
        for _ in range(120):
            page.goto(case_url)
            if page.locator("#closed").count():
                break
            page.wait_for_timeout(500)
        seen["closed"] = (
            page.locator("#closed").inner_text() if page.locator("#closed").count() else ""
        )
        page.goto(url)
        page.wait_for_selector("#board")
        seen["after"] = page.locator(".case").count()
        page.click(".account button")
        page.wait_for_selector("#password")
        seen["signed_out"] = True
    return seen


async def test_an_advisor_works_a_missed_call_in_the_browser(tmp_path: Path) -> None:
    port, desk_port = free_port(), free_port()
    shots = screenshot_dir(tmp_path)
    async with (
        FakeAmiServer(username="ringback", secret="ami-s3cret", seed=5) as ami,
        FakeTwilio() as twilio,
    ):
        users = "    - {name: ana, role: staff, language: fr, extension: '201'}\n"
        config = await asyncio.to_thread(
            desk_site, tmp_path, port, ami.port, twilio.url, desk_port, users, {"ana": PASSWORD}
        )
        streams = shift_to_now({"miss": MISS.read_bytes(), "callback": CALLBACK.read_bytes()})
        loop = asyncio.get_running_loop()

        def play(name: str) -> None:
            asyncio.run_coroutine_threadsafe(ami.play(streams[name]), loop).result(30)

        with DaemonProcess(config, port, env={"RINGBACK_PBX_SECRET": "ami-s3cret"}) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            await ami.wait_logins(1, within=30.0)
            await ami.wait_action("CoreShowChannels", within=30.0)
            seen = await asyncio.to_thread(
                _drive, f"http://127.0.0.1:{desk_port}/desk/", shots, play
            )
            bodies = [str(r.form.get("Body", "")) for r in twilio.creates]
            originated = [a for a in ami.actions if a.get("Action") == "Originate"]
    assert seen["empty"] == 0 and seen["caller"] == "+1 817-555-0123"
    # a case not yet due is not edged in the overdue red (every case was)
    assert seen["edge"] == ["case", "rgb(11, 79, 156)"], seen["edge"]
    assert "201" in seen["calling"] and len(originated) == 1
    # the timeline writes the number as the desk does everywhere (the link keeps E.164)
    assert "a lancé un appel 201 → +1 817-555-0123" in seen["timeline"], seen["timeline"]
    assert "+18175550123" not in seen["timeline"]
    assert originated[0]["Channel"] == "Local/201@from-internal"
    assert originated[0]["Exten"] == "8175550123"
    assert WORDS in bodies, bodies  # the advisor's own words reached the caller
    assert seen["phone_scroll"] <= 400
    assert "joint" in seen["closed"]  # closed as reached by the recorded callback
    assert seen["after"] == 0 and seen["signed_out"]
