"""The hand-off of a department's cases to the dealership's CRM
(`departments.<name>.crm`, see `agent.config.crm`), delivered by the staff notifier
from the same store rows and with the same retries as the staff's notifications.

A case's change writes a `case_notifications` row (`agent.store.cases`: opened,
reply, reached, closed); `targets()` adds, for a department with a CRM, `crm:adf`
for a new case (an ADF 1.0 lead e-mailed to `adf_email`, `agent.cases.adf`) and
`crm:webhook` for each of the four events (ringback's signed JSON through
`agent.send.hooks`, `kind` `case.opened`, `case.replied`, `case.reached`,
`case.closed`). `attempt()` makes one try and returns its `Delivery`, or a string
when there is nothing to hand off (the CRM left the configuration, the case is gone,
a withheld caller leaves no one for a lead to contact): the row is then dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from agent.cases import adf
from agent.cases import staff_words as w
from agent.config.crm import CrmConfig
from agent.config.settings import Settings
from agent.config.staff import WebhookChannel
from agent.numbers import normalize
from agent.send.hooks import Notice, post
from agent.send.mail import Delivery, message, send_mail
from agent.store import Store, parse_ts

EVENTS = {
    "opened": "case.opened",
    "reply": "case.replied",
    "reached": "case.reached",
    "closed": "case.closed",
}
ADF = "crm:adf"
WEBHOOK = "crm:webhook"

_COMMENTS = {
    "fr": "Appel manqué au {dept} le {at} : {what}. Appels manqués : {n}. Dossier {case}.",
    "en": "Missed call to {dept} on {at}: {what}. Missed calls: {n}. Case {case}.",
}


def is_crm(row: dict[str, Any]) -> bool:
    return str(row.get("target") or "").startswith("crm:")


def crm_targets(row: dict[str, Any], settings: Settings) -> list[str]:
    """The CRM deliveries a case's notification row fans out into."""
    crm = _crm_of(settings, str(row["department"]))
    kind = str(row["kind"])
    if crm is None or row["case_id"] is None or kind not in EVENTS:
        return []
    found = []
    if kind == "opened" and crm.adf_email and settings.smtp is not None:
        found.append(ADF)
    if crm.webhook is not None:
        found.append(WEBHOOK)
    return found


def _crm_of(settings: Settings, department: str) -> CrmConfig | None:
    config = settings.departments.by_name().get(department)
    return config.crm if config else None


def retry_seconds(row: dict[str, Any], settings: Settings) -> float | None:
    """The first wait after a failed hand-off of this row (None: not a CRM row)."""
    crm = _crm_of(settings, str(row["department"]))
    return crm.retry_seconds if crm is not None and is_crm(row) else None


class CrmHandoff:
    def __init__(self, settings: Settings, store: Store, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    async def attempt(self, row: dict[str, Any]) -> Delivery | str:
        crm = _crm_of(self.settings, str(row["department"]))
        target = str(row["target"])
        case = await self.store.case(int(row["case_id"])) if row["case_id"] else None
        if case is None:
            return "nothing left to tell"
        if target == ADF and crm is not None and crm.adf_email and self.settings.smtp:
            if not case["caller_e164"]:
                return "a withheld caller: no lead (nobody to contact)"
            smtp = self.settings.smtp
            lead = await self.lead(case, crm)
            subject = f"{lead.vendor_name}: {w.readable(lead.caller_e164)}"
            body = adf.document(lead)
            return await send_mail(smtp, message(smtp, [crm.adf_email], subject, body))
        if target == WEBHOOK and crm is not None and crm.webhook is not None:
            channel = WebhookChannel(
                type="webhook",
                url=crm.webhook.url,
                format="json",
                secret=crm.webhook.signing_key(),
            )
            return await post(channel, await self.event(row, case))
        return f"channel {target} is no longer configured"

    async def lead(self, case: dict[str, Any], crm: CrmConfig) -> adf.Lead:
        department = str(case["department"])
        language = self.settings.departments.language_of(department)
        site, tz = self.settings.site, self.settings.site.tz
        miss = await self.store.last_miss_of(int(case["id"]))
        comments = _COMMENTS["fr" if language == "fr" else "en"].format(
            dept=self._label(department),
            at=w.local_time(case["opened_at"], tz),
            what=w.outcome_words(miss["outcome"], language),
            n=case["calls"],
            case=case["id"],
        )
        vendor_phone = (
            normalize(site.callback_number, site.country)[0] if site.callback_number else None
        )
        smtp = self.settings.smtp
        return adf.Lead(
            case_id=int(case["id"]),
            site=site.name,
            requested_at=parse_ts(str(case["opened_at"])).astimezone(tz),
            caller_e164=str(case["caller_e164"] or case["caller_raw"]),
            caller_name=miss["name"],
            vendor_name=crm.vendor_name or site.name,
            vendor_phone=vendor_phone,
            vendor_email=smtp.from_address if smtp else None,
            comments=comments,
        )

    async def event(self, row: dict[str, Any], case: dict[str, Any]) -> Notice:
        kind = str(row["kind"])
        department = str(case["department"])
        language = self.settings.departments.language_of(department)
        miss = await self.store.last_miss_of(int(case["id"]))
        caller = str(case["caller_e164"] or case["caller_raw"] or "")
        data: dict[str, Any] = {
            "event": EVENTS[kind],
            "at": _utc(row["created_at"]),
            "site": self.settings.site.name,
            "case_id": case["id"],
            "department": department,
            "department_label": self._label(department),
            "caller": caller or None,
            "caller_name": miss["name"],
            "outcome": miss["outcome"],
            "outcome_words": w.outcome_words(miss["outcome"], language),
            "calls": case["calls"],
            "state": case["state"],
            "resolution": case["resolution"],
            "opened_at": _utc(case["opened_at"]),
            "reached_at": _utc(case["reached_at"]),
            "reached_by": case["reached_by"],
            "closed_at": _utc(case["closed_at"]),
            "closed_by": case["closed_by"],
        }
        if kind == "reply" and row["reply_id"]:
            reply = await self.store.reply_of(int(row["reply_id"]))
            data["reply"] = reply["body"] if reply else None
        title = f"{EVENTS[kind]} {case['id']} ({self._label(department)})"
        return Notice(kind=EVENTS[kind], title=title, data=data)

    def _label(self, department: str) -> str:
        config = self.settings.departments.by_name().get(department)
        return (config.label if config else None) or department


def _utc(stamp: object) -> str | None:
    if not isinstance(stamp, str):
        return None
    return parse_ts(stamp).isoformat(timespec="seconds").replace("+00:00", "Z")
