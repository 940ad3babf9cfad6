"""The one YAML file a technician edits, typed and validated once.

Where it comes from: `-c PATH`, else `$RINGBACK_CONFIG`, else
`/etc/ringback/ringback.yaml`. Environment variables override it with the prefix
`RINGBACK_` and `__` between levels (`RINGBACK_STORAGE__PATH=/srv/rb.db`). Driver
options are each driver's own model, joined here in discriminated unions on `type:`.

Every problem is reported at once as `PATH:LINE: key.path: what is wrong (what is
expected)` by `load()` raising `ConfigError`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from agent.config.alerts import AlertsConfig
from agent.config.calendar import known_country, subdivisions
from agent.config.cases import CasesConfig
from agent.config.departments import DepartmentsConfig
from agent.config.desk import DeskConfig
from agent.config.holiday_check import unknown_names as unknown_holiday_names
from agent.config.hours import validate_quiet_hours
from agent.config.lines import env_paths, format_errors, parse_yaml
from agent.config.phones import optional_phone_number, phone_number, site_region
from agent.config.report import ReportConfig
from agent.config.staff import SmtpConfig
from agent.errors import ConfigError
from drivers.base import OFFLINE, DriverConfig, DriverEntry, ReadableFile, read_secret
from drivers.senders import SENDERS
from drivers.sources import SOURCES

DEFAULT_PATH = Path("/etc/ringback/ringback.yaml")


def _union(table: dict[str, DriverEntry]) -> Any:
    models = tuple(entry.config for entry in table.values())
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007


if TYPE_CHECKING:
    SourceConfig = DriverConfig
    SenderConfig = DriverConfig
else:
    SourceConfig = _union(SOURCES)
    SenderConfig = _union(SENDERS)


TextedOutcome = Literal["missed", "voicemail", "abandoned_ivr", "abandoned_queue", "busy"]


def _all_texted() -> list[TextedOutcome]:
    return ["missed", "voicemail", "abandoned_ivr", "abandoned_queue", "busy"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        import difflib
        from zoneinfo import available_timezones

        close = difflib.get_close_matches(value, sorted(available_timezones()), n=1)
        meant = f", did you mean {close[0]}?" if close else ""
        raise ValueError(
            f"unknown time zone {value!r}{meant} (expected an IANA name such as America/Toronto)"
        ) from None
    return value


def _country(value: str) -> str:
    if len(value) != 2 or not value.isalpha():
        raise ValueError(f"{value!r} is not a country code (expected two letters such as CA)")
    return value.upper()


Country = Annotated[str, AfterValidator(_country)]


class SiteConfig(Section):
    name: str = Field(min_length=1)
    timezone: Annotated[str, AfterValidator(_zone)] = "America/Toronto"
    country: Country = "CA"
    province: str | None = None
    callback_number: Annotated[str, AfterValidator(optional_phone_number)] = ""
    booking_url: str = ""
    holidays: list[date] = Field(default_factory=list)

    @field_validator("country")
    @classmethod
    def _has_calendar(cls, value: str) -> str:
        if not known_country(value):
            raise ValueError(
                f"no public holiday calendar for {value!r} (expected a country code such as CA)"
            )
        return value

    @field_validator("province")
    @classmethod
    def _known_province(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if value is None or country is None:
            return value
        known = subdivisions(country)
        if value.upper() not in known:
            raise ValueError(
                f"unknown province {value!r} for {country} (expected one of: {', '.join(known)})"
            )
        return value.upper()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RetryConfig(Section):
    first_seconds: float = Field(default=30.0, gt=0)
    max_seconds: float = Field(default=1800.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)


class SmsConfig(Section):
    grace_seconds: float = Field(default=90.0, ge=0)
    dedup_window_hours: float = Field(default=24.0, gt=0)
    max_age_minutes: float = Field(default=240.0, gt=0)
    quiet_hours: Annotated[str, AfterValidator(validate_quiet_hours)] = "21:00-08:00"
    quiet_hours_caller_time: bool = True
    per_number_daily_cap: int = Field(default=2, ge=1)
    global_hourly_cap: int = Field(default=60, ge=1)
    allowed_countries: list[Country] = Field(default_factory=lambda: ["CA", "US"])
    blocklist: list[Annotated[str, AfterValidator(phone_number)]] = Field(default_factory=list)
    voip_texted_countries: list[Country] = Field(default_factory=list)
    segment_warning: int = Field(default=2, ge=1)
    recovery_window_hours: float = Field(default=168.0, gt=0)
    texted_outcomes: list[TextedOutcome] = Field(default_factory=_all_texted)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    senders: list[SenderConfig] = Field(min_length=1)

    @field_validator("senders")
    @classmethod
    def _unique_senders(cls, senders: list[DriverConfig]) -> list[DriverConfig]:
        _check_unique([s.name for s in senders], "sender")
        return senders


class StatusConfig(Section):
    listen: str = "127.0.0.1:8787"
    token: SecretStr | None = None
    token_file: ReadableFile | None = None
    token_next: SecretStr | None = None
    token_next_file: ReadableFile | None = None
    write_token: SecretStr | None = None
    write_token_file: ReadableFile | None = None
    tls_cert_file: ReadableFile | None = None
    tls_key_file: ReadableFile | None = None
    heartbeat_url: str | None = None
    heartbeat_seconds: float = Field(default=60.0, ge=5)
    heartbeat_token: SecretStr | None = None
    heartbeat_token_file: ReadableFile | None = None
    expose_full_numbers: bool = False

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not host:port (expected e.g. 127.0.0.1:8787)")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    def tokens(self) -> list[SecretStr]:
        found = [
            read_secret("status", "token", self.token, self.token_file),
            read_secret("status", "token_next", self.token_next, self.token_next_file),
        ]
        return [t for t in found if t is not None and t.get_secret_value()]

    def heartbeat_credential(self) -> SecretStr | None:
        """The heartbeat's own bearer token for `heartbeat_url` (the receiver's key;
        credential `status.heartbeat_token`), never the status API's tokens."""
        found = read_secret(
            "status", "heartbeat_token", self.heartbeat_token, self.heartbeat_token_file
        )
        return found if found is not None and found.get_secret_value() else None

    def write_tokens(self) -> list[SecretStr]:
        """The tokens that may also act on cases (`POST /v1/cases/...`); the others
        read only."""
        found = read_secret("status", "write_token", self.write_token, self.write_token_file)
        return [found] if found is not None and found.get_secret_value() else []

    @model_validator(mode="after")
    def _exposed_needs_auth(self) -> Self:
        if self.loopback:
            return self
        if not self.tokens() and not self.write_tokens():
            raise ValueError(
                f"listening on {self.host} beyond loopback needs a token "
                "(set status.token_file or the credential status.token)"
            )
        if self.tls_cert_file is None or self.tls_key_file is None:
            raise ValueError(
                f"listening on {self.host} beyond loopback needs TLS "
                "(set status.tls_cert_file and status.tls_key_file)"
            )
        return self


class StorageConfig(Section):
    path: Path = Path("/var/lib/ringback/ringback.db")
    retention_days: int = Field(default=90, ge=1)


class LoggingConfig(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class Settings(BaseSettings):
    """The whole configuration. Top-level names are fixed: tools rely on them."""

    model_config = SettingsConfigDict(
        extra="forbid", frozen=True, env_prefix="RINGBACK_", env_nested_delimiter="__"
    )

    site: SiteConfig
    pbx: list[SourceConfig] = Field(min_length=1)
    departments: DepartmentsConfig = Field(default_factory=DepartmentsConfig)
    sms: SmsConfig
    status: StatusConfig = Field(default_factory=StatusConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    smtp: SmtpConfig | None = None
    desk: DeskConfig = Field(default_factory=DeskConfig)
    cases: CasesConfig = Field(default_factory=CasesConfig)

    @field_validator("pbx")
    @classmethod
    def _unique_sources(cls, sources: list[DriverConfig]) -> list[DriverConfig]:
        _check_unique([s.name for s in sources], "pbx source")
        return sources

    @model_validator(mode="before")
    @classmethod
    def _default_language(cls, data: Any) -> Any:
        """French first for a Quebec site (or a Canadian one with no province), else
        English, unless `departments.language` says otherwise."""
        if not isinstance(data, dict):
            return data
        site, deps = data.get("site"), data.get("departments")
        if not isinstance(site, dict) or not isinstance(deps, dict | None):
            return data
        if deps is not None and "language" in deps:
            return data
        country = str(site.get("country") or "CA").upper()
        province = str(site.get("province") or "").upper()
        french = province == "QC" or (country == "CA" and not province)
        return {**data, "departments": {**(deps or {}), "language": "fr" if french else "en"}}

    @model_validator(mode="after")
    def _templates_known(self) -> Self:
        self.alerts.check_departments(set(self.departments.by_name()))
        known = set(self.departments.by_name())
        for user in self.desk.users:
            unknown = [d for d in user.departments if d not in known]
            if unknown:
                raise ValueError(
                    f"[desk.users] {user.name!r} lists unknown department(s) {', '.join(unknown)} "
                    f"(expected one of: {', '.join(sorted(known))})"
                )
        if self.smtp is None and any(m.email for m in self.alerts.managers):
            raise ValueError("[alerts.managers] an e-mail address needs the smtp: section")
        for name, dep in self.departments.by_name().items():
            if self.smtp is None and any(c.type == "email" for c in dep.notify):
                raise ValueError(
                    f"[departments.{name}.notify] an email channel needs the smtp: section"
                )
            if self.smtp is None and dep.crm is not None and dep.crm.adf_email:
                raise ValueError(
                    f"[departments.{name}.crm.adf_email] an ADF lead by e-mail needs the "
                    "smtp: section"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (_ScalarEnv(settings_cls), init_settings)


class _ScalarEnv(EnvSettingsSource):
    """Environment overrides that ignore the unrelated `RINGBACK_CONFIG` variable."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        data.pop("config", None)
        return data


def _check_unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two {what}s are named {name!r} (expected unique names)")
        seen.add(name)


class LoadedConfig(BaseModel):
    """A validated configuration with where it came from and its checksum."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings
    path: Path
    sha256: str


def resolve_path(path: Path | str | None) -> Path:
    if path:
        return Path(path)
    env = os.environ.get("RINGBACK_CONFIG")
    return Path(env) if env else DEFAULT_PATH


# Checks of a validated configuration that need modules importing this one (the
# templates' cost renders texts): each registers here on import (agent/config/__init__
# imports them) and returns (key path, problem) pairs reported like any other.
LOAD_CHECKS: list[Callable[[Settings], list[tuple[tuple[str | int, ...], str]]]] = []


def load(path: Path | str | None = None, *, offline: bool = False) -> LoadedConfig:
    """Read, parse and validate the config file; raise ConfigError with every problem.
    `offline`: for a command that connects to nothing (required secrets may be absent)."""
    target = resolve_path(path)
    try:
        raw = target.read_bytes()
    except OSError as err:
        hint = ""
        if isinstance(err, FileNotFoundError) and target == DEFAULT_PATH:
            hint = (
                " (expected a file here, or given with -c FILE or $RINGBACK_CONFIG; "
                "`ringback config example > ringback.yaml` writes one to start from)"
            )
        problem = f"{target}: cannot read the configuration: {err.strerror}{hint}"
        raise ConfigError([problem]) from None
    return load_text(raw.decode("utf-8", errors="replace"), target, raw, offline=offline)


def load_text(
    text: str, origin: Path, raw: bytes | None = None, *, offline: bool = False
) -> LoadedConfig:
    parsed = parse_yaml(text, origin)
    data, lines = parsed.data, parsed.lines
    env = env_paths(_ScalarEnv(Settings)(), "RINGBACK_")
    site = data.get("site")
    country = site.get("country") if isinstance(site, dict) else None
    # checks of the file as written: reported beside the validation errors
    written = [_located(origin, lines, loc, p) for loc, p in unknown_holiday_names(data)]
    token = OFFLINE.set(offline)
    try:
        with site_region(country):
            settings = Settings(**data)
    except ValidationError as err:
        found = [*parsed.problems, *format_errors(err, origin, lines, env), *written]
        raise ConfigError(found) from None
    finally:
        OFFLINE.reset(token)
    problems = [*parsed.problems, *written]
    for check in LOAD_CHECKS:
        problems.extend(_located(origin, lines, loc, p) for loc, p in check(settings))
    if problems:
        raise ConfigError(problems)
    digest = hashlib.sha256(raw if raw is not None else text.encode()).hexdigest()
    return LoadedConfig(settings=settings, path=origin, sha256=digest)


def _located(
    origin: Path, lines: dict[tuple[str | int, ...], int], loc: tuple[str | int, ...], problem: str
) -> str:
    return f"{origin}:{_line_of(loc, lines)}: {'.'.join(map(str, loc))}: {problem}"


def _line_of(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1
