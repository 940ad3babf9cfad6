"""The `alerts:` section: live staffing alerts and the managers who receive them.

The rule itself is `agent.report.alerts`; its default threshold is the report's.
"""

from __future__ import annotations

from datetime import time
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from agent.numbers import normalize
from drivers.base import ReadableFile

THRESHOLD = 3.5  # robust score from which a window or a day counts as unusually bad


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def e164_number(value: str) -> str:
    """An E.164 number written with its +, as phonenumbers reads it."""
    number, _ = normalize(value, "CA")
    if number is None or not value.strip().startswith("+"):
        raise ValueError(f"{value!r} is not an E.164 phone number (expected e.g. +15145550150)")
    return number


def email_address(value: str) -> str:
    try:
        address = Address(addr_spec=value.strip())
    except (HeaderParseError, ValueError, IndexError):
        address = None
    if address is None or not address.username or "." not in address.domain:
        raise ValueError(f"{value!r} is not an e-mail address (expected name@example.com)")
    return value.strip()


def http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"{value!r} is not an http(s) URL (expected https://...)")
    return value


def _clock_time(value: str) -> str:
    try:
        time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day (expected HH:MM)") from None
    return value


class ManagerConfig(_Section):
    name: str = Field(min_length=1)
    departments: list[str] = Field(default_factory=list)  # empty: every department
    phone: Annotated[str, AfterValidator(e164_number)] | None = None
    webhook_url: Annotated[str, AfterValidator(http_url)] | None = None
    webhook_secret: SecretStr | None = None
    webhook_secret_file: ReadableFile | None = None
    email: Annotated[str, AfterValidator(email_address)] | None = None
    digest: bool = False
    weekly_report: bool = False

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if self.phone is None and self.webhook_url is None and self.email is None:
            raise ValueError(f"manager {self.name!r} has no phone, webhook_url or email")
        if self.weekly_report and self.email is None:
            raise ValueError(f"manager {self.name!r} has weekly_report: true but no email")
        return self

    def webhook_key(self) -> SecretStr | None:
        """The key signing this manager's webhook posts, as staff webhooks are signed."""
        if self.webhook_secret_file is not None:
            return SecretStr(self.webhook_secret_file.read_text(encoding="utf-8").rstrip("\r\n"))
        return self.webhook_secret

    def covers(self, department: str) -> bool:
        return not self.departments or department in self.departments


class AlertsConfig(_Section):
    enabled: bool = True
    check_minutes: float = Field(default=5.0, ge=1)
    window_minutes: int = Field(default=60, ge=15, le=240)
    baseline_weeks: int = Field(default=8, ge=2, le=52)
    min_history_weeks: int = Field(default=4, ge=1)
    threshold: float = Field(default=THRESHOLD, gt=0)
    min_missed: int = Field(default=5, ge=1)
    period_minutes: float = Field(default=120.0, ge=5)
    digest_at: Annotated[str, AfterValidator(_clock_time)] = "07:30"
    weekly_report_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    managers: list[ManagerConfig] = Field(default_factory=list)

    def check_departments(self, known: set[str]) -> None:
        for manager in self.managers:
            for name in manager.departments:
                if name not in known:
                    raise ValueError(
                        f"[alerts.managers] {manager.name!r} lists unknown department {name!r} "
                        f"(expected one of: {', '.join(sorted(known))})"
                    )
