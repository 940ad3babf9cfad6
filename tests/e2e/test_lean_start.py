"""What the real daemon imports before its status API answers, with the example
configuration (Asterisk, departments, Canada and Quebec's holidays, GSM and Twilio).

Start-up time and idle memory are mostly imports (bench/bench_spine.py and
bench_asterisk.py measure them). These tests pin the import discipline that keeps
them down, so an eager import added at the top of a module fails here, not only in a
benchmark nobody reads: one country's holidays and not the ~250 others, no MySQL
driver without a MySQL catch-up, no Prometheus client before the first scrape, no
desk (Jinja, argon2) nor e-mail client when none is configured, no httpx command-line
client, nor aiohttp's HTTP client and holidays' package `__init__` (agent/imports.py).
The modules are read from `-X importtime` of the daemon process itself
(`PYTHONPROFILEIMPORTTIME`), once /livez answered and the daemon sat idle a second.
"""

from __future__ import annotations

import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest

from tests.e2e.daemon import DaemonProcess, free_port

ENV = {
    "PYTHONPROFILEIMPORTTIME": "1",
    "RINGBACK_PBX_SECRET": "lean-secret",
    "RINGBACK_TWILIO_AUTH_TOKEN": "lean-token",
    "RINGBACK_WEBHOOK_SECRET": "lean-webhook",
}

NOT_AT_START = (
    "pymysql",  # the example has no catch-up; a MySQL one imports it when it starts
    "prometheus_client",  # at the first /metrics scrape
    "jinja2",  # the desk and the report's HTML
    "argon2",  # the desk's passwords
    "aiosmtplib",  # e-mail to staff, only with an smtp: section
    "rich",  # httpx's command-line client
    "click",
    "agent.desk",
    "agent.report.render",
    "agent.report.weekly",  # the weekly report e-mail and its report builder, only with smtp:
    "agent.report.build",
    "drivers.sources.asterisk.cdr.catchup",  # the CDR catch-up, only with a catchup: section
    "drivers.sources.asterisk.cdr.runner",
    "aiohttp.client",  # the status API serves with aiohttp.web alone (agent/imports.py)
    "aiohttp.connector",
    "holidays.utils",  # holidays' own __init__ (agent/imports.py, agent/config/calendar.py)
    "holidays.groups.islamic",  # the groups and calendars Canada does not use (by_name)
    "holidays.calendars.hebrew",
    "xml.etree",  # the CRM's ADF leads (agent/cases/adf.py), at the first one
)


def example_config(tmp: Path, status_port: int) -> Path:
    """The shipped example with its AMI port closed, its status port and store this
    test's, and Twilio at a closed port on loopback."""
    text = resources.files("agent").joinpath("resources/ringback.example.yaml").read_text("utf-8")
    for old, new in (
        ("port: 5038 ", f"port: {free_port()} "),
        ('listen: "127.0.0.1:8787"', f'listen: "127.0.0.1:{status_port}"'),
        ("path: /var/lib/ringback/ringback.db", f"path: {tmp / 'ringback.db'}"),
        ("base_url: https://api.twilio.com", f"base_url: http://127.0.0.1:{free_port()}"),
    ):
        assert old in text, f"the example configuration has no {old!r} any more"
        text = text.replace(old, new, 1)
    path = tmp / "ringback.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def imported_in_order(log: str) -> list[str]:
    """Module names from `-X importtime` lines, in the order their imports finished."""
    return [
        line.rsplit("|", 1)[1].strip()
        for line in log.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    ]


def imported(log: str) -> set[str]:
    """Module names from `-X importtime` lines (`import time: self | cumulative | name`)."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in log.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    } - {"package"}


@pytest.fixture(scope="module")
def daemon_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("lean")
    port = free_port()
    with DaemonProcess(example_config(tmp, port), port, env=ENV) as daemon:
        daemon.wait_ready(timeout=60)
        time.sleep(1)
        return daemon.output()


@pytest.fixture(scope="module")
def daemon_modules(daemon_log: str) -> set[str]:
    modules = imported(daemon_log)
    assert "agent.status.server" in modules, "the importtime lines were not read"
    return modules


def test_httpx_waits_for_the_first_request(daemon_log: str) -> None:
    """httpx (and its transport, httpcore) is imported by the first request a cloud
    sender or a webhook makes, here Twilio's first poll, which waits until the status
    API listens: never while the daemon starts (6 MB, a twentieth of a second)."""
    order = imported_in_order(daemon_log)
    assert "httpx" in order, "the poll never ran"
    assert order.index("agent.status.server") < order.index("httpx")


def test_only_the_configured_country_holidays_are_loaded(daemon_modules: set[str]) -> None:
    """`holidays` has ~250 country modules; the daemon of a Quebec site loads at most
    Canada's (at its first call: tests/agent/test_calendar.py pins that one alone)."""
    countries = {m for m in daemon_modules if m.startswith("holidays.countries.")}
    assert countries <= {"holidays.countries.canada"}


@pytest.mark.parametrize("name", NOT_AT_START)
def test_what_the_site_does_not_use_is_not_imported(daemon_modules: set[str], name: str) -> None:
    """Each of these is imported when (and only when) it is used."""
    loaded = sorted(m for m in daemon_modules if m == name or m.startswith(name + "."))
    assert not loaded, f"{name} imported at start-up: {loaded[:5]}"


def test_check_config_starts_no_web_server(tmp_path: Path) -> None:
    """`ringback check-config` on the example imports neither aiohttp nor httpx's
    client stack: a technician's check stays quick on a small box."""
    config = example_config(tmp_path, free_port())
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "check-config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**ENV, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    modules = imported(done.stderr)
    assert "agent.config.settings" in modules
    for name in ("aiohttp", "prometheus_client", "pymysql", "jinja2", "agent.status.server"):
        assert name not in modules, f"check-config imported {name}"


def test_the_collector_is_back_on_once_ready(tmp_path: Path) -> None:
    """`ringback run` starts with the cyclic garbage collector off (agent/cli/parser.py)
    and, once ready, has it on again with what the start made frozen: a daemon that
    left it off would never free a reference cycle."""
    config = example_config(tmp_path, free_port())
    code = (
        "import gc, os, signal, sys\n"
        "from agent.daemon import service\n"
        "from agent.cli.parser import main\n"
        "ready = service.Daemon._ready\n"
        "def observed(self):\n"
        "    print('during start', gc.isenabled(), flush=True)\n"
        "    ready(self)\n"
        "    print('once ready', gc.isenabled(), gc.get_freeze_count() > 0, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "service.Daemon._ready = observed\n"
        f"sys.exit(main(['run', '-c', {str(config)!r}]))\n"
    )
    env = {k: v for k, v in ENV.items() if k != "PYTHONPROFILEIMPORTTIME"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split("\n")[:2] == ["during start False", "once ready True True"]
