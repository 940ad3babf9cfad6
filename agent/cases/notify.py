"""The staff notifier: delivers the cases' `case_notifications` to the department's
channels (`departments.<name>.notify`) and, for an escalation, to the managers
covering the department (`alerts.managers`: email, phone, webhook_url). Owned by the
daemon's task group (task name `notify`), beside the caller's texts, never in
their way: it has its own rows, and an SMS to staff is an outbox row (template
`staff_notice`) the dispatcher sends like a manager's alert.

Each due row fans out into one row per channel, each tried on its own: e-mail
through `smtp:` (`agent.send.mail`), a webhook (`agent.send.hooks`), an SMS queued,
and the department's CRM hand-off (`agent.cases.crm`: an ADF lead, a signed JSON
event; staff hear only of new cases, replies and escalations, the CRM also of
reached and closed ones, with its own first retry wait).
A failure is stored (attempts, last error, next try) and tried again with backoff
(`FIRST_RETRY` doubling to `MAX_RETRY`); one that cannot work as is (a refused
login, a refused address, a 4xx) waits `MAX_RETRY`, so a corrected password takes
effect on its own; after `GIVE_UP` the row is `failed`. Once a local day from
`alerts.digest_at` each department with channels gets the list of its open cases.

Logs name the notification, its kind, department and channel, never the number
in full, nor a reply's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from agent.cases import staff_words as w
from agent.cases.crm import CrmHandoff, crm_targets, is_crm, retry_seconds
from agent.cases.staff_words import Content
from agent.config.settings import Settings
from agent.config.staff import Channel, EmailChannel, SmsChannel, WebhookChannel
from agent.model import Counters
from agent.send.hooks import Notice, post
from agent.send.mail import Delivery, message, send_mail
from agent.store import Store, parse_ts

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)
GIVE_UP = timedelta(hours=24)
STAFF_TEXT_MAX_AGE = timedelta(hours=4)


# The kinds staff hear of; a case's other events (reached, closed) go to the CRM only.
STAFF_KINDS = frozenset({"opened", "reply", "escalated", "morning_list"})


def backoff(attempts: int, retry: bool, first: timedelta = FIRST_RETRY) -> timedelta:
    """The wait after the `attempts`-th failed try (1, 2, ...)."""
    if not retry:
        return MAX_RETRY
    wait: timedelta = first * (2 ** min(attempts - 1, 20))
    return min(MAX_RETRY, wait)


class Notifier:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Callable[[], datetime],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.wake_dispatcher = wake
        self.counters = Counters("staff_sent", "staff_failures", "staff_given_up")
        self.crm = CrmHandoff(settings, store, clock)
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Deliver until `stop()`; a pass that fails is logged and tried again."""
        while not self._stop.is_set():
            try:
                await self.morning_list_once()
                await self.run_once()
            except Exception:
                log.exception("notify: the pass failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), POLL_SECONDS)

    async def run_once(self) -> int:
        """Everything due now; returns how many channel deliveries were tried."""
        tried = 0
        while not self._stop.is_set():
            due = await self.store.due_notifications(self.clock())
            if not due:
                break
            for row in due:
                if row["target"] is None:
                    await self.store.fan_out(row, self.targets(row), self.clock())
                else:
                    await self.deliver(row)
                    tried += 1
        return tried

    # --- who ---------------------------------------------------------------------------

    def targets(self, row: dict[str, Any]) -> list[str]:
        department = self.settings.departments.by_name().get(row["department"])
        found = []
        if department is not None and row["kind"] in STAFF_KINDS:
            found = [f"channel:{i}" for i in range(len(department.notify))]
        found += crm_targets(row, self.settings)
        if row["kind"] == "escalated":
            for manager in self.settings.alerts.managers:
                if not manager.covers(row["department"]):
                    continue
                if manager.email and self.settings.smtp is not None:
                    found.append(f"manager:{manager.name}:email")
                if manager.phone:
                    found.append(f"manager:{manager.name}:phone")
                if manager.webhook_url:
                    found.append(f"manager:{manager.name}:webhook")
        return found

    def channel(self, row: dict[str, Any]) -> Channel | None:
        """The channel a target names in the configuration now (None: gone)."""
        target = str(row["target"])
        if target.startswith("channel:"):
            department = self.settings.departments.by_name().get(row["department"])
            index = int(target.partition(":")[2])
            if department is None or index >= len(department.notify):
                return None
            return department.notify[index]
        name, _, kind = target.removeprefix("manager:").rpartition(":")
        manager = next((m for m in self.settings.alerts.managers if m.name == name), None)
        if manager is None:
            return None
        if kind == "email" and manager.email:
            return EmailChannel(type="email", to=[manager.email])
        if kind == "phone" and manager.phone:
            return SmsChannel(type="sms", to=manager.phone)
        if kind == "webhook" and manager.webhook_url:
            key = manager.webhook_key()
            return WebhookChannel(
                type="webhook", url=manager.webhook_url, format="json", secret=key
            )
        return None

    # --- delivery ----------------------------------------------------------------------

    async def deliver(self, row: dict[str, Any]) -> Delivery:
        outcome = await (self.crm.attempt(row) if is_crm(row) else self._attempt(row))
        now = self.clock()
        if isinstance(outcome, str):
            await self.store.notification_dropped(row["id"], outcome, now)
            log.warning("notification %d (%s) dropped: %s", row["id"], row["target"], outcome)
            return Delivery(False, outcome)
        result = outcome
        if result.ok:
            await self.store.notification_done(row["id"], now)
            self.counters.inc("staff_sent")
            log.info(
                "notification %d (%s, case %s, %s) sent to %s",
                row["id"],
                row["kind"],
                row["case_id"],
                row["department"],
                row["target"],
            )
            return result
        attempts = int(row["attempts"]) + 1
        first = retry_seconds(row, self.settings)
        wait = backoff(attempts, result.retry, timedelta(seconds=first) if first else FIRST_RETRY)
        next_at: datetime | None = now + wait
        if next_at is not None and next_at - parse_ts(row["created_at"]) > GIVE_UP:
            next_at = None
        await self.store.notification_failed(row["id"], result.reason, next_at, now)
        self.counters.inc("staff_failures" if next_at else "staff_given_up")
        log.warning(
            "notification %d (%s, %s) to %s failed (try %d), %s: %s",
            row["id"],
            row["kind"],
            row["department"],
            row["target"],
            attempts,
            f"next try at {next_at.isoformat(timespec='seconds')}" if next_at else "given up",
            result.reason,
        )
        return result

    async def _attempt(self, row: dict[str, Any]) -> Delivery | str:
        """One try at a staff channel; a string when there is nothing to try any more."""
        channel = self.channel(row)
        if channel is None:
            return f"channel {row['target']} is no longer configured"
        content = await self.content(row)
        if content is None:
            return "nothing left to tell"
        return await self._send(row, channel, content)

    async def _send(self, row: dict[str, Any], channel: Channel, content: Content) -> Delivery:
        if isinstance(channel, EmailChannel):
            smtp = self.settings.smtp
            if smtp is None:
                return Delivery(False, "no smtp: section to send e-mail through", retry=False)
            return await send_mail(smtp, message(smtp, channel.to, content.subject, content.text()))
        if isinstance(channel, WebhookChannel):
            notice = Notice(
                kind=content.kind,
                title=content.subject,
                lines=content.lines,
                facts=content.facts,
                link=content.link,
                data=content.data,
            )
            return await post(channel, notice)
        await self.store.queue_staff_text(
            row["id"],
            channel.to,
            row["department"],
            self._language(row["department"]),
            content.sms(),
            self.clock(),
            STAFF_TEXT_MAX_AGE,
        )
        self.wake_dispatcher()
        return Delivery(True)

    # --- what it says ------------------------------------------------------------------

    def _language(self, department: str) -> str:
        return self.settings.departments.language_of(department)

    def _label(self, department: str) -> str:
        config = self.settings.departments.by_name().get(department)
        return (config.label if config else None) or department

    def desk_link(self, case_id: int | None) -> str | None:
        desk = self.settings.desk
        if desk.listen is None:
            return None
        host = desk.host
        if host in ("0.0.0.0", "::", ""):
            host = socket.getfqdn()
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if desk.tls_cert_file else "http"
        page = f"cases/{case_id}" if case_id else ""
        return f"{scheme}://{host}:{desk.port}/desk/{page}"

    async def content(self, row: dict[str, Any]) -> Content | None:
        kind, department = str(row["kind"]), str(row["department"])
        lang, label = self._language(department), self._label(department)
        tz = self.settings.site.tz
        if kind == "morning_list":
            return await self._morning_list(department, lang, label)
        case = await self.store.case(int(row["case_id"])) if row["case_id"] else None
        data: dict[str, Any] = {"department": department, "site": self.settings.site.name}
        lines: list[str] = []
        facts: list[tuple[str, str]] = []
        if kind == "reply":
            reply = await self.store.reply_of(int(row["reply_id"])) if row["reply_id"] else None
            if reply is None:
                return None
            number, raw = reply["from_e164"], ""
            lines.append(w.word("said", lang, body=reply["body"]))
            data["reply"] = reply["body"]
            if case is None:
                lines.append(w.word("no_case", lang))
        elif case is None:
            return None
        else:
            number, raw = case["caller_e164"], case["caller_raw"]
        name = None
        if case is not None:
            miss = await self.store.last_miss_of(int(case["id"]))
            name = miss["name"]
            if kind != "reply":
                what = w.outcome_words(miss["outcome"], lang)
                lines.insert(0, w.word("what", lang, what=what))
                data["outcome"] = miss["outcome"]
            if kind == "escalated":
                lines.insert(0, w.word("late", lang, at=w.local_time(case["sla_due_at"], tz)))
            facts.append((w.word("case", lang), str(case["id"])))
            lines.append(w.word("calls", lang, n=case["calls"]))
            if case["sla_due_at"] and kind == "opened":
                lines.append(w.word("due", lang, at=w.local_time(case["sla_due_at"], tz)))
            data["case_id"] = case["id"]
        caller = w.who(number, raw, name, lang)
        facts.insert(0, (w.word("number", lang), caller))
        data["caller"] = number
        data["caller_name"] = name
        return Content(
            kind=kind,
            subject=w.word(kind, lang, dept=label, who=caller),
            lines=lines,
            facts=facts,
            link=self.desk_link(case["id"] if case else None),
            data=data,
        )

    async def _morning_list(self, department: str, lang: str, label: str) -> Content | None:
        cases = await self.store.open_cases_for_list(department)
        if not cases:
            return None
        tz, now = self.settings.site.tz, self.clock()
        late = [c for c in cases if c["sla_due_at"] and parse_ts(c["sla_due_at"]) <= now]
        lines = [
            w.word("oldest", lang, at=w.local_time(cases[0]["opened_at"], tz)),
            w.word("past_sla", lang, n=len(late)),
        ]
        for case in (late or cases)[:10]:
            shown = w.who(case["caller_e164"], case["caller_raw"], case["name"], lang)
            lines.append(f"- {shown}, {w.local_time(case['opened_at'], tz)}")
        return Content(
            kind="morning_list",
            subject=w.word("morning_list", lang, dept=label, n=len(cases)),
            lines=lines,
            link=self.desk_link(None),
            data={
                "department": department,
                "site": self.settings.site.name,
                "open": len(cases),
                "past_sla": len(late),
                "oldest_opened_at": cases[0]["opened_at"],
                "case_ids": [c["id"] for c in cases],
            },
        )

    # --- the morning list --------------------------------------------------------------

    async def morning_list_once(self) -> int:
        """From `alerts.digest_at` (site time), once a local day per department with
        channels: the list of its open cases asked for. Returns how many now."""
        local = self.clock().astimezone(self.settings.site.tz)
        if local.time() < time.fromisoformat(self.settings.alerts.digest_at):
            return 0
        queued = 0
        for name, department in self.settings.departments.by_name().items():
            if not department.notify:
                continue
            key = f"case_list:{local.date()}:{name}"
            if await self.store.queue_morning_list(name, key, self.clock()):
                queued += 1
        return queued
