"""From a finished call to a decision and, maybe, an outbox row.

`accept(record)` stores the call, routes it to a department, reads the facts the
policy needs, decides, queues the text (the outbox's unique dedup key makes a second
queueing impossible) and stores the decision on the call, all in one transaction:
the call is in the store, with its decision, before anything else happens to it
(the dispatcher is woken after the commit). That transaction is a unit of the
store's group commit (agent/store/group.py): calls accepted while a commit is in
flight are decided and stored together in the next one, each in its savepoint,
without a trip to SQLite's thread per statement; each `accept` returns once its call
is durable.

`inbound(text)` handles what callers text back: STOP/ARRET opts out (and is confirmed
once), START/DEBUT opts back in, HELP/AIDE gets an information reply (a keyword is the
whole reply, case, accents and punctuation aside), anything else is stored as a reply
that counts as a recovery.

Both run the `CaseHook` (the recovery cases, when the pipeline is given one) inside
the same transaction, after the call and its decision or the reply are stored.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from agent.config.dept_holidays import closed_days
from agent.config.hours import public_holidays
from agent.config.settings import Settings
from agent.decide.hooks import CaseHook
from agent.decide.policy import Facts, decide, schedule_for, untexted
from agent.model import (
    CallRecord,
    Counters,
    Decision,
    Defer,
    Direction,
    InboundText,
    Notify,
    Outcome,
    Skip,
    decision_label,
)
from agent.numbers import mask, normalize, region_of
from agent.store import Store

log = logging.getLogger(__name__)

# CTIA's and the CRTC's opt-out words, English and French, folded (see `keyword`).
STOP_WORDS = frozenset(
    {
        "stop",
        "stopall",
        "arret",
        "arrete",
        "arreter",
        "arretez",
        "unsubscribe",
        "fin",
        "cancel",
        "end",
        "quit",
        "optout",
        "revoke",
        "desabonner",
        "desabonnement",
        "desinscrire",
        "desinscription",
    }
)
START_WORDS = frozenset({"start", "debut", "unstop", "yes", "oui"})
# "yes"/"oui" opt back in only a number that opted out; otherwise they are a reply.
START_IF_OPTED_OUT = frozenset({"yes", "oui"})
HELP_WORDS = frozenset({"help", "aide", "info"})
# Words that may follow a keyword without making the message a sentence: politeness
# in both languages (`s'il vous plaît` folds to `s il vous plait`), `all`, `now`.
_POLITE = frozenset(
    {
        *("svp", "stp", "please", "pls", "plz", "merci", "beaucoup", "thanks", "thank"),
        *("thx", "you", "all", "now", "s", "il", "vous", "te", "plait", "ok", "okay"),
    }
)
# Two-word spellings of one keyword: `opt out`, `opt-out`, `stop all`, `se désabonner`.
_JOINED = {("opt", "out"): "optout", ("stop", "all"): "stopall", ("se", "desabonner"): "desabonner",
           ("se", "desinscrire"): "desinscrire"}  # fmt: skip


MAX_REPLY_CHARS = 1600  # ten SMS parts; a longer body is cut
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def clean_body(body: str) -> str:
    """A reply as it is stored and shown: no NUL or other control characters (tab and
    line ends kept), at most `MAX_REPLY_CHARS` characters."""
    return _CONTROL.sub("", body)[:MAX_REPLY_CHARS]


def keyword(body: str) -> str:
    """The keyword a reply consists of, lower case, accents and punctuation removed:
    `ARRÊT !` -> `arret`, `Stop please` -> `stop`, `STOP STOP` -> `stop`, `Arrêt s'il
    vous plaît` -> `arret`. The whole message must be the keyword, repeated or followed
    by polite words only: a sentence that merely starts with one (`Fin de semaine?`,
    `Cancel my appointment`) is a reply, not a keyword: ``."""
    folded = unicodedata.normalize("NFKD", body).encode("ascii", "ignore").decode().lower()
    words: list[str] = re.findall(r"[a-z0-9]+", folded)
    if len(words) >= 2 and (words[0], words[1]) in _JOINED:
        words = [_JOINED[words[0], words[1]], *words[2:]]
    if not words:
        return ""
    first = words[0]
    if not all(w == first or w in _POLITE for w in words[1:]):
        return ""
    return first


@dataclass(frozen=True, slots=True)
class Accepted:
    call_id: int
    new: bool
    department: str | None
    decision: Decision | None
    message_id: int | None


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Callable[[], datetime],
        wake: Callable[[], None] = lambda: None,
        cases: CaseHook | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.wake = wake
        self.cases = cases
        self.counters = Counters(
            "calls",
            "calls_duplicate",
            "missed_calls",
            "messages_queued",
            "skips",
            "global_cap_hits",
            "replies",
            "replies_cleaned",
            "opt_outs",
            "opt_ins",
            "case_errors",
            "calls_held",
            "held_spill_failed",
            "held_unreadable",
            "store_unwritable",
        )
        self.global_cap_hit_at: datetime | None = None
        self._holidays: dict[int, set[str]] = {}
        self._dep_holidays: dict[tuple[int, str], set[str]] = {}
        self._joined: dict[tuple[int, str], set[str]] = {}

    @property
    def _recovery_window(self) -> timedelta:
        return timedelta(hours=self.settings.sms.recovery_window_hours)

    def holiday_dates(self, year: int, department: str | None = None) -> set[str]:
        """The closed days of `year` (ISO dates): the site's, with the department's
        own exceptions (`departments.<name>.holidays`) when one is named."""
        site = self.settings.site
        if year not in self._holidays:
            found = public_holidays(site.country, site.province, site.holidays, year)
            self._holidays[year] = {d.isoformat() for d in found}
        dep = self.settings.departments.by_name().get(department or "")
        if dep is None or dep.holidays is None:
            return self._holidays[year]
        key = (year, department or "")
        if key not in self._dep_holidays:
            self._dep_holidays[key] = closed_days(
                self._holidays[year], dep.holidays, site.country, site.province, year
            )
        return self._dep_holidays[key]

    def _two_years(self, year: int, department: str) -> set[str]:
        """The department's closed days of `year` and the next (an opening may be in
        January), joined once per year and department rather than per call."""
        key = (year, department)
        found = self._joined.get(key)
        if found is None:
            found = self.holiday_dates(year, department) | self.holiday_dates(year + 1, department)
            self._joined[key] = found
        return found

    async def accept(self, record: CallRecord) -> Accepted:
        """Store the call with its decision and its text in one durable transaction:
        a crash leaves either all of them or none (and the source's record is then
        retried), never a call without a decision."""
        now = self.clock()
        country = self.settings.site.country
        e164, problem = normalize(record.remote_raw, country)
        accepted = await self.store.atomic(
            partial(self._store_and_decide, record, e164, problem, now)
        )
        if accepted.message_id is not None:
            self.wake()
        return accepted

    async def _store_and_decide(
        self, record: CallRecord, e164: str | None, problem: str, now: datetime
    ) -> Accepted:
        # Decided before it is stored, so the call's row is written once with its
        # decision (the facts read are of the number, not of this call).
        if untexted(record, self.settings):  # skipped whatever the number's facts
            facts = Facts(e164, problem, None)
        else:
            facts = await self._facts(e164, problem, record.ended_at, now)
        department, after_hours, decision = self._judge(record, facts, now)
        label = decision_label(decision)
        store = self.store
        # an inbound call without the caller's E.164 is stored with it (`fill_caller`)
        inbound = record.direction is Direction.INBOUND
        decided = (department, after_hours, label)
        call_id, new = await store.insert_call(record, e164, now, decided, inbound)
        if not new and await store.call_decision(call_id) is not None:
            self.counters.inc("calls_duplicate")
            return Accepted(call_id, False, None, None, None)
        # A call stored by an earlier attempt that failed before its decision is
        # decided now, so no call is left without one.
        if new:
            self.counters.inc("calls")
            if record.outcome.unanswered and record.direction is Direction.INBOUND:
                self.counters.inc("missed_calls")
        if record.outcome is Outcome.ANSWERED and e164:
            how = "callback" if record.direction is Direction.OUTBOUND else "answered_again"
            await store.mark_recovered(e164, record.started_at, how, self._recovery_window)
        message_id = None
        if isinstance(decision, Notify | Defer):
            message_id = await self._enqueue(record, call_id, e164 or "", decision, now)
            if message_id is None:
                decision = Skip("duplicate")
        if isinstance(decision, Skip):
            self.counters.inc("skips")
            if decision.reason == "global_cap":
                self._global_cap_hit(now)
        if not new or decision_label(decision) != label:
            await store.set_decision(call_id, department, after_hours, decision_label(decision))
        await self._cases_on_call(record, call_id, e164, department, now)
        if log.isEnabledFor(logging.INFO):  # (masking the number costs, logged or not)
            log.info(
                "call_id=%s source=%s outcome=%s from=%s department=%s decision=%s",
                record.call_id,
                record.source,
                record.outcome.value,
                mask(e164 or record.caller_raw),
                department,
                decision_label(decision),
            )
        return Accepted(call_id, True, department, decision, message_id)

    def _judge(self, record: CallRecord, facts: Facts, now: datetime) -> tuple[str, bool, Decision]:
        """(department, after hours, decision): the policy's, pure."""
        settings = self.settings
        department = settings.departments.default
        after_hours = False
        try:
            department = settings.departments.route(record)
            local = record.ended_at.astimezone(settings.site.tz)
            holidays = self._two_years(local.year, department)
            schedule = schedule_for(department, settings, local, holidays, record.dialed)
            after_hours = not schedule.open_now
            return department, after_hours, decide(record, facts, schedule, settings, now)
        except Exception:  # a bug must not block the calls behind this one
            log.exception("call_id=%s: the policy failed on this call", record.call_id)
            return department, after_hours, Skip("policy_error")

    async def _cases_on_call(
        self, record: CallRecord, call_id: int, e164: str | None, department: str, now: datetime
    ) -> None:
        if self.cases is None:
            return
        try:
            async with self.store.savepoint("cases"):
                await self.cases.on_call(record, call_id, e164, department, now)
        except Exception:  # a case bug must not keep the call out of the store
            self.counters.inc("case_errors")
            log.exception("call_id=%s: the recovery cases failed on this call", record.call_id)

    async def _cases_on_reply(
        self, number: str, reply_id: int, kind: str, received_at: datetime, now: datetime
    ) -> None:
        if self.cases is None:
            return
        try:
            async with self.store.savepoint("cases"):
                await self.cases.on_reply(number, reply_id, kind, received_at, now)
        except Exception:
            self.counters.inc("case_errors")
            log.exception("the recovery cases failed on a reply from %s", mask(number))

    async def _facts(
        self, e164: str | None, problem: str, ended_at: datetime, now: datetime
    ) -> Facts:
        if e164 is None:
            return Facts(None, problem, None)
        window = timedelta(hours=self.settings.sms.dedup_window_hours)
        (
            opted_out,
            in_window,
            today,
            last_hour,
            incapable,
            unreachable,
        ) = await self.store.number_facts(
            e164, ended_at - window, now - timedelta(days=1), now - timedelta(hours=1)
        )
        return Facts(
            number_e164=e164,
            number_problem="",
            region=region_of(e164),
            opted_out=opted_out,
            texts_in_dedup_window=in_window,
            texts_to_number_today=today,
            texts_last_hour=last_hour,
            sms_incapable=incapable,
            unreachable_until=unreachable,
        )

    async def _enqueue(
        self, record: CallRecord, call_id: int, e164: str, decision: Notify | Defer, now: datetime
    ) -> int | None:
        window = self.settings.sms.dedup_window_hours * 3600
        bucket = int(record.ended_at.timestamp() // window)
        not_before = decision.until if isinstance(decision, Defer) else decision.not_before
        message_id = await self.store.enqueue(
            call_id=call_id,
            to_e164=e164,
            department=decision.department,
            template=decision.template,
            language=decision.language,
            dedup_key=f"{e164}:{bucket}",
            not_before=not_before,
            expires_at=decision.expires_at,
            now=now,
        )
        if message_id is not None:
            self.counters.inc("messages_queued")
        return message_id

    def _global_cap_hit(self, now: datetime) -> None:
        self.counters.inc("global_cap_hits")
        if self.global_cap_hit_at is None or now - self.global_cap_hit_at > timedelta(hours=1):
            log.error(
                "global hourly cap of %d texts reached: sending stops until the hour passes "
                "(possible SMS pumping)",
                self.settings.sms.global_hourly_cap,
            )
        self.global_cap_hit_at = now

    async def inbound(self, text: InboundText) -> None:
        """A text a caller sent back (called by senders; never raises)."""
        try:
            await self._inbound(text)
        except Exception:
            log.exception("could not record a reply from %s", mask(text.from_e164))

    async def _inbound(self, text: InboundText) -> None:
        async with self.store.transaction():
            if text.provider_id and not await self.store.first_inbound(
                text.sender, text.provider_id, self.clock()
            ):
                self.counters.inc("replies_duplicate")  # redelivered: not a second reply
                log.info("reply from=%s seen before (%s): ignored", mask(text.from_e164),
                         text.sender)  # fmt: skip
                return
            if not text.body.strip() and text.media:
                self.counters.inc("replies_media_only")
            queued = await self._record_reply(text)
        if queued:
            self.wake()

    async def _record_reply(self, text: InboundText) -> bool:
        """Store a reply and act on its keyword; True when a text was queued."""
        body = clean_body(text.body)
        if body != text.body:
            self.counters.inc("replies_cleaned")
            log.warning("reply from=%s: control characters removed or length cut (%d chars)",
                        mask(text.from_e164), len(text.body))  # fmt: skip
            text = replace(text, body=body)
        word = keyword(text.body)
        now = self.clock()
        queued = False
        number = normalize(text.from_e164, self.settings.site.country)[0] or text.from_e164
        kind = "reply"
        if word in STOP_WORDS:
            kind = "opt_out"
            await self.store.set_opt_out(number, word, text.sender, now)
            queued = await self._queue_service_text("stop_confirm", number, now)
            self.counters.inc("opt_outs")
        elif word in START_WORDS and (
            word not in START_IF_OPTED_OUT or await self.store.is_opted_out(number)
        ):
            kind = "opt_in"
            await self.store.clear_opt_out(number)
            self.counters.inc("opt_ins")
        elif word in HELP_WORDS:
            kind = "help"
            queued = await self._queue_service_text("help", number, now)
        reply_id = await self.store.add_reply(
            number, text.body, text.received_at, text.sender, kind
        )
        self.counters.inc("replies")
        await self._cases_on_reply(number, reply_id, kind, text.received_at, now)
        if kind == "reply":
            await self.store.mark_recovered(
                number, text.received_at, "reply", self._recovery_window
            )
        log.info("reply from=%s kind=%s driver=%s", mask(number), kind, text.sender)
        return queued

    async def _queue_service_text(self, template: str, number: str, now: datetime) -> bool:
        """The HELP answer or the STOP confirmation: at most one of each per hour."""
        message_id = await self.store.enqueue(
            call_id=None,
            to_e164=number,
            department=self.settings.departments.default,
            template=template,
            language=self.settings.departments.language,
            dedup_key=f"{template}:{number}:{int(now.timestamp() // 3600)}",
            not_before=now,
            expires_at=now + timedelta(hours=1),
            now=now,
        )
        return message_id is not None
