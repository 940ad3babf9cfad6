"""`ringback doctor` (the real command, in a subprocess) against fake peers over real
transports: the fake AMI server, an SMDR TCP peer, the pty modem, the fake Twilio."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from drivers.sources.asterisk.fake_server import FakeAmiServer
from tests.e2e.daemon import free_port
from tests.peers.cloud_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.peers.modem import Behaviour, FakeModem

SMDR_LINE = b"2026/11/23 10:00:20,00:00:00,20,5145550111,I,201,201,,0,1000001,0,E201,,T9001\r\n"


@asynccontextmanager
async def smdr_peer(talk: bool) -> AsyncIterator[int]:
    """A PBX SMDR port: sends one record to whoever connects, or stays silent."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if talk:
            writer.write(SMDR_LINE)
            await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


def secret_file(directory: Path, name: str, value: str) -> Path:
    path = directory / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def write_config(
    tmp: Path, ami_port: int, smdr_port: int, modem: Path, twilio_url: str, status_port: int
) -> Path:
    secrets = tmp / "secrets"
    secrets.mkdir()
    ami = secret_file(secrets, "ami", "s3cret")
    token = secret_file(secrets, "twilio", AUTH_TOKEN)
    config = tmp / "ringback.yaml"
    config.write_text(f"""
site: {{name: Garage Test, timezone: America/Toronto, country: CA}}
pbx:
  - {{type: asterisk, name: main, port: {ami_port}, secret_file: {ami}}}
  - {{type: smdr, name: office, format: avaya_ipoffice, url: "socket://127.0.0.1:{smdr_port}"}}
sms:
  senders:
    - {{type: gsm, name: modem, port: {modem}, pin: "8642", command_timeout_seconds: 1}}
    - type: twilio
      name: cloud
      account_sid: {ACCOUNT_SID}
      from: "+15145550100"
      auth_token_file: {token}
      base_url: {twilio_url}
status: {{listen: "127.0.0.1:{status_port}"}}
storage: {{path: {tmp / "ringback.db"}}}
""")
    config.chmod(0o640)
    return config


async def doctor(config: Path, limit: float = 3.0) -> tuple[int, dict[str, dict[str, Any]]]:
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.cli.parser", "doctor", "-c", str(config), "--json",
        "--timeout", str(limit),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    doc = json.loads(out)
    return proc.returncode, {c["name"]: c for c in doc["checks"]}


async def test_healthy_site_passes(tmp_path: Path) -> None:
    """With every peer answering, each PBX source and sender gets ✓ (AMI login and
    CoreShowChannels, an SMDR record arriving, SIM and registration, Twilio credentials
    accepted), the config, secret files and store are fine, a stopped daemon is only a
    warning, and the exit code is 0."""
    with FakeModem(tmp_path, Behaviour(pin=None)) as modem:
        async with FakeAmiServer() as ami, smdr_peer(talk=True) as smdr, FakeTwilio() as twilio:
            config = write_config(tmp_path, ami.port, smdr, modem.path, twilio.url, free_port())
            code, checks = await doctor(config)
    for name in ("config", "secrets", "store", "disk", "pbx main", "pbx office"):
        assert checks[name]["status"] == "ok", checks[name]
    for name in ("sender modem", "sender cloud"):
        assert checks[name]["status"] == "ok", checks[name]
    assert checks["secrets"]["message"] == "2 secret files, none world-readable"
    assert "logged in as 'ringback'" in checks["pbx main"]["message"]
    assert "an SMDR record arrived" in checks["pbx office"]["message"]
    assert "registration home" in checks["sender modem"]["message"]
    assert "credentials accepted" in checks["sender cloud"]["message"]
    assert checks["status api"]["status"] == "warn"
    assert "not running" in checks["status api"]["message"]
    assert code == 0
    assert twilio.creates == []  # the harmless request sends nothing


async def test_broken_peers_each_get_a_cross_and_a_hint(tmp_path: Path) -> None:
    """Wrong AMI secret, a silent SMDR port, a modem without SIM and a Twilio that says
    401: each check is ✗ with what was seen and how to fix it; exit code 1; no secret
    in the output."""
    with FakeModem(tmp_path, Behaviour(sim="absent")) as modem:
        async with (
            FakeAmiServer(secret="another") as ami,
            smdr_peer(talk=False) as smdr,
            FakeTwilio(auth_token="rotated-token") as twilio,
        ):
            config = write_config(tmp_path, ami.port, smdr, modem.path, twilio.url, free_port())
            code, checks = await doctor(config, limit=2.0)
    ami_check = checks["pbx main"]
    assert ami_check["status"] == "fail"
    assert "login refused for user 'ringback'" in ami_check["message"]
    assert "main.secret" in ami_check["hint"] and "manager.conf" in ami_check["hint"]
    smdr_check = checks["pbx office"]
    assert smdr_check["status"] == "fail"
    assert "connected, no record within 2s" in smdr_check["message"]
    assert "test call" in smdr_check["hint"]
    modem_check = checks["sender modem"]
    assert modem_check["status"] == "fail"
    assert "SIM not_inserted" in modem_check["message"]
    assert "insert the SIM" in modem_check["hint"]
    cloud = checks["sender cloud"]
    assert cloud["status"] == "fail"
    assert "credentials refused (HTTP 401, code 20003)" in cloud["message"]
    assert "cloud.auth_token" in cloud["hint"]
    assert code == 1
    text = json.dumps(checks)
    assert "s3cret" not in text and AUTH_TOKEN not in text


async def test_invalid_config_and_open_secrets(tmp_path: Path) -> None:
    """A config with an error is ✗ with its line and exit 2; a secret file readable by
    every user is ✗ with the chmod that fixes it."""
    with FakeModem(tmp_path, Behaviour()) as modem:
        config = write_config(tmp_path, 1, 1, modem.path, "http://127.0.0.1:1", free_port())
    (tmp_path / "secrets/ami").chmod(0o644)
    code, checks = await doctor(config)
    assert code == 0 or checks["secrets"]["status"] == "fail"
    assert checks["secrets"]["status"] == "fail"
    assert f"chmod 0600 {tmp_path / 'secrets/ami'}" in checks["secrets"]["hint"]
    config.write_text(config.read_text().replace("America/Toronto", "Mars/Base"))
    code, checks = await doctor(config)
    assert code == 2
    assert checks["config"]["status"] == "fail"
    assert "site.timezone: unknown time zone 'Mars/Base'" in checks["config"]["message"]
    assert f"ringback check-config {config}" in checks["config"]["hint"]


async def test_an_invalid_config_still_gets_every_other_check(tmp_path: Path) -> None:
    """With a bad time zone in the file, doctor still checks the store, the clock, each
    PBX source and sender whose own options are valid (the AMI login succeeds, the
    SMDR record arrives) and the status API; one whose options are wrong is named."""
    with FakeModem(tmp_path, Behaviour(pin=None)) as modem:
        async with FakeAmiServer() as ami, smdr_peer(talk=True) as smdr, FakeTwilio() as twilio:
            config = write_config(tmp_path, ami.port, smdr, modem.path, twilio.url, free_port())
            text = config.read_text().replace("America/Toronto", "Mars/Base")
            config.write_text(text.replace('from: "+15145550100"', 'from: "+1514555010"'))
            code, checks = await doctor(config)
    assert code == 2
    assert checks["config"]["status"] == "fail"
    assert "(+1 more)" in checks["config"]["message"]
    for name in ("secrets", "store", "disk", "pbx main", "pbx office", "sender modem"):
        assert checks[name]["status"] == "ok", checks[name]
    assert "logged in as 'ringback'" in checks["pbx main"]["message"]
    assert checks["sender cloud"]["message"] == "not checked: its options are invalid"
    assert "clock" in checks and checks["status api"]["status"] == "warn"


async def test_no_config_file_says_install_or_name_it(tmp_path: Path) -> None:
    """With no configuration file, the fix is to install or to point at the file,
    not to run check-config on a file that does not exist."""
    code, checks = await doctor(tmp_path / "absent.yaml")
    assert code == 2
    assert checks["config"]["message"] == f"{tmp_path / 'absent.yaml'} does not exist"
    assert "ringback install" in checks["config"]["hint"]
    assert "-c FILE" in checks["config"]["hint"]
    assert "check-config" not in checks["config"]["hint"]


def test_secret_files_are_counted_in_words(tmp_path: Path) -> None:
    """The ✓ line counts the files with the one plural rule: "0 secret files",
    "1 secret file", "2 secret files"."""
    from agent.ops.doctor_system import secret_files

    config = tmp_path / "ringback.yaml"
    config.write_text("{}\n")
    config.chmod(0o640)
    messages = []
    for n in range(3):
        names = [tmp_path / f"token{i}" for i in range(n)]
        for name in names:
            name.write_text("x")
            name.chmod(0o600)
        raw = {"sms": {"senders": [{"auth_token_file": str(p)} for p in names]}}
        messages.append(secret_files(config, raw)[0].message)
    assert messages == [
        "0 secret files, none world-readable",
        "1 secret file, none world-readable",
        "2 secret files, none world-readable",
    ]
