"""What a driver is: the two protocols, the context it is built with, its config base.

A driver module imports only `agent.model`, `agent.errors`, `agent.backoff` and this
module. The daemon
finds drivers by their `type:` name in `drivers.sources.SOURCES` and
`drivers.senders.SENDERS`; each entry names the driver's options model (imported
eagerly, it is light) and its factory (imported only when the driver is built).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, ClassVar, Literal, Protocol, Self, runtime_checkable

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    SecretStr,
    ValidationInfo,
    model_validator,
)

from agent.model import (
    CallRecord,
    DeliveryReport,
    Health,
    InboundText,
    OutgoingText,
    SendResult,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SiteContext:
    """Facts about the site every driver may need. `last_call_at(source)` answers when
    the last call the store holds from that source ended (None: none yet); a source
    catching up from the PBX's own records starts there."""

    name: str
    tz: tzinfo
    country: str = "CA"
    clock: Callable[[], datetime] = utc_now
    last_call_at: Callable[[str], Awaitable[datetime | None]] | None = None


async def _ignore_inbound(text: InboundText) -> None:
    return None


async def _ignore_delivery(report: DeliveryReport) -> None:
    return None


async def _no_mark(sender: str, key: str) -> str | None:
    return None


async def _forget_mark(sender: str, key: str, value: str) -> None:
    return None


async def _no_texts(sender: str, number_tail: str, since: datetime) -> list[tuple[int, str, str]]:
    return []


async def _at_once() -> None:
    return None


@dataclass(frozen=True, slots=True)
class SenderContext:
    """What a sender is built with. `on_inbound` receives the texts callers send back
    (the policy turns STOP/ARRET into an opt-out); `on_delivery` the carrier's word on
    texts we sent (state, error code, what it says about the number). Neither raises;
    a sender calls them from its own loop and awaits them before it forgets the input
    (before it deletes the SIM's message, before it moves its high-water mark).
    `load_mark(sender, key)` / `save_mark(sender, key, value)` keep a sender's small
    state across restarts (the store's `sender_marks`; the defaults keep nothing); a
    save that fails raises, and the sender keeps its old mark.
    `sent_texts(sender, number_tail, since)` lists the texts that sender sent since a
    time to numbers ending in `number_tail` (digits), newest first, as (message id,
    number, `Sent.provider_id`): the modem matches a late status report to a text it
    sent before a restart (the default knows none).
    `started()` returns once the daemon has started (its status API listens): a
    sender's own background rounds (Twilio's poll) await it before their first, so
    the start is not held up by them (the default returns at once)."""

    site: SiteContext
    on_inbound: Callable[[InboundText], Awaitable[None]] = field(default=_ignore_inbound)
    on_delivery: Callable[[DeliveryReport], Awaitable[None]] = field(default=_ignore_delivery)
    load_mark: Callable[[str, str], Awaitable[str | None]] = field(default=_no_mark)
    save_mark: Callable[[str, str, str], Awaitable[None]] = field(default=_forget_mark)
    sent_texts: Callable[[str, str, datetime], Awaitable[list[tuple[int, str, str]]]] = field(
        default=_no_texts
    )
    started: Callable[[], Awaitable[None]] = field(default=_at_once)


class Source(Protocol):
    """A PBX connection that yields finished calls.

    `records()` runs until cancelled: it connects, reconnects with capped backoff when
    the PBX goes away, and yields one `CallRecord` per finished call. It never raises
    for bad input or a lost connection (it counts and logs them and reports them in
    `health()`); cancellation closes the connection. `health()` is cheap and never
    blocks.
    """

    name: str

    def records(self) -> AsyncIterator[CallRecord]: ...

    def health(self) -> Health: ...


class HandsOver(Protocol):
    """An optional capability of a `Source`: handing its calls in progress to the
    source that replaces it when a reload changes its options.

    `hand_over()` is called once the old source's `records()` was cancelled; it
    returns what the source knew of the calls not finished yet (and finished calls
    not yet yielded), in a form only the same driver understands. `take_over(state)`
    is called on the new source before its `records()` starts; it never raises and
    ignores a state it does not recognise. Events that arrived between the two were
    not seen by either: the new source treats the calls as after a lost link.
    """

    def hand_over(self) -> object: ...

    def take_over(self, state: object) -> None: ...


def hand_over(old: Source, new: Source) -> bool:
    """Pass `old`'s calls in progress to `new` when both offer the capability (same
    driver); True when they did."""
    give = getattr(old, "hand_over", None)
    take = getattr(new, "take_over", None)
    if not callable(give) or not callable(take) or type(old) is not type(new):
        return False
    take(give())
    return True


class Resource(Protocol):
    """Something opened with `async with` and closed on leaving it."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class CallRefused:
    """Why the PBX did not place a click-to-call: `kind` is `no_link` (no session to
    the PBX), `no_answer` (it did not answer the request in time; `said` names the
    error) or `refused` (it said no; `said` is its own words, maybe empty). The desk
    says each kind in the advisor's language and quotes `said`."""

    kind: Literal["no_link", "no_answer", "refused"]
    said: str = ""


@runtime_checkable
class Originates(Protocol):
    """A source that can place a call (the desk's click-to-call): ring the staff
    `extension`, then dial `number_e164` showing `caller_id`. Returns None when the
    PBX took the call, else why not (`CallRefused`); raises nothing but
    CancelledError."""

    async def originate(
        self, extension: str, number_e164: str, caller_id: str
    ) -> CallRefused | None: ...


class Sender(Resource, Protocol):
    """One way to deliver a text (a modem, a cloud API, a dry-run log).

    Used as an async context manager: `__aenter__` opens what it needs but must not
    fail because the peer is down (it reports that in `health()` and answers
    `RetryLater`); after `__aexit__` nothing it started is left running.
    `send()` returns `Sent`, `RetryLater` or `Rejected` and raises nothing but
    `CancelledError`.
    """

    name: str

    async def send(self, text: OutgoingText) -> SendResult: ...

    def health(self) -> Health: ...


@runtime_checkable
class WebhookReceiver(Protocol):
    """A sender that also takes its provider's callbacks (delivery states, inbound
    texts) when they can reach us: the status API hands it each POST to
    `/hooks/<type>/<sender name>` as its form fields and request headers (lower-case
    names). It answers the HTTP status to return (200 taken, 403 forged, 400 not
    understood, 404 not configured for webhooks) and raises nothing."""

    name: str

    async def webhook(self, form: Mapping[str, str], headers: Mapping[str, str]) -> int: ...


@dataclass(frozen=True, slots=True)
class DriverEntry:
    """One row of a driver table: the options model and where the factory lives."""

    config: type[DriverConfig]
    factory: str  # "package.module:Class", called as Class(config, context)
    # Sources only: "package.module:function" called as function(data: bytes, config,
    # site) -> Iterable[CallRecord], the offline parse behind `ringback replay`.
    replay: str | None = None
    # "package.module:function" called as `await function(config, site, limit)` by
    # `ringback doctor`: one short check with the driver's own connection code, bounded
    # by `limit` seconds, returning a `DoctorResult`. It raises nothing.
    doctor: str | None = None
    # Sources only: "package.module:Class", a `DemoPeer` built as Class(secret=...), the
    # PBX `ringback demo` connects to.
    demo: str | None = None
    # Senders only: "package.module:function" called as function(text) -> (encoding,
    # segments), what a text costs on this path (`check-config`'s template lines).
    cost: str | None = None
    # Senders only: "package.module:function" called as function(text, to, with_pdu) ->
    # dict, what `ringback sms-preview` prints; raises ValueError for a bad `to`.
    preview: str | None = None

    def load(self) -> Callable[..., Any]:
        return _import(self.factory)

    def load_replay(self) -> Callable[..., Any] | None:
        return _import(self.replay) if self.replay else None

    def load_doctor(self) -> Callable[..., Awaitable[DoctorResult]] | None:
        return _import(self.doctor) if self.doctor else None

    def capability(self, name: str) -> Callable[..., Any] | None:
        """The `demo`, `cost` or `preview` function of this driver, if it has one."""
        ref: str | None = getattr(self, name)
        return _import(ref) if ref else None


def capability(table: Mapping[str, DriverEntry], name: str) -> Callable[..., Any] | None:
    """The first driver of `table` that offers capability `name`, loaded."""
    for entry in table.values():
        found = entry.capability(name)
        if found is not None:
            return found
    return None


class DemoPeer(Resource, Protocol):
    """A PBX peer for `ringback demo`: an async context manager listening on loopback
    `port`, holding recorded calls (`recordings()`, shifted so the last one ends now),
    that plays one when asked, once the source has connected (`ready()`)."""

    port: int

    def recordings(self) -> dict[str, bytes]: ...

    async def ready(self, within: float) -> None: ...

    async def play(self, data: bytes, speed: float | None) -> None: ...


@dataclass(frozen=True, slots=True)
class DoctorResult:
    """What a driver's doctor check found: `message` says what was seen, `hint` how to
    fix it when `ok` is False. Neither ever holds a secret or a full phone number."""

    ok: bool
    message: str
    hint: str = ""


def _import(ref: str) -> Callable[..., Any]:
    module_name, _, attr = ref.partition(":")
    target: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    return target


# --- options models ------------------------------------------------------------------


def _readable_file(path: Path) -> Path:
    try:
        with path.open("rb"):
            pass
    except OSError as err:
        raise ValueError(f"cannot read secret file {path}: {err.strerror}") from None
    return path


ReadableFile = Annotated[Path, AfterValidator(_readable_file)]

_NAME_RE = r"^[a-z0-9][a-z0-9_-]{0,31}$"


def _env_key(*parts: str) -> str:
    return "RINGBACK_" + "_".join(re.sub(r"[^A-Za-z0-9]", "_", p).upper() for p in parts)


def read_secret(
    name: str, field_name: str, value: SecretStr | None, path: Path | None
) -> SecretStr | None:
    """Resolve one secret: the YAML value, then `<field>_file`, then the environment
    variable `RINGBACK_<NAME>_<FIELD>`, then `$CREDENTIALS_DIRECTORY/<name>.<field>`
    (systemd `LoadCredential=`). Trailing newlines of files are stripped."""
    if value is not None:
        return value
    if path is not None:
        return SecretStr(path.read_text(encoding="utf-8").rstrip("\r\n"))
    env = os.environ.get(_env_key(name, field_name))
    if env:
        return SecretStr(env)
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        cred = Path(cred_dir) / f"{name}.{field_name}"
        if cred.is_file():
            return SecretStr(cred.read_text(encoding="utf-8").rstrip("\r\n"))
    return None


def _check_name(value: str) -> str:
    if not re.match(_NAME_RE, value):
        raise ValueError(
            "must be 1-32 characters of lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return value


# Set while a configuration is validated for a command that connects to nothing and
# sends nothing (`ringback replay`): required secrets may then be absent.
OFFLINE: ContextVar[bool] = ContextVar("ringback_offline_validation", default=False)


def is_offline(info: ValidationInfo) -> bool:
    """True when validating for an offline command (context or `OFFLINE`)."""
    return bool(info.context and info.context.get("offline")) or OFFLINE.get()


class DriverConfig(BaseModel):
    """Base of every driver's options: `type` and `name`, unknown keys refused.

    A subclass lists its secrets in `secret_fields`; for each secret `x` it declares
    `x: SecretStr | None = None` and `x_file: ReadableFile | None = None`, and the
    secret is resolved by `read_secret`. Secrets in `required_secrets` must resolve.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: str
    name: Annotated[str, AfterValidator(_check_name)]

    secret_fields: ClassVar[tuple[str, ...]] = ()
    required_secrets: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _resolve_secrets(self, info: ValidationInfo) -> Self:
        offline = is_offline(info)
        for field_name in self.secret_fields:
            value = read_secret(
                self.name,
                field_name,
                getattr(self, field_name),
                getattr(self, f"{field_name}_file"),
            )
            object.__setattr__(self, field_name, value)
            if value is None and field_name in self.required_secrets and not offline:
                raise ValueError(
                    f"[{field_name}] {field_name} is missing (set {field_name} or "
                    f"{field_name}_file, the "
                    f"environment variable {_env_key(self.name, field_name)} or the systemd "
                    f"credential {self.name}.{field_name})"
                )
        return self


def e164_problem(value: str, *, strict: bool = True) -> str | None:
    """Why `value` is not an E.164 number phonenumbers accepts (valid, or only of a
    possible length when not `strict`), or None."""
    import phonenumbers

    if not re.fullmatch(r"\+[1-9][0-9]{4,14}", value):
        return f"{value!r} is not an E.164 number (expected + and the digits, e.g. +15145550100)"
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return f"{value!r} is not a phone number (expected e.g. +15145550100)"
    ok = phonenumbers.is_valid_number(parsed) if strict else phonenumbers.is_possible_number(parsed)
    if not ok:
        return f"{value!r} is not a valid phone number (expected e.g. +15145550100)"
    return None
