"""`ringback cases` beside the running daemon: list and show with --json (numbers
masked unless --full), close with a resolution and a note, refusals with a clear
message and exit 1, options after the action."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cases.actions import ALLOWED
from agent.numbers import mask
from tests.e2e.daemon import write_calls
from tests.status.helpers import auth, missed_call, replay_pbx, running, wait_for, write_config

pytestmark = pytest.mark.slow


def cases(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "cases", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cases_cli_lists_shows_and_closes_beside_the_daemon(tmp_path: Path) -> None:
    """Two misses from one caller: one open case with two calls; `show` gives its
    calls and timeline; a bad resolution is refused naming the allowed ones; `close`
    closes it (the daemon's API then serves it closed); `reopen` of a case not closed
    on a callback is refused."""
    path = write_calls(
        tmp_path / "calls.jsonl", [missed_call(0, "4385550100"), missed_call(1, "4385550100")]
    )
    config, port = write_config(tmp_path, replay_pbx(path))
    with running(config, port) as (_, http):
        wait_for(lambda: http.get("/v1/cases", headers=auth()).json()["items"] != [])
        wait_for(lambda: http.get("/v1/cases", headers=auth()).json()["items"][0]["calls"] == 2)
        listed = cases("list", "--json", "-c", str(config))
        assert listed.returncode == 0, listed.stderr
        (case,) = json.loads(listed.stdout)
        assert (case["state"], case["calls"], case["caller"]) == ("open", 2, mask("+14385550100"))
        full = json.loads(cases("list", "--full", "--json", "-c", str(config)).stdout)
        assert full[0]["caller"] == "+14385550100"
        shown = json.loads(cases("show", str(case["id"]), "--json", "-c", str(config)).stdout)
        assert [a["action"] for a in shown["timeline"]] == ["opened", "joined"]
        assert len(shown["calls"]) == 2
        bad = cases("close", str(case["id"]), "--resolution", "done", "-c", str(config))
        assert bad.returncode == 1 and all(v in bad.stderr for v in ALLOWED)
        closed = cases(
            "close",
            str(case["id"]),
            "--resolution",
            "wrong_number",
            "--note",
            "pas lui",
            "--by",
            "marie",
            "--json",
            "-c",
            str(config),
        )
        assert closed.returncode == 0, closed.stderr
        assert json.loads(closed.stdout)["resolution"] == "wrong_number"
        served = http.get("/v1/cases", headers=auth()).json()["items"]
        assert [(c["state"], c["closed_by"], c["note"]) for c in served] == [
            ("closed", "marie", "pas lui")
        ]
        refused = cases("reopen", str(case["id"]), "-c", str(config))
        assert refused.returncode == 1 and "not closed on a callback" in refused.stderr
        assert cases("show", "999", "-c", str(config)).returncode == 1
