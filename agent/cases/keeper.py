"""The pipeline's case hook: a stored call opens, joins, works or closes cases; a
stored reply marks them replied. Runs inside the pipeline's transaction.

A miss joins the case open for its (caller, department) or opens one due at its
department's SLA (`sla`), with a staff notification asked for after the same grace
delay as the caller's text. A contact (`proof`) after a case's first miss is an
attempt on every open case of that number, in every department, and the proof that
closes them all when it is one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from agent.cases.proof import Meaning, judge
from agent.cases.sla import sla_due
from agent.config.settings import Settings
from agent.model import CallRecord, Counters, Direction
from agent.numbers import mask
from agent.store import Store
from agent.store.cases import Contact, Miss

log = logging.getLogger(__name__)


class CaseKeeper:
    def __init__(
        self, settings: Settings, store: Store, holidays: Callable[[int, str], set[str]]
    ) -> None:
        self.settings = settings
        self.store = store
        self.holidays = holidays
        self.texted = frozenset(settings.sms.texted_outcomes)
        self.counters = Counters(
            "cases_opened",
            "cases_joined",
            "case_attempts",
            "cases_reached",
            "cases_escalated",
            "cases_expired",
        )

    def due_at(self, department: str, missed_at: datetime) -> datetime | None:
        """When a case of `department` opened at `missed_at` is due (UTC)."""
        config = self.settings.departments.by_name().get(department)
        minutes = (
            config.sla_minutes if config else None
        ) or self.settings.cases.default_sla_minutes
        weekly = config.weekly() if config else None
        local = missed_at.astimezone(self.settings.site.tz)
        return sla_due(weekly, local, minutes, lambda year: self.holidays(year, department))

    async def on_call(
        self,
        record: CallRecord,
        call_id: int,
        e164: str | None,
        department: str,
        now: datetime,
    ) -> None:
        if not self.settings.cases.enabled:
            return
        verdict = judge(record, self.texted, self.settings.cases.proof_min_talk_seconds)
        if verdict.meaning is Meaning.MISS:
            await self._miss(record, call_id, e164, department, now)
        elif verdict.meaning is Meaning.CONTACT and e164 is not None:
            assert verdict.result is not None
            contact = Contact(
                call_id=call_id,
                at=record.started_at,
                direction=record.direction.value,
                extension=verdict.extension,
                talk_seconds=record.talk_seconds,
                result=verdict.result,
            )
            for case_id, _ in await self.store.open_cases_of(e164, record.started_at):
                if await self.store.record_contact(case_id, contact, now):
                    self.counters.inc("case_attempts")
                    if contact.result.value == "reached":
                        self.counters.inc("cases_reached")
                    log.info(
                        "case_id=%s call_id=%s %s %s by=%s",
                        case_id,
                        record.call_id,
                        record.direction.value,
                        contact.result.value,
                        contact.extension or "-",
                    )

    async def _miss(
        self, record: CallRecord, call_id: int, e164: str | None, department: str, now: datetime
    ) -> None:
        assert record.direction is Direction.INBOUND
        miss = Miss(
            call_id=call_id,
            caller_e164=e164,
            caller_raw=record.caller_raw,
            department=department,
            missed_at=record.ended_at,
            sla_due_at=self.due_at(department, record.ended_at) if e164 else None,
            notify_at=record.ended_at + timedelta(seconds=self.settings.sms.grace_seconds),
        )
        case_id, opened = await self.store.open_or_join_case(miss, now)
        self.counters.inc("cases_opened" if opened else "cases_joined")
        if log.isEnabledFor(logging.INFO):  # (masking the number costs, logged or not)
            log.info(
                "case_id=%s %s call_id=%s from=%s department=%s",
                case_id,
                "opened" if opened else "joined",
                record.call_id,
                mask(e164 or record.caller_raw),
                department,
            )

    async def on_reply(
        self, number: str, reply_id: int, kind: str, received_at: datetime, now: datetime
    ) -> None:
        if not self.settings.cases.enabled or kind != "reply":
            return
        cases = await self.store.mark_replied(
            number, reply_id, received_at, self.settings.departments.default, now
        )
        log.info("reply from=%s marks case(s) %s replied", mask(number), cases or "none")
