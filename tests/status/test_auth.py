"""Bearer tokens against the real daemon: bare 401s, rotation without restart, and a
token file that disappears closes the API instead of opening it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.status.helpers import (
    TOKEN,
    TOKEN_NEXT,
    auth,
    calls_file,
    replay_pbx,
    running,
    write_config,
)

pytestmark = pytest.mark.slow

PROTECTED = (
    "/v1/status",
    "/metrics",
    "/readyz",
    "/readyz?verbose",
    "/readyz/pbx",
    "/v1/calls",
    "/v1/messages?limit=5",
    "/v1/replies",
    "/v1/calls?cursor=not-a-cursor",
    "/no/such/path",
)


def _refused(response: httpx.Response) -> bool:
    return (
        response.status_code == 401
        and response.headers.get("WWW-Authenticate") == 'Bearer realm="ringback"'
        and response.content == b""
    )


def test_unauthenticated_and_wrong_tokens_get_a_bare_401(tmp_path: Path) -> None:
    """Every endpoint but /livez and /healthz answers 401 with WWW-Authenticate and an
    empty body to no token, a wrong one, a prefix of the right one, the right one
    under another scheme or with a suffix; an unknown path says nothing more than a
    known one. With the right token an unknown path is a JSON 404."""
    config, port = write_config(tmp_path, replay_pbx(calls_file(tmp_path, 2)))
    wrong = [
        {},
        auth("wrong"),
        auth(TOKEN[:-1]),
        auth(TOKEN + "x"),
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer"},
        {"Authorization": TOKEN},
    ]
    with running(config, port) as (daemon, http):
        for path in PROTECTED:
            for headers in wrong:
                response = http.get(path, headers=headers)
                assert _refused(response), (path, headers.get("Authorization", "")[:7])
        for path in ("/livez", "/healthz"):
            assert http.get(path).status_code == 200
        missing = http.get("/no/such/path", headers=auth())
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
        assert http.get("/v1/status", headers=auth()).status_code == 200
    assert TOKEN not in daemon.output()


def test_token_rotation_without_restart_and_lost_tokens_close_the_api(tmp_path: Path) -> None:
    """Both configured tokens (current and next) are accepted; rotating the files
    (next becomes current, a new next) takes effect at the next request, without a
    reload: the old token is refused, the two new ones accepted, same process. When
    the token files then vanish (a credential not mounted, a botched rotation), every
    protected request is refused, never served without a token; /livez stays open."""
    config, port = write_config(
        tmp_path, replay_pbx(calls_file(tmp_path, 0)), token_next=TOKEN_NEXT
    )
    newest = "status-test-token-newest-00112233445566778899aabbcc"
    with running(config, port) as (_daemon, http):
        status = "/v1/status"
        pid = http.get(status, headers=auth(TOKEN)).json()["agent"]["pid"]
        assert http.get(status, headers=auth(TOKEN_NEXT)).status_code == 200
        (tmp_path / "status.token").write_text(TOKEN_NEXT + "\n")
        (tmp_path / "status.token_next").write_text(newest + "\n")
        assert _refused(http.get(status, headers=auth(TOKEN)))
        for token in (TOKEN_NEXT, newest):
            response = http.get(status, headers=auth(token))
            assert response.status_code == 200
            assert response.json()["agent"]["pid"] == pid

        (tmp_path / "status.token").unlink()
        (tmp_path / "status.token_next").unlink()
        for headers in ({}, auth(TOKEN), auth(TOKEN_NEXT), auth(newest)):
            assert _refused(http.get(status, headers=headers))
        assert http.get("/livez").status_code == 200
