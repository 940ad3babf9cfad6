"""One text = its parts: the plan kept across retries and the send of missing parts.

A `Plan` is built once per message (same text, same number): its PDUs share one
concatenation reference, and each part remembers the TP-MR the modem returned, so a
retry resends only the parts that did not go out, with the same reference and total.
Once a part has left, a `RetryLater` carries the plan as a resume token
(`gsm1:<reference>:<TP-MR or - per part>`), which the outbox keeps: after a restart
the plan is rebuilt from it and still only the missing parts go. Every modem answer
is mapped to `Sent | RetryLater | Rejected` through `codes`.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, field

from agent.model import OutgoingText, Rejected, RetryLater, SendResult, Sent
from drivers.senders.gsm import codes
from drivers.senders.gsm.at import AtChannel, AtTimeout, PortLost, Response
from drivers.senders.gsm.config import GsmConfig
from drivers.senders.gsm.pdu import SubmitOptions, SubmitPdu, encode_submit, relative_validity

log = logging.getLogger(__name__)
_MR = re.compile(r"^\s*(\d+)")
RESUME_PREFIX = "gsm1:"
ALREADY = -1  # a part the SMSC reported as a duplicate: gone, reference unknown


@dataclass(slots=True)
class Plan:
    to: str
    body: str
    pdus: list[SubmitPdu]
    concat_reference: int = 0
    references: list[int | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.references = [None] * len(self.pdus)

    @property
    def any_sent(self) -> bool:
        return any(r is not None for r in self.references)

    def resume_token(self) -> str | None:
        """What the outbox keeps when some parts left (None when none did)."""
        if not self.any_sent:
            return None
        parts = ",".join("-" if r is None else str(r) for r in self.references)
        return f"{RESUME_PREFIX}{self.concat_reference}:{parts}"

    def restore(self, token: str) -> bool:
        """Take the sent parts from a token of this same text; False if it does not fit."""
        if not token.startswith(RESUME_PREFIX):
            return False
        ref, _, parts = token.removeprefix(RESUME_PREFIX).partition(":")
        values = parts.split(",")
        if not ref.isdigit() or int(ref) != self.concat_reference:
            return False
        if len(values) != len(self.pdus) or not all(_part_value(v) for v in values):
            return False
        self.references = [None if v == "-" else int(v) for v in values]
        return True

    def provider_id(self) -> str:
        return "gsm:" + ",".join("dup" if r == ALREADY else str(r) for r in self.references)


@dataclass(frozen=True, slots=True)
class Outcome:
    result: SendResult
    reinit: bool = False  # ask the supervisor to ESC, probe and re-initialise
    device_fault: str | None = None  # stop sending on this modem, alert


class Plans:
    """Plans by message id, bounded (oldest dropped), with the per-modem reference."""

    def __init__(self, config: GsmConfig, first_reference: int, keep: int = 500) -> None:
        self._config = config
        self._plans: OrderedDict[int, Plan] = OrderedDict()
        self._reference = first_reference & 0xFF
        self._keep = keep
        validity = config.validity_minutes
        self._options = SubmitOptions(
            smsc=config.smsc,
            status_report=config.status_reports,
            validity=relative_validity(validity) if validity else None,
        )

    def plan_for(self, text: OutgoingText) -> Plan:
        """The existing plan of this message if its number and text are unchanged, or
        the one its resume token describes (after a restart). Raises ValueError for
        an invalid number."""
        plan = self._plans.get(text.message_id)
        if plan is not None and plan.to == text.to_e164 and plan.body == text.body:
            return plan
        reference = _token_reference(text.resume)
        if reference is None:
            reference = self._reference
        pdus = encode_submit(text.to_e164, text.body, reference, self._options)
        plan = Plan(text.to_e164, text.body, pdus, reference)
        if text.resume and plan.restore(text.resume):
            log.info("gsm: message_id=%d resumes after %d part(s) already sent",
                     text.message_id, sum(r is not None for r in plan.references))  # fmt: skip
        elif len(pdus) > 1:
            self._reference = (self._reference + 1) & 0xFF
        self._plans[text.message_id] = plan
        while len(self._plans) > self._keep:
            self._plans.popitem(last=False)
        return plan

    def done(self, message_id: int) -> None:
        self._plans.pop(message_id, None)


async def send_plan(
    channel: AtChannel, config: GsmConfig, plan: Plan, attempt: int, message_id: int
) -> Outcome:
    """Send every part not yet sent, in order; stop at the first that fails."""
    for index, pdu in enumerate(plan.pdus):
        if plan.references[index] is not None:
            continue
        try:
            answer = await channel.submit(
                pdu.tpdu_length, pdu.hex, config.prompt_timeout_seconds,
                config.submit_timeout_seconds,
            )  # fmt: skip
        except AtTimeout as err:
            return _timed_out(err, plan, index, message_id)
        except PortLost as err:
            why = f"modem port lost while sending part {index + 1}: {err}"
            retry = RetryLater(config.reopen_min_seconds, why, resume=plan.resume_token())
            return Outcome(retry, True)
        if answer.ok:
            plan.references[index] = _reference(answer)
            continue
        refused = _refused(answer, plan, index, (attempt, message_id), config)
        if refused is not None:
            return refused
    return Outcome(Sent(plan.provider_id()))


def _token_reference(token: str | None) -> int | None:
    if not token or not token.startswith(RESUME_PREFIX):
        return None
    ref = token.removeprefix(RESUME_PREFIX).partition(":")[0]
    return int(ref) & 0xFF if ref.isdigit() else None


def _part_value(value: str) -> bool:
    return value == "-" or value.isdigit() or (value.startswith("-") and value[1:].isdigit())


def _reference(answer: Response) -> int:
    value = answer.value("+CMGS:") or ""
    match = _MR.match(value)
    return int(match.group(1)) if match else 0


def _timed_out(err: AtTimeout, plan: Plan, index: int, message_id: int) -> Outcome:
    part = f"part {index + 1}/{len(plan.pdus)}"
    if err.phase == "submit":
        log.warning("gsm: no answer after Ctrl-Z for message_id=%d %s: outcome unknown",
                    message_id, part)  # fmt: skip
        why = f"no answer from the modem after the PDU of {part}: it may have been sent"
        # the part in doubt is None in the token: a retry a technician asks for resends it
        return Outcome(
            RetryLater(60.0, why, ambiguous=True, resume=plan.resume_token()), reinit=True
        )
    why = f"modem did not answer AT+CMGS for {part} ({err.phase})"
    return Outcome(RetryLater(10.0, why, resume=plan.resume_token()), reinit=True)


def _refused(
    answer: Response, plan: Plan, index: int, text: tuple[int, int], config: GsmConfig
) -> Outcome | None:
    """The outcome of a refused part; None when the SMSC already had it (go on)."""
    attempt, message_id = text
    final = answer.final
    kind: codes.Kind = "CMS" if final.kind == "CMS" else "CME" if final.kind == "CME" else "ERROR"
    verdict = codes.classify(kind, final.code, attempt)
    part = f"part {index + 1}/{len(plan.pdus)}"
    log.warning("gsm: message_id=%d %s refused: %s -> %s",
                message_id, part, verdict.reason, verdict.action)  # fmt: skip
    if final.code in (*range(128, 160), 176, 304):
        log.warning("gsm: refused PDU header %s (full PDU at debug)", plan.pdus[index].hex[:30])
        log.debug("gsm: refused PDU %s", plan.pdus[index].hex)
    reason = f"{part}: {verdict.reason}"
    if verdict.action == "already_sent":
        plan.references[index] = ALREADY
        return None
    if verdict.action == "reject":
        return Outcome(Rejected(reason), verdict.reinit)
    if verdict.action == "device":
        after = config.device_fault_retry_seconds
        retry = RetryLater(after, reason, resume=plan.resume_token())
        return Outcome(retry, True, verdict.reason)
    resume = plan.resume_token()
    return Outcome(RetryLater(verdict.retry_after, reason, resume=resume), verdict.reinit)
