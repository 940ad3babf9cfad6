"""/v1/cases against the real daemon: cases paged by cursor and served again when
they change, callers masked, and writes only with a write token (403 with a read
one, 404 for an unknown case, 422 naming the allowed resolutions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.cases.actions import ALLOWED
from tests.e2e.daemon import write_calls
from tests.status.helpers import auth, missed_call, replay_pbx, running, wait_for, write_config

pytestmark = pytest.mark.slow

WRITE_TOKEN = "status-write-token-0123456789abcdef0123456789abcd"


def _config(tmp_path: Path) -> tuple[Path, int]:
    calls = [
        missed_call(0, "4385550100"),
        missed_call(1, "4385550100"),
        missed_call(2, "4385550111"),
    ]
    path = write_calls(tmp_path / "calls.jsonl", calls)
    token = tmp_path / "status.write_token"
    token.write_text(WRITE_TOKEN + "\n")
    return write_config(tmp_path, replay_pbx(path), status=f"  write_token_file: {token}")


def _page(http: httpx.Client, cursor: str | None = None, limit: int = 100) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if cursor:
        params["cursor"] = cursor
    response = http.get("/v1/cases", params=params, headers=auth())
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_cases_feed_pages_and_serves_a_case_again_when_it_changes(tmp_path: Path) -> None:
    """Three misses from two numbers: two cases, one with two call ids, paged one at a
    time with masked callers (and counted in /metrics); closing one (write token)
    serves it again, closed, after the cursor already past it, and nothing else."""
    config, port = _config(tmp_path)
    with running(config, port) as (_, http):
        wait_for(lambda: len(_page(http)["items"]) == 2, what="two cases")
        metrics = http.get("/metrics", headers=auth()).text
        assert 'ringback_case_events_total{event="cases_opened"} 2' in metrics
        assert 'ringback_case_events_total{event="cases_joined"} 1' in metrics
        first = _page(http, limit=1)
        second = _page(http, first["next_cursor"], limit=1)
        rest = _page(http, second["next_cursor"])
        assert (first["has_more"], rest["items"]) == (True, [])
        cases = [*first["items"], *second["items"]]
        assert [(c["calls"], len(c["call_ids"]), c["state"]) for c in cases] == [
            (2, 2, "open"),
            (1, 1, "open"),
        ]
        assert all(
            "4385550" not in str(c["caller"]) and c["caller"].endswith("00") is (i == 0)
            for i, c in enumerate(cases)
        )
        closed = http.post(
            f"/v1/cases/{cases[0]['case_id']}/close",
            json={"resolution": "reached_elsewhere", "note": "vu au comptoir", "by": "marie"},
            headers=auth(WRITE_TOKEN),
        )
        assert closed.status_code == 200, closed.text
        assert (closed.json()["state"], closed.json()["resolution"]) == (
            "closed",
            "reached_elsewhere",
        )
        again = _page(http, rest["next_cursor"])
        assert [(c["case_id"], c["state"], c["note"]) for c in again["items"]] == [
            (cases[0]["case_id"], "closed", "vu au comptoir")
        ]


def test_case_writes_need_the_write_scope(tmp_path: Path) -> None:
    """A read token cannot write (403); with the write token: claim and note answer
    the case, an unknown case is 404, a bad resolution 422 naming the allowed ones,
    closing a closed case 409, an unknown action 404."""
    config, port = _config(tmp_path)
    with running(config, port) as (_, http):
        wait_for(lambda: len(_page(http)["items"]) == 2, what="two cases")
        case_id = _page(http)["items"][0]["case_id"]
        url = f"/v1/cases/{case_id}"
        read = http.post(f"{url}/claim", json={"owner": "marie"}, headers=auth())
        assert (read.status_code, read.json()["error"]) == (403, "forbidden")
        write = auth(WRITE_TOKEN)
        claimed = http.post(f"{url}/claim", json={"owner": "marie"}, headers=write)
        assert (claimed.status_code, claimed.json()["owner"]) == (200, "marie")
        noted = http.post(f"{url}/note", json={"note": "rappeler à 14h"}, headers=write)
        assert (noted.status_code, noted.json()["note"]) == (200, "rappeler à 14h")
        missing = http.post("/v1/cases/9999/close", json={"resolution": "spam"}, headers=write)
        assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
        bad = http.post(f"{url}/close", json={"resolution": "done"}, headers=write)
        assert (bad.status_code, bad.json()["error"]) == (422, "bad_resolution")
        assert all(value in bad.json()["detail"] for value in ALLOWED)
        assert (
            http.post(f"{url}/close", json={"resolution": "spam"}, headers=write).status_code == 200
        )
        twice = http.post(f"{url}/close", json={"resolution": "spam"}, headers=write)
        assert (twice.status_code, twice.json()["error"]) == (409, "conflict")
        assert http.post(f"{url}/reopen-all", json={}, headers=write).status_code == 404
        assert http.post(f"{url}/note", content=b"[1]", headers=write).status_code == 400
