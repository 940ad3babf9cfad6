"""Departments: how a call is routed to one, its opening hours and its texts.

Routing precedence, first match wins:
1. the number dialled (DID) is one of the department's `dids`;
2. the call joined one of its `queues`;
3. the IVR keys pressed start with one of its `ivr_keys` (longest match);
4. one of its `extensions` (phones or ring groups) rang, in ringing order;
5. otherwise `departments.default`.

The same DID, queue, IVR keys or extension may not be listed by two departments (a
config error: the precedence would hide one). The language of a text is the one of
the DID dialled (`departments.did_languages`), else the department's, else
`departments.language` (French for a Quebec site, English elsewhere by default).
"""

from __future__ import annotations

import functools
import itertools
import re
import string
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from agent.config.crm import CrmConfig
from agent.config.dept_holidays import DepartmentHolidays
from agent.config.phones import did_number
from agent.config.staff import Channel
from agent.model import CallRecord

Language = Literal["fr", "en"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PLACEHOLDERS = frozenset({"site", "department", "booking_url", "callback_number", "opens_at"})
# The longest body a cloud provider accepts (Twilio: 1600 characters, ~10 segments).
MAX_TEMPLATE_CHARS = 1600

# Written without an article before {department}: a label may be masculine,
# feminine or plural ("Service", "Ventes", "Pièces"), so the French names it in
# parentheses, and "{opens_at}" reads after "rappellerons" ("demain à 8 h", "dès que
# possible"). A department writes its own texts to name itself in a sentence.
DEFAULT_TEMPLATES = {
    "open": {
        "fr": "{site} ({department}) : désolé d'avoir manqué votre appel. "
        "Répondez à ce texto ou rappelez-nous au {callback_number}.",
        "en": "{site} ({department}): sorry we missed your call. "
        "Reply to this text or call us back at {callback_number}.",
    },
    "after_hours": {
        "fr": "{site} ({department}) : nous sommes fermés en ce moment. Nous vous "
        "rappellerons {opens_at}. Répondez à ce texto pour nous laisser un message.",
        "en": "{site} ({department}): we are closed right now. We will call you back "
        "{opens_at}. Reply to this text to leave us a message.",
    },
}

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_ranges(text: str) -> list[tuple[time, time]]:
    """`"08:00-12:00, 13:00-17:30"` -> ordered ranges; `"closed"` -> []."""
    if text.strip().lower() in ("closed", "fermé", "ferme", ""):
        return []
    ranges: list[tuple[time, time]] = []
    for part in text.split(","):
        match = _RANGE.match(part)
        if not match:
            raise ValueError(f"{part.strip()!r} is not a time range (expected HH:MM-HH:MM)")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"{part.strip()!r} has an impossible time (expected 00:00-24:00)")
        start, end = time(h1, m1), time(23, 59, 59) if h2 == 24 else time(h2, m2)
        if end <= start:
            raise ValueError(f"{part.strip()!r} ends before it starts (expected start < end)")
        ranges.append((start, end))
    ranges.sort()
    for (_, end1), (start2, _) in itertools.pairwise(ranges):
        if start2 < end1:
            raise ValueError(f"{text!r} has overlapping ranges (expected separate ranges)")
    return ranges


def template_fields(text: str) -> set[str]:
    """The placeholders a template uses; raises ValueError on a broken template."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as err:
        raise ValueError(f"broken template: {err} (expected {{placeholder}} pairs)") from None


def check_template(text: str) -> str:
    """A template must use known placeholders only, format cleanly and fit one text."""
    unknown = template_fields(text) - PLACEHOLDERS
    if unknown:
        raise ValueError(
            f"unknown placeholder {{{sorted(unknown)[0]}}} "
            f"(expected one of: {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))})"
        )
    try:
        text.format(**dict.fromkeys(PLACEHOLDERS, "x"))
    except (ValueError, KeyError, IndexError, AttributeError) as err:
        raise ValueError(f"broken template: {err} (expected plain {{placeholder}})") from None
    if not text.strip():
        raise ValueError("the template is empty (expected a text, or leave the language out)")
    if len(text) > MAX_TEMPLATE_CHARS:
        raise ValueError(
            f"the template is {len(text)} characters long "
            f"(expected at most {MAX_TEMPLATE_CHARS}, the longest text providers accept)"
        )
    return text


def _valid_ranges(text: str) -> str:
    parse_ranges(text)
    return text


class TemplateSet(_Section):
    fr: Annotated[str, AfterValidator(check_template)] | None = None
    en: Annotated[str, AfterValidator(check_template)] | None = None

    def pick(self, language: str) -> str | None:
        preferred = self.fr if language == "fr" else self.en
        return preferred or self.fr or self.en

    @property
    def empty(self) -> bool:
        return not (self.fr or self.en)


class Templates(_Section):
    open: TemplateSet = Field(default_factory=lambda: TemplateSet(**DEFAULT_TEMPLATES["open"]))
    after_hours: TemplateSet | None = Field(
        default_factory=lambda: TemplateSet(**DEFAULT_TEMPLATES["after_hours"])
    )


class DepartmentConfig(_Section):
    label: str | None = None
    dids: list[Annotated[str, AfterValidator(did_number)]] = Field(default_factory=list)
    queues: list[str] = Field(default_factory=list)
    ivr_keys: list[str] = Field(default_factory=list)
    extensions: list[str] = Field(default_factory=list)
    language: Language | None = None
    hours: dict[
        Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        Annotated[str, AfterValidator(_valid_ranges)],
    ] = Field(default_factory=dict)
    templates: Templates = Field(default_factory=Templates)
    sla_minutes: int | None = Field(default=None, ge=1)
    # Exceptions to the site's holidays (agent.config.dept_holidays).
    holidays: DepartmentHolidays | None = None
    # Who among the staff hears of this department's cases (agent.cases.notify).
    notify: list[Channel] = Field(default_factory=list)
    # The dealership's CRM: ADF leads by e-mail, a signed JSON webhook (agent.config.crm).
    crm: CrmConfig | None = None

    # `weekly()` parsed once: the policy and the cases ask for it on every call
    _weekly: dict[int, list[tuple[time, time]]] | None = PrivateAttr(default=None)

    def weekly(self) -> dict[int, list[tuple[time, time]]] | None:
        """Opening ranges per weekday (0 = Monday), or None for "always open"."""
        if not self.hours:
            return None
        if self._weekly is None:
            hours: dict[str, str] = {str(k): v for k, v in self.hours.items()}
            self._weekly = {i: parse_ranges(hours.get(day, "closed")) for i, day in enumerate(DAYS)}
        return self._weekly


class DepartmentsConfig(BaseModel):
    """`default`, `language`, then one key per department (service, sales, parts...)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, DepartmentConfig] = Field(init=False)

    default: str = "main"
    language: Language = "fr"
    did_languages: dict[str, Language] = Field(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _cross_checks(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """The default department exists and no route is listed twice, checked on the
        raw data so these problems come in the same run as every other one."""
        found = _cross_problems(data) if isinstance(data, dict) else []
        try:
            result = handler(data)
        except ValidationError as err:
            if not found:
                raise
            details = [_again(e) for e in err.errors()]
            raise ValidationError.from_exception_data(err.title, [*details, *found]) from None
        if found:
            raise ValidationError.from_exception_data(cls.__name__, found)
        return result

    def by_name(self) -> dict[str, DepartmentConfig]:
        found = dict(self.__pydantic_extra__ or {})
        return found or {"main": DepartmentConfig(label="main")}

    def route(self, record: CallRecord) -> str:
        """The department of a call, by the precedence in the module docstring."""
        departments = self.by_name()
        for rule in (_by_did, _by_queue, _by_ivr, _by_extension):
            found = rule(record, departments)
            if found is not None:
                return found
        return self.default

    def language_of(self, department: str, dialed: str | None = None) -> str:
        """The DID's language, else the department's, else the site default."""
        for did, language in self.did_languages.items():
            if _same_number(dialed, did):
                return language
        config = self.by_name().get(department)
        return (config.language if config else None) or self.language


def _problem(loc: tuple[str | int, ...], value: object, text: str) -> InitErrorDetails:
    error = PydanticCustomError("value_error", "{error}", {"error": text})
    return InitErrorDetails(type=error, loc=loc, input=value)


def _again(detail: Any) -> InitErrorDetails:
    """A pydantic error as it can be raised again beside the cross-check problems."""
    ctx = {
        k: str(v) if isinstance(v, Exception) else v for k, v in (detail.get("ctx") or {}).items()
    }
    again = InitErrorDetails(
        type=detail["type"], loc=tuple(detail["loc"]), input=detail.get("input")
    )
    if ctx:
        again["ctx"] = ctx
    return again


def _cross_problems(data: dict[str, Any]) -> list[InitErrorDetails]:
    """Cross-checks over the departments as written (before each is validated)."""
    fixed = set(DepartmentsConfig.model_fields)
    departments = {k: v for k, v in data.items() if k not in fixed and isinstance(v, dict)}
    problems: list[InitErrorDetails] = []
    default = data.get("default", "main")
    names = set(departments) or {"main"}
    if isinstance(default, str) and default not in names:
        problems.append(
            _problem(
                ("default",),
                default,
                f"department {default!r} is not defined "
                f"(expected one of: {', '.join(sorted(names))})",
            )
        )
    for what, key in (
        ("DID", "dids"),
        ("queue", "queues"),
        ("IVR keys", "ivr_keys"),
        ("extension", "extensions"),
    ):
        owner: dict[str, str] = {}
        for name, dep in departments.items():
            values = dep.get(key)
            for index, value in enumerate(values if isinstance(values, list) else []):
                text = str(value)
                norm = (_digits(text)[-10:] or text) if key == "dids" else text
                if norm in owner and owner[norm] != name:
                    problems.append(
                        _problem(
                            (name, key, index),
                            value,
                            f"{what} {text!r} is listed by both {owner[norm]} and {name} "
                            "(expected each under one department)",
                        )
                    )
                owner.setdefault(norm, name)
    return problems


def _digits(number: str | None) -> str:
    if number is not None and len(number) <= 32:  # a DID: cached, every call is routed
        return _number_digits(number)
    return re.sub(r"\D", "", number or "")


@functools.lru_cache(maxsize=1024)
def _number_digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def _same_number(a: str | None, b: str) -> bool:
    da, db = _digits(a), _digits(b)
    if not da or not db:
        return False
    return da == db or (len(da) >= 10 and len(db) >= 10 and da[-10:] == db[-10:])


def _by_did(record: CallRecord, deps: dict[str, DepartmentConfig]) -> str | None:
    return next(
        (n for n, d in deps.items() if any(_same_number(record.dialed, x) for x in d.dids)), None
    )


def _by_queue(record: CallRecord, deps: dict[str, DepartmentConfig]) -> str | None:
    if not record.queue:
        return None
    return next((n for n, d in deps.items() if record.queue in d.queues), None)


def _by_ivr(record: CallRecord, deps: dict[str, DepartmentConfig]) -> str | None:
    best: tuple[int, str] | None = None
    for name, dep in deps.items():
        for keys in dep.ivr_keys:
            if keys and record.ivr_path.startswith(keys) and (best is None or len(keys) > best[0]):
                best = (len(keys), name)
    return best[1] if best else None


def _by_extension(record: CallRecord, deps: dict[str, DepartmentConfig]) -> str | None:
    for ext in record.extensions:
        for name, dep in deps.items():
            if ext in dep.extensions:
                return name
    return None


def opening_after(
    weekly: dict[int, list[tuple[time, time]]] | None, moment: datetime, closed_days: set[str]
) -> tuple[bool, datetime | None]:
    """(open now?, next opening) for local `moment`; holidays in `closed_days` (ISO dates)."""
    if weekly is None:
        return True, None
    for offset in range(0, 15):
        day = (moment + timedelta(days=offset)).date()
        if day.isoformat() in closed_days:
            continue
        for start, end in weekly[day.weekday()]:
            begin = datetime.combine(day, start, moment.tzinfo)
            finish = datetime.combine(day, end, moment.tzinfo)
            if offset == 0 and begin <= moment < finish:
                return True, None
            if begin > moment:
                return False, begin
    return False, None
