"""The desk over HTTP against the real daemon: sign-in, the board, CSRF, lockout,
department isolation, expiry back to the page, escaping, logout."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from agent.desk.auth import parse_hashes
from agent.store import Store
from tests.desk.site import PASSWORDS, desk_site, log_in, login_form, missed
from tests.e2e.daemon import DaemonProcess

pytestmark = pytest.mark.slow

CALLS = [
    missed("s1", "5145550123", "5145550102", "TREMBLAY <script>alert(1)</script>"),
    missed("s2", "4385550144", "5145550101", "GAGNON MARIE"),
    missed("s3", "5145550177", "5145550102", "LAVOIE ANDRE"),
]
OPTED_OUT = "+15145550177"  # texted STOP to the dealership before this run


async def _opt_out(path: Path) -> None:
    async with Store(path) as store:
        await store.set_opt_out(OPTED_OUT, "STOP", "gsm", datetime.now(UTC))


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DaemonProcess, int, Path]]:
    tmp = tmp_path_factory.mktemp("desk")
    config, port, desk_port = desk_site(tmp, CALLS)
    asyncio.run(_opt_out(tmp / "ringback.db"))
    with DaemonProcess(config, port) as daemon:
        daemon.wait_ready()
        daemon.wait_status(lambda d: d["pipeline"].get("calls", 0) >= len(CALLS))
        yield daemon, desk_port, config


def client(desk_port: int) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{desk_port}", timeout=10)


def wait_for(c: httpx.Client, text: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    page = ""
    while time.monotonic() < deadline:
        page = c.get("/desk/").text
        if text in page:
            return page
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never on the board: {page[:800]}")


def test_passwords_are_argon2_hashes_beside_the_config(
    site: tuple[DaemonProcess, int, Path],
) -> None:
    """`desk passwd` wrote argon2id hashes (0600) in the credentials directory, and no
    password appears in the file, the YAML or the daemon's log."""
    daemon, _, config = site
    path = config.parent / "credentials" / "desk.passwords"
    hashes = parse_hashes(path.read_text())
    assert set(hashes) == set(PASSWORDS) and all(
        h.startswith("$argon2id$") for h in hashes.values()
    )
    assert path.stat().st_mode & 0o777 == 0o600
    for password in PASSWORDS.values():
        assert password not in path.read_text() + config.read_text() + daemon.output()


def test_the_login_form_until_signed_in(site: tuple[DaemonProcess, int, Path]) -> None:
    _, desk_port, _ = site
    with client(desk_port) as c:
        page = c.get("/desk/")
        assert page.status_code == 200 and 'name="password"' in page.text
        assert page.headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert c.get("/desk/board").status_code == 401


def test_staff_see_their_department_only(site: tuple[DaemonProcess, int, Path]) -> None:
    """ana (Service, French) sees the Service caller, not the Sales one; bob (Sales,
    English) the other way round; the manager sees both. Numbers are whole; the
    caller's name is escaped."""
    _, desk_port, _ = site
    with client(desk_port) as c:
        assert log_in(c, "ana").status_code == 303
        page = wait_for(c, "+15145550123")
        assert "+14385550144" not in page and "À rappeler" in page
        assert "<script>alert(1)</script>" not in page
        assert "TREMBLAY &lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "a sonné sans réponse" in page
    with client(desk_port) as c:
        log_in(c, "bob")
        page = wait_for(c, "+14385550144")
        assert "+15145550123" not in page and "To call back" in page
    with client(desk_port) as c:
        log_in(c, "chef")
        page = wait_for(c, "+14385550144")
        assert "+15145550123" in page


def test_a_wrong_password_and_an_unknown_user_look_the_same(
    site: tuple[DaemonProcess, int, Path],
) -> None:
    """Same status, same message; each answer is slowed (no fast guessing)."""
    _, desk_port, _ = site
    with client(desk_port) as c:
        started = time.monotonic()
        wrong = log_in(c, "chef", "not-the-password")
        unknown = log_in(c, "nobody", "not-the-password")
        assert time.monotonic() - started >= 2.0
    assert wrong.status_code == unknown.status_code == 401
    message = re.compile(r'<p class="error" role="alert">([^<]+)</p>')
    found_wrong, found_unknown = message.search(wrong.text), message.search(unknown.text)
    assert found_wrong and found_unknown and found_wrong.group(1) == found_unknown.group(1)


def test_repeated_failures_lock_the_name(site: tuple[DaemonProcess, int, Path]) -> None:
    """After `login_attempts` (3) failures the right password is refused too (429)."""
    _, desk_port, _ = site
    with client(desk_port) as c:
        for _ in range(3):
            assert log_in(c, "dora", "guess").status_code in (401, 429)
        locked = log_in(c, "dora")
    assert locked.status_code == 429
    assert "Trop d" in locked.text  # the sign-in page speaks the site's language (French)


def test_a_form_without_its_csrf_token_is_refused(site: tuple[DaemonProcess, int, Path]) -> None:
    _, desk_port, _ = site
    with client(desk_port) as c:
        login_form(c)
        refused = c.post("/desk/login", data={"name": "chef", "password": PASSWORDS["chef"]})
        assert refused.status_code == 403
        assert log_in(c, "chef").status_code == 303
        assert c.post("/desk/logout", data={"csrf": "forged"}).status_code == 403
        assert c.get("/desk/board").status_code == 200  # still signed in


def test_logout_ends_the_session(site: tuple[DaemonProcess, int, Path]) -> None:
    _, desk_port, _ = site
    with client(desk_port) as c:
        log_in(c, "chef")
        board = c.get("/desk/").text
        found = re.search(r'name="csrf" value="([^"]+)"', board)
        assert found
        assert c.post("/desk/logout", data={"csrf": found.group(1)}).status_code == 303
        assert c.get("/desk/board").status_code == 401
        assert 'name="password"' in c.get("/desk/").text


def test_sign_in_goes_back_to_the_page_asked(site: tuple[DaemonProcess, int, Path]) -> None:
    """An expired session's page sends to /desk/?next=...; signing in returns there,
    never to another site."""
    _, desk_port, _ = site
    with client(desk_port) as c:
        assert 'name="next" value="/desk/board"' in c.get("/desk/?next=/desk/board").text
    for asked, landed in (("/desk/board", "/desk/board"), ("https://evil.example/desk/", "/desk/")):
        with client(desk_port) as c:
            form = login_form(c)
            done = c.post(
                "/desk/login",
                data={"name": "chef", "password": PASSWORDS["chef"], "csrf": form, "next": asked},
            )
            assert done.status_code == 303 and done.headers["location"] == landed


def case_id_of(page: str, caller: str) -> int:
    found = re.search(
        r'data-case="(\d+)">\s*<div class="who">\s*<a class="caller" href="tel:'
        + re.escape(caller),
        page,
    )
    assert found, page[:1500]
    return int(found.group(1))


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_working_a_case_is_on_its_timeline(site: tuple[DaemonProcess, int, Path]) -> None:
    """ana claims the Service case, notes it, logs a call back made from her cell, texts
    the caller (queued in the outbox with her words), closes it with a resolution;
    each step is on the timeline with her name; a forged form changes nothing."""
    daemon, desk_port, _ = site
    with client(desk_port) as c:
        log_in(c, "ana")
        case_id = case_id_of(wait_for(c, "+15145550123"), "+15145550123")
        page = c.get(f"/desk/cases/{case_id}").text
        token = csrf_of(page)
        # counted as French counts: singular for 0 and 1 (« 0 rappel », not « 0 rappels »)
        assert "<span>1 appel manqué</span>" in page and "<span>0 rappel</span>" in page
        # closing asks why: no reason is picked for her (one click closed as reached)
        assert (
            '<select id="resolution" name="resolution" required>\n'
            '<option value="" selected disabled>Choisir…</option>'
        ) in page
        assert c.post(f"/desk/cases/{case_id}/claim", data={"csrf": "forged"}).status_code == 403
        steps = [
            ("claim", {}),
            ("note", {"note": "asked for the oil change price"}),
            ("attempt", {"result": "not_answered", "note": "from my cell"}),
            ("reply", {"text": "Bonjour, ici Ana du Service: on vous rappelle à 14 h?"}),
        ]
        for action, fields in steps:
            done = c.post(f"/desk/cases/{case_id}/{action}", data={"csrf": token, **fields})
            assert done.status_code == 303 and "done=" in done.headers["location"], action
        page = c.get(f"/desk/cases/{case_id}").text
        for words in (
            "en occupe",
            "asked for the oil change price",
            "a noté un rappel fait ailleurs\u00a0: pas de réponse — from my cell",  # ana's words
            "on vous rappelle à 14 h?",
        ):
            assert words in page, words
        assert "logged not_answered" not in page
        assert page.count("<strong>ana</strong>") >= 4
        bad = c.post(f"/desk/cases/{case_id}/close", data={"csrf": token, "resolution": "nope"})
        assert (
            "error=" in bad.headers["location"]
            and "expected one of" in c.get(bad.headers["location"]).text
        )
        done = c.post(
            f"/desk/cases/{case_id}/close",
            data={"csrf": token, "resolution": "wrong_number", "note": "not a client"},
        )
        assert "done=" in done.headers["location"]
        page = c.get(f"/desk/cases/{case_id}").text
        assert (
            'data-state="closed"' in page
            and "a fermé le dossier\u00a0: mauvais numéro — not a client" in page
        )
        assert "+15145550123" not in c.get("/desk/board").text  # off the board
    queued = daemon.wait_status(lambda d: d["queue"]["by_state"]["sent"] >= 3)
    assert queued["queue"]["by_state"]["sent"] >= 3  # two missed-call texts and ana's


def test_a_case_of_another_department_is_not_found(site: tuple[DaemonProcess, int, Path]) -> None:
    """bob (Sales) gets 404 for the Service case the manager can open, on the page and
    on its actions, as for a case that does not exist."""
    _, desk_port, _ = site
    with client(desk_port) as c:
        log_in(c, "bob")
        board = c.get("/desk/").text
        mine = {int(x) for x in re.findall(r'data-case="(\d+)"', board)}
        token = csrf_of(board)
        theirs = [i for i in range(1, 6) if i not in mine]
        answers = {i: c.get(f"/desk/cases/{i}").status_code for i in theirs}
        assert set(answers.values()) == {404}
        assert c.post(f"/desk/cases/{theirs[0]}/claim", data={"csrf": token}).status_code == 404
    with client(desk_port) as c:
        log_in(c, "chef")
        assert any(c.get(f"/desk/cases/{i}").status_code == 200 for i in theirs)


def test_click_to_call_needs_a_desk_phone(site: tuple[DaemonProcess, int, Path]) -> None:
    """Without an extension on the account the call is refused with the reason, on the
    case page; nothing is asked of the PBX."""
    _, desk_port, _ = site
    with client(desk_port) as c:
        log_in(c, "chef")
        board = c.get("/desk/").text
        case_id = int(re.findall(r'data-case="(\d+)"', board)[0])
        done = c.post(f"/desk/cases/{case_id}/call", data={"csrf": csrf_of(board)})
        assert done.status_code == 303 and "error=" in done.headers["location"]
        assert "Aucun poste" in c.get(done.headers["location"]).text


def test_managers_read_the_report_and_today(site: tuple[DaemonProcess, int, Path]) -> None:
    """The report page and Today are the managers'; staff get 403."""
    _, desk_port, _ = site
    with client(desk_port) as c:
        log_in(c, "chef")
        report = c.get("/desk/report")
        assert report.status_code == 200 and 'id="compare"' in report.text
        assert "Erlang" in report.text
        today = c.get("/desk/today")
        assert today.status_code == 200 and 'id="today-service"' in today.text
    with client(desk_port) as c:
        log_in(c, "ana")
        assert c.get("/desk/report").status_code == 403
        assert c.get("/desk/today").status_code == 403


def test_the_board_and_the_report_lead_to_each_other(
    site: tuple[DaemonProcess, int, Path],
) -> None:
    """A manager's board links to the report; the report page leads back to the desk
    (and to Today), in the manager's language; staff see no report link."""
    _, desk_port, _ = site
    for name, report, back, today in (
        ("chef", "Rapport", "← Retour aux rappels", "Aujourd&#39;hui"),
        ("eve", "Report", "← Back to the callbacks", "Today"),
    ):
        with client(desk_port) as c:
            log_in(c, name)
            assert f'<a class="nav" href="/desk/report">{report}</a>' in c.get("/desk/").text
            page = c.get("/desk/report").text
            assert f'<a href="/desk/">{back}</a>' in page
            assert f'<a href="/desk/today">{today}</a>' in page
    with client(desk_port) as c:
        log_in(c, "ana")
        assert "/desk/report" not in c.get("/desk/").text


def test_a_reply_to_an_opted_out_number_is_refused_with_the_reason(
    site: tuple[DaemonProcess, int, Path],
) -> None:
    """The caller texted STOP: the advisor's reply is refused at once, the case page
    says why (call instead), nothing is queued for that number and the timeline
    has no text."""
    _, desk_port, config = site
    with client(desk_port) as c:
        log_in(c, "ana")
        case_id = case_id_of(wait_for(c, OPTED_OUT), OPTED_OUT)
        token = csrf_of(c.get(f"/desk/cases/{case_id}").text)
        refused = c.post(
            f"/desk/cases/{case_id}/reply", data={"csrf": token, "text": "On vous rappelle?"}
        )
        assert refused.status_code == 409  # the case page again, the words kept
        page = refused.text
        assert re.search(r'role="alert">Ce client a demandé de ne plus recevoir de textos', page)
        assert re.search(r"<textarea[^>]*>On vous rappelle\?</textarea>", page)
        assert page.count("On vous rappelle?") == 1  # in the box, not in the thread
        assert "On vous rappelle?" not in c.get(f"/desk/cases/{case_id}").text
    store = sqlite3.connect(f"file:{config.parent / 'ringback.db'}?mode=ro", uri=True)
    try:
        queued = store.execute(
            "SELECT COUNT(*) FROM messages WHERE to_e164 = ? AND template = 'staff_reply'",
            (OPTED_OUT,),
        ).fetchone()[0]
    finally:
        store.close()
    assert queued == 0


def test_the_report_page_runs_to_today(site: tuple[DaemonProcess, int, Path]) -> None:
    """The desk's report page is the weekly report's eight full weeks and this week so
    far: this run's three missed calls are counted in it, to today's date."""
    _, desk_port, _ = site
    with client(desk_port) as c:
        log_in(c, "eve")
        page = c.get("/desk/report").text
    received = re.search(r"calls received</th>(?:<td>\d+</td>)*<td>(\d+)</td></tr>", page)
    assert received and received.group(1) == str(len(CALLS))  # the site column
    today = datetime.now(ZoneInfo("America/Toronto")).date()  # the site's zone
    assert f" to {today:%A, %B} {today.day}, {today.year}</p>" in page
