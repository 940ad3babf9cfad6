"""The desk for everyone, in headless Chromium against the real daemon fed by the fake
AMI peer: axe-core finds no serious or critical WCAG A/AA violation on the sign-in
page, the board, a case, Today and the report, at 1400 px and at a phone's 390 px
(where nothing scrolls sideways); an advisor signs in, reaches a case and takes it
with the keyboard alone, every control of the case page is on the Tab path with a
visible focus ring; the board announces its updates in a live region. The caller's
name arrives from the PBX (AMI CallerIDName) with HTML in it, and the advisor's text
too: both are shown as text on every page and in the board's live fragment.
Screenshots of each page at both widths are kept (RINGBACK_SCREENSHOTS)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from drivers.sources.asterisk.demo import shift_to_now
from drivers.sources.asterisk.fake_server import FakeAmiServer
from tests.browser.axe import axe_source, violations
from tests.browser.chromium import browser, screenshot_dir
from tests.browser.site import desk_site
from tests.e2e.daemon import DaemonProcess, free_port
from tests.peers.cloud_api import FakeTwilio

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MISS = ROOT / "tests" / "fixtures" / "ami" / "voicemail_after_ringout.ami"
PASSWORDS = {"ana": "advisor-password-1", "chef": "manager-password-2"}
NAME = '<script>alert("name")</script> TREMBLAY'
WORDS = '<script>alert("text")</script> Bonjour, ici Ana du Service.'
WIDTHS = ((1400, 900), (390, 844))
FOCUSABLE = (
    "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])"
)


def _keyboard_sign_in(page: Any, name: str) -> None:
    """The name field has the focus on arrival; Tab to the password, Enter sends."""
    assert page.evaluate("document.activeElement.id") == "name"
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS[name])
    page.keyboard.press("Enter")


def _tab_to(page: Any, selector: str, most: int = 60) -> dict[str, str]:
    """Press Tab until `selector` has the focus; its focus ring as the browser draws it."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            ring: dict[str, str] = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement); "
                "return {style: s.outlineStyle, width: s.outlineWidth, color: s.outlineColor}; }"
            )
            return ring
    raise AssertionError(f"Tab never reached {selector}")


def _tab_path(page: Any) -> tuple[set[str], set[str], list[str]]:
    """(controls on the page, controls the Tab key reached, those without a ring)."""
    page.evaluate(
        "sel => document.querySelectorAll(sel).forEach((e, i) => e.dataset.k = String(i))",
        FOCUSABLE,
    )
    every = set(
        page.evaluate(
            "sel => [...document.querySelectorAll(sel)].filter(e => e.offsetParent !== null)"
            ".map(e => e.dataset.k)",
            FOCUSABLE,
        )
    )
    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    reached: set[str] = set()
    ringless: list[str] = []
    for _ in range(len(every) + 5):
        page.keyboard.press("Tab")
        found = page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e); "
            "return [e.dataset.k || '', s.outlineStyle !== 'none' && s.outlineWidth !== '0px', "
            "e.outerHTML.slice(0, 80)]; }"
        )
        key, ring, html = found
        if key:
            reached.add(key)
            if not ring:
                ringless.append(html)
    return every, reached, ringless


def _check(page: Any, name: str, width: int, shots: Path, axe: str, seen: dict[str, Any]) -> None:
    page.screenshot(path=str(shots / f"a11y-{name}-{width}.png"), full_page=True)
    seen.setdefault("violations", {})[f"{name}@{width}"] = violations(page, axe)
    seen.setdefault("scroll", {})[f"{name}@{width}"] = page.evaluate(
        "document.documentElement.scrollWidth"
    )


def _raw(base: str, context: Any, path: str) -> str:
    """The HTML as the server sent it (the DOM would hide a raw tag by parsing it)."""
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    return httpx.get(base + path, cookies=cookies, timeout=10).text


def _drive(base: str, shots: Path, axe: str, play: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {"raw": {}}
    with browser() as chrome:
        for width, height in WIDTHS:
            first: Any = chrome.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            first.goto(base + "/desk/")
            _check(first, "login", width, shots, axe, seen)
            first.close()
        desk: Any = chrome.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
        page = desk.new_page()
        page.goto(base + "/desk/")
        _keyboard_sign_in(page, "ana")
        page.wait_for_selector("#board")
        page.wait_for_selector("#live:not([hidden])", timeout=15000)
        play("miss")
        page.wait_for_selector(".case", timeout=30000)
        page.wait_for_function("document.getElementById('board-status').textContent !== ''")
        seen["announced"] = page.locator("#board-status").inner_text()
        seen["live"] = page.locator("#board-status").get_attribute("aria-live")
        seen["ring"] = _tab_to(page, ".case .open")
        page.keyboard.press("Enter")
        page.wait_for_selector("#case")
        _tab_to(page, "#claim")
        page.keyboard.press("Enter")
        page.wait_for_selector(".done")
        seen["claimed"] = page.locator("#case .facts").inner_text()
        seen["tab_path"] = _tab_path(page)
        page.fill("#text", WORDS)
        page.click("#send")
        page.wait_for_selector(".done")
        case_path = page.url.split("?")[0].removeprefix(base)
        for width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            page.goto(base + "/desk/")
            page.wait_for_selector(".case")
            _check(page, "board", width, shots, axe, seen)
            page.goto(base + case_path)
            _check(page, "case", width, shots, axe, seen)
        for path in ("/desk/", "/desk/board", case_path):
            seen["raw"][path] = _raw(base, desk, path)
        boss: Any = chrome.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
        manager = boss.new_page()
        manager.goto(base + "/desk/")
        _keyboard_sign_in(manager, "chef")
        manager.wait_for_selector("#board")
        for width, height in WIDTHS:
            manager.set_viewport_size({"width": width, "height": height})
            for name in ("today", "report"):
                manager.goto(f"{base}/desk/{name}")
                _check(manager, name, width, shots, axe, seen)
        for path in ("/desk/today", "/desk/report", case_path):
            seen["raw"]["chef:" + path] = _raw(base, boss, path)
    return seen


async def test_the_desk_is_usable_by_keyboard_on_a_phone_and_with_a_screen_reader(
    tmp_path: Path,
) -> None:
    axe = axe_source()
    port, desk_port = free_port(), free_port()
    shots = screenshot_dir(tmp_path)
    async with (
        FakeAmiServer(username="ringback", secret="ami-s3cret", seed=7) as ami,
        FakeTwilio() as twilio,
    ):
        users = (
            "    - {name: ana, role: staff, language: fr, extension: '201'}\n"
            "    - {name: chef, role: manager, language: en}\n"
        )
        config = await asyncio.to_thread(
            desk_site, tmp_path, port, ami.port, twilio.url, desk_port, users, PASSWORDS
        )
        stream = MISS.read_bytes().replace(b"WIRELESS CALLER", NAME.encode())
        streams = shift_to_now({"miss": stream})
        loop = asyncio.get_running_loop()

        def play(name: str) -> None:
            asyncio.run_coroutine_threadsafe(ami.play(streams[name]), loop).result(30)

        with DaemonProcess(config, port, env={"RINGBACK_PBX_SECRET": "ami-s3cret"}) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            await ami.wait_logins(1, within=30.0)
            await ami.wait_action("CoreShowChannels", within=30.0)
            seen = await asyncio.to_thread(
                _drive, f"http://127.0.0.1:{desk_port}", shots, axe, play
            )
    bad = {page: found for page, found in seen["violations"].items() if found}
    assert not bad, "\n".join(f"{page}: {line}" for page, lines in bad.items() for line in lines)
    assert len(seen["violations"]) == 10  # five pages, two widths
    wide = {page: w for page, w in seen["scroll"].items() if w > int(page.split("@")[1])}
    assert not wide, f"pages scrolling sideways: {wide}"
    assert seen["ring"]["style"] != "none" and seen["ring"]["width"] != "0px", seen["ring"]
    assert "ana" in seen["claimed"]  # taken with the keyboard alone
    every, reached, ringless = seen["tab_path"]
    assert every and every <= reached, f"{len(every - reached)} controls off the Tab path"
    assert not ringless, f"focus without a visible ring: {ringless}"
    assert seen["live"] == "polite" and "1" in seen["announced"]
    for path, html in seen["raw"].items():
        assert "<script>alert" not in html, path
    escaped = "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt; TREMBLAY"
    for path in ("/desk/", "/desk/board"):
        assert escaped in seen["raw"][path], path
    # Today: the one case is open and not yet due, so not counted late (no "0 %").
    assert re.search(r"<dt>called back in time</dt><dd>–</dd>", seen["raw"]["chef:/desk/today"])
    case_html = next(html for path, html in seen["raw"].items() if "/desk/cases/" in path)
    assert escaped in case_html
    assert "&lt;script&gt;alert(&#34;text&#34;)&lt;/script&gt; Bonjour" in case_html
