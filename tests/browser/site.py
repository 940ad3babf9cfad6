"""The site the browser tests run: the real daemon fed by the fake AMI server, the
fake Twilio as its sender, the desk on loopback with the given users (their
passwords set through `ringback desk passwd`)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.daemon import config_text, set_passwords
from tests.peers.cloud_api import ACCOUNT_SID, AUTH_TOKEN

PBX_SECRET = "ami-s3cret"


def desk_site(
    tmp_path: Path,
    port: int,
    ami_port: int,
    twilio_url: str,
    desk_port: int,
    users: str,
    passwords: dict[str, str],
) -> Path:
    """The config file; `users`: the YAML lines under `desk.users`."""
    pbx = (
        f"  - type: asterisk\n    name: pbx\n    host: 127.0.0.1\n    port: {ami_port}\n"
        "    username: ringback\n"
    )
    senders = (
        f"    - type: twilio\n      name: twilio\n      account_sid: {ACCOUNT_SID}\n"
        f'      auth_token: {AUTH_TOKEN}\n      from: "+15145550100"\n'
        f"      base_url: {twilio_url}\n"
    )
    desk = f'desk:\n  listen: "127.0.0.1:{desk_port}"\n  users:\n{users}'
    config = tmp_path / "ringback.yaml"
    config.write_text(config_text(tmp_path, port, pbx, senders, extra=desk))
    set_passwords(config, passwords, {"RINGBACK_PBX_SECRET": PBX_SECRET})
    return config
