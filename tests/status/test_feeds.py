"""The paged feeds against the real daemon: no gap and no duplicate while calls
arrive, masking, and bad paging input answered with a clear 4xx."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.daemon import write_calls
from tests.status.helpers import (
    auth,
    calls_file,
    missed_call,
    page_all,
    replay_pbx,
    running,
    write_config,
)

pytestmark = pytest.mark.slow

CALLS = 40


def _status(http: httpx.Client) -> dict[str, Any]:
    doc: dict[str, Any] = http.get("/v1/status", headers=auth()).json()
    return doc


def test_paging_while_calls_arrive_has_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    """40 calls arrive one by one (replayed at 20x their 1 s spacing) while a client
    pages /v1/calls 7 at a time, keeping only the cursor between pulls, until the
    source is done: it gets every call exactly once, in id order, each with its
    decision, numbers masked; /v1/messages pages the same way."""
    config, port = write_config(tmp_path, replay_pbx(calls_file(tmp_path, CALLS), speed=20))
    with running(config, port) as (_daemon, http):
        seen: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            done = _status(http)["pipeline"]["calls"] == CALLS  # before the pull
            params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
            page = http.get("/v1/calls", params=params, headers=auth()).json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if done and not page["has_more"]:
                break
        ids = [c["id"] for c in seen]
        assert ids == sorted(set(ids))
        assert sorted(c["pbx_call_id"] for c in seen) == [f"call-{n:04d}" for n in range(CALLS)]
        assert all(c["decision"] for c in seen)
        assert all(c["caller_raw"].startswith("••••") for c in seen)
        assert "4385500001" not in str(seen)
        messages = page_all(http, "messages", limit=9)
        assert len({m["id"] for m in messages}) == len(messages) > 0
        assert all(m["to_e164"].startswith("•") for m in messages)


def test_full_numbers_only_when_the_config_allows(tmp_path: Path) -> None:
    """With status.expose_full_numbers, /v1/calls carries the caller's number and name
    in full; /v1/status still never does. Each call says what it is built from
    (`evidence`, stored with it: live by default, partial for a call adopted in
    progress)."""
    call = {**missed_call(1, "4385550111"), "caller_name": "TREMBLAY JEAN-MARC"}
    adopted = {**missed_call(2, "4385550112"), "evidence": "partial"}
    path = write_calls(tmp_path / "calls.jsonl", [call, adopted])
    config, port = write_config(tmp_path, replay_pbx(path), status="  expose_full_numbers: true")
    with running(config, port) as (_daemon, http):
        items = page_all(http, "calls", limit=10)
        assert items[0]["caller_e164"] == "+14385550111"
        assert [i["evidence"] for i in items] == ["live", "partial"]
        assert items[0]["caller_raw"] == "4385550111"
        assert items[0]["caller_name"] == "TREMBLAY JEAN-MARC"
        assert "4385550111" not in str(_status(http))


def test_caller_names_are_initials_by_default(tmp_path: Path) -> None:
    """Without expose_full_numbers, /v1/calls masks the caller's name as it masks the
    number: initials only."""
    call = {**missed_call(1, "4385550111"), "caller_name": "TREMBLAY JEAN-MARC"}
    path = write_calls(tmp_path / "calls.jsonl", [call])
    config, port = write_config(tmp_path, replay_pbx(path))
    with running(config, port) as (_daemon, http):
        (item,) = page_all(http, "calls", limit=10)
        assert item["caller_name"] == "T. J. M."
        assert "TREMBLAY" not in str(item) and "4385550111" not in str(item)


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_CURSORS = [
    "x",
    "!!!!",
    "====",
    "A" * 65,
    "Zm9v",  # base64 of "foo"
    _cursor("v1:messages:1"),  # another feed's cursor
    _cursor("v1:calls:-1"),
    _cursor("v1:calls:1e3"),
    _cursor("v0:calls:1"),
    _cursor("v1:calls:99999999999999999999999"),
    "w6k",  # base64 of non-ASCII
    "",
]
BAD_LIMITS = ["-1", "0", "501", "10" * 30, "abc", "1e3", " 5", "5.0", ""]


def test_bad_paging_input_gets_a_clear_4xx(tmp_path: Path) -> None:
    """Malformed, foreign and overflowing cursors are 400 bad_cursor; negative, zero,
    huge or non-integer limits 400 bad_limit; a cursor past the end of the store 409
    cursor_ahead; an unknown or repeated parameter (`?curser=`) 400 bad_request,
    never a silent restart of the feed; an unknown path 404; a POST 405 with Allow.
    Each is counted in /metrics by reason, and the daemon serves normally afterwards."""
    config, port = write_config(tmp_path, replay_pbx(calls_file(tmp_path, 3)))
    with running(config, port) as (daemon, http):
        for cursor in BAD_CURSORS:
            response = http.get("/v1/calls", params={"cursor": cursor}, headers=auth(), timeout=5)
            assert response.status_code == 400, cursor
            assert response.json()["error"] == "bad_cursor", cursor
        for limit in BAD_LIMITS:
            response = http.get("/v1/replies", params={"limit": limit}, headers=auth(), timeout=5)
            assert response.status_code == 400, limit
            assert response.json()["error"] == "bad_limit"
        ahead = http.get("/v1/calls", params={"cursor": _cursor("v1:calls:1000")}, headers=auth())
        assert ahead.status_code == 409
        assert ahead.json()["error"] == "cursor_ahead"
        typo = http.get("/v1/calls", params={"curser": "x"}, headers=auth())
        assert (typo.status_code, typo.json()["error"]) == (400, "bad_request")
        twice = http.get("/v1/calls?limit=5&limit=6", headers=auth())
        assert (twice.status_code, twice.json()["error"]) == (400, "bad_request")
        assert http.get("/v1/nothing", headers=auth()).status_code == 404
        post = http.post("/v1/calls", headers=auth())
        assert post.status_code == 405
        assert "GET" in post.headers["Allow"]
        metrics = http.get("/metrics", headers=auth()).text
        assert (
            f'ringback_status_api_rejected_total{{reason="bad_cursor"}} {len(BAD_CURSORS)}'
            in metrics
        )
        assert (
            f'ringback_status_api_rejected_total{{reason="bad_limit"}} {len(BAD_LIMITS)}' in metrics
        )
        assert len(page_all(http, "calls", limit=1)) == 3
    assert "Traceback" not in daemon.output()
