"""The `desk:` section: the advisors' web page, its address and its users.

Off until `listen` is set (a LAN address is allowed: the desk is for the people in
the dealership; beyond loopback, TLS from `tls_cert_file`/`tls_key_file` is strongly
advised and the session cookie is then `Secure`). Users are named here with their
role and departments; their passwords are set with `ringback desk passwd NAME` and
kept as argon2 hashes in the credentials directory (`desk.passwords`), never here.

Roles: `staff` works the cases of their departments; `manager` also sees the day's
figures for their departments (all departments when none are listed); `admin` sees
everything.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_NAME = r"^[a-z0-9][a-z0-9._-]{0,31}$"


class DeskUser(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    role: Literal["staff", "manager", "admin"] = "staff"
    departments: list[str] = Field(default_factory=list)  # empty: all (managers, admins)
    language: Literal["fr", "en"] | None = None  # default: the site's
    extension: str | None = Field(default=None, pattern=r"^[0-9*#]{1,15}$")  # click-to-call

    def sees(self, department: str) -> bool:
        """Admins see every department; others theirs (all when none are listed)."""
        return self.role == "admin" or not self.departments or department in self.departments


class DeskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str | None = None  # e.g. "0.0.0.0:8080" or "127.0.0.1:8080"
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    session_idle_minutes: int = Field(default=480, ge=5, le=7 * 24 * 60)
    login_attempts: int = Field(default=5, ge=1, le=100)  # failures before a lockout
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    users: list[DeskUser] = Field(default_factory=list)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:  # 0: any free port
            raise ValueError(f"{value!r} is not host:port (expected e.g. 0.0.0.0:8080)")
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            if host != "localhost":
                raise ValueError(f"{host!r} is not an IP address (expected e.g. 0.0.0.0)") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [u.name for u in self.users]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"desk user(s) listed twice: {', '.join(twice)}")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("set both tls_cert_file and tls_key_file, or neither")
        return self

    @property
    def host(self) -> str:
        return (self.listen or "").rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int((self.listen or ":0").rpartition(":")[2])

    def user(self, name: str) -> DeskUser | None:
        return next((u for u in self.users if u.name == name), None)
