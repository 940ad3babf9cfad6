"""A real SMTP server for the tests (aiosmtpd) with STARTTLS and AUTH, as a
dealership's mail provider runs it on port 587: TLS is required before login, one
user/password is accepted, every message received is kept.

    with SmtpPeer(tmp_path) as smtp:
        config = smtp.config()          # SmtpConfig pointing at it, password included
        ...
        smtp.messages[0]["Subject"]
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
from email.message import Message
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from agent.config.staff import SmtpConfig

USER = "advisors@garage.example"
PASSWORD = "correct horse battery staple"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost / 127.0.0.1 and its key, made with openssl."""
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self, peer: SmtpPeer) -> None:
        self.peer = peer

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.peer.answer_data is not None:
            return self.peer.answer_data
        raw = envelope.original_content or b""
        self.peer.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        self.peer.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


class SmtpPeer:
    def __init__(self, folder: Path) -> None:
        self.cert, self.key = self_signed(folder)
        self.port = _free_port()
        self.messages: list[Message] = []
        self.recipients: list[list[str]] = []
        self.logins: list[str] = []
        self.answer_data: str | None = None  # e.g. "451 4.3.0 try later"
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            authenticator=self._authenticate,
            auth_required=True,
            auth_require_tls=True,
        )

    def _authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.logins.append(data.login.decode())
        ok = data.login.decode() == USER and data.password.decode() == PASSWORD
        return AuthResult(success=ok, handled=False)

    def config(self, **changes: Any) -> SmtpConfig:
        fields: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "starttls",
            "username": USER,
            "password": PASSWORD,
            "from_address": "ringback@garage.example",
            "ca_file": self.cert,
            "timeout_seconds": 10,
        }
        fields.update(changes)
        return SmtpConfig.model_validate(fields)

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()
