"""Who is at the desk: passwords, sessions, CSRF tokens and the login throttle.

- Passwords are argon2id hashes (argon2-cffi), one `name:hash` line per user in the
  credentials file `desk.passwords` (written by `ringback desk passwd`, read through
  `$CREDENTIALS_DIRECTORY` like every secret). They never reach the YAML or a log.
- A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie
  (Secure under TLS); it ends after `desk.session_idle_minutes` without a request,
  or at logout. Each session has its own CSRF token, required on every form.
- Wrong password and unknown user get the same answer, take the same time (a hash is
  verified either way) and count against both the name and the client address;
  `desk.login_attempts` failures lock that name for `lockout_minutes`, four times as
  many that address (a whole dealership may share one).
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from agent.config.desk import DeskConfig, DeskUser

PASSWORDS = "desk.passwords"
COOKIE = "ringback_desk"
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("not a password of anyone")
MIN_PASSWORD = 10


def passwords_path(config_path: Path) -> Path:
    """Where `desk passwd` writes: the credentials directory beside the config."""
    return config_path.parent / "credentials" / PASSWORDS


def read_hashes(config_path: Path | None) -> dict[str, str]:
    """The hashes by user name, from $CREDENTIALS_DIRECTORY (systemd) or beside the config."""
    found: list[Path] = []
    if os.environ.get("CREDENTIALS_DIRECTORY"):
        found.append(Path(os.environ["CREDENTIALS_DIRECTORY"]) / PASSWORDS)
    if config_path is not None:
        found.append(passwords_path(config_path))
    for path in found:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        return parse_hashes(text)
    return {}


def parse_hashes(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition(":")
        if sep and name and value.startswith("$argon2"):
            out[name] = value
    return out


def set_password(path: Path, name: str, password: str) -> None:
    """Write `name`'s new hash (others kept), 0600, atomically."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password is too short (at least {MIN_PASSWORD} characters)")
    try:
        hashes = parse_hashes(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        hashes = {}
    hashes[name] = _HASHER.hash(password)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("".join(f"{n}:{h}\n" for n, h in sorted(hashes.items())))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def verify(hashes: dict[str, str], name: str, password: str) -> bool:
    """True for the right password; the same work is done for an unknown user."""
    stored = hashes.get(name)
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(slots=True)
class Session:
    user: str
    csrf: str
    created: float
    seen: float


@dataclass
class Throttle:
    """Failures by key (a user name or a client address) within the lockout window."""

    attempts: int
    window_seconds: float
    failures: dict[str, list[float]] = field(default_factory=dict)

    def locked(self, key: str, now: float) -> bool:
        recent = [t for t in self.failures.get(key, []) if now - t < self.window_seconds]
        self.failures[key] = recent
        return len(recent) >= self.attempts

    def fail(self, key: str, now: float) -> None:
        self.failures.setdefault(key, []).append(now)

    def clear(self, key: str) -> None:
        self.failures.pop(key, None)


class Sessions:
    """The open sessions, in memory: a restart logs everyone out (they log in again)."""

    def __init__(self, config: DeskConfig) -> None:
        self.config = config
        self._open: dict[str, Session] = {}

    def open(self, user: DeskUser) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        session = Session(user.name, secrets.token_urlsafe(24), now, now)
        self._open[token] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        session = self._open.get(token)
        now = time.monotonic()
        if session is None:
            return None
        if now - session.seen > self.config.session_idle_minutes * 60:
            del self._open[token]
            return None
        if self.config.user(session.user) is None:  # removed from the YAML
            del self._open[token]
            return None
        session.seen = now
        return session

    def close(self, token: str | None) -> None:
        if token:
            self._open.pop(token, None)

    def __len__(self) -> int:
        return len(self._open)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
