"""The hand-off to the dealership's CRM, delivered by the notifier on a frozen clock
to a real SMTP server (aiosmtpd: STARTTLS, login) and a local webhook receiver that
checks ringback's signature: a new case as an ADF 1.0 lead valid against the DTD
(names with & < > escaped), each case event as signed JSON, failures retried from
the store with the CRM's own wait and never delivered twice; the configuration
checked with the file and line."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.cases import adf
from agent.cases.notify import Notifier
from agent.config.settings import Settings
from agent.errors import ConfigError
from agent.model import InboundText, Outcome
from agent.store import Store, ts
from tests.agent.conftest import TZ, SettingsFactory, call, local
from tests.cases.adf_dtd import lxml_validate, own_validate, validate
from tests.cases.conftest import SLA, pipeline_at
from tests.cases.test_cases import callback
from tests.cases.test_notify import SECRET, Receiver, body, receiver, smtp, smtp_section
from tests.peers.smtp import SmtpPeer

__all__ = ["receiver", "smtp"]

DTD = Path(__file__).parents[1] / "fixtures" / "adf" / "adf-1.0.dtd"
NUMBER = "+15145550123"
NASTY = 'Jo & "Bob" <script>alert(1)</script>\x07'


def lead(**changes: Any) -> adf.Lead:
    fields: dict[str, Any] = {
        "case_id": 7,
        "site": "Garage <Laval> & Fils",
        "requested_at": datetime(2026, 11, 23, 10, 0, tzinfo=TZ),
        "caller_e164": NUMBER,
        "caller_name": NASTY,
        "vendor_name": "Garage Laval & Fils",
        "vendor_phone": "+15145550100",
        "vendor_email": None,
        "comments": "Missed call to service: <hung up> & gone",
    }
    fields.update(changes)
    return adf.Lead(**fields)


def crm_settings(
    make_settings: SettingsFactory, smtp: SmtpPeer, receiver: Receiver, **crm: Any
) -> Settings:
    section = {
        "adf_email": "leads@crm.garage.example",
        "webhook": {"url": f"{receiver.url}/crm", "secret": SECRET},
        "vendor_name": "Garage Laval Toyota",
        "retry_seconds": 5,
        **crm,
    }
    departments = {**SLA["departments"], "service": {"sla_minutes": 30, "crm": section}}
    return make_settings(departments=departments, smtp=smtp_section(smtp))


def test_the_lead_is_valid_adf_with_every_name_escaped() -> None:
    """Caller-ID names, the site and comments carrying & < > quotes and a control
    character: the document is well-formed, valid against the ADF 1.0 DTD, starts
    with the XML declaration then the ADF processing instruction, and reads back the
    same words (the control character dropped)."""
    for variant in (lead(), lead(caller_name=None, vendor_phone=None, vendor_email="r@g.example")):
        document = adf.document(variant)
        assert validate(document, DTD) == []
        assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<?adf version="1.0"?>')
    root = ET.fromstring(adf.document(lead()).encode())
    assert root.findtext("prospect/customer/contact/name") == NASTY.rstrip("\x07")
    assert root.findtext("prospect/customer/contact/phone") == NUMBER
    assert root.find("prospect/id") is not None
    assert root.find("prospect/id").get("source") == "ringback:Garage <Laval> & Fils"  # type: ignore[union-attr]
    assert root.findtext("prospect/requestdate") == "2026-11-23T10:00:00-05:00"
    assert root.findtext("prospect/customer/comments") == "Missed call to service: <hung up> & gone"
    vehicle = root.find("prospect/vehicle")
    assert vehicle is not None and vehicle.get("interest") is None
    assert [vehicle.findtext(t) for t in ("year", "make", "model")] == ["", "", ""]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(), site=st.text(max_size=40), comments=st.text())
def test_any_caller_id_name_gives_a_valid_lead_that_reads_back(
    name: str, site: str, comments: str
) -> None:
    """Whatever the PBX and the YAML hold (any Unicode, markup, control characters,
    line breaks), the lead stays valid against the DTD and each field reads back as
    one line of the same characters, less those XML 1.0 cannot carry."""
    document = adf.document(lead(caller_name=name, site=site, comments=comments))
    assert own_validate(document, DTD) == []
    root = ET.fromstring(document.encode())
    assert (root.findtext("prospect/customer/contact/name") or "") == adf.clean(name)
    assert (root.findtext("prospect/customer/comments") or "") == adf.clean(comments)
    ident = root.find("prospect/id")
    assert ident is not None and ident.get("source") == adf.clean(f"ringback:{site}")
    if "<" in name and adf.clean(name):
        assert "<" not in document.split("<name", 1)[1].split("</name>", 1)[0].split(">", 1)[1]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (("<model />", ""), "a vehicle without its model"),
        (('status="new"', 'status="hot"'), "a prospect status not in the DTD"),
        (('type="voice" preferredcontact', 'type="mobile" preferredcontact'), "phone type"),
        (("<requestdate>", "<when/><requestdate>"), "an element the DTD does not know"),
    ],
)
def test_the_validator_refuses_what_the_dtd_refuses(change: tuple[str, str], why: str) -> None:
    """The check above can fail: documents the DTD forbids are refused (by our small
    validator, and by libxml2 when lxml is installed)."""
    document = adf.document(lead()).replace(*change, 1)
    assert document != adf.document(lead())
    assert own_validate(document, DTD), why
    by_libxml2 = lxml_validate(document, DTD)
    assert by_libxml2 is None or by_libxml2, why


async def test_a_new_case_reaches_the_crm_as_an_adf_lead_and_a_signed_event(
    make_settings: SettingsFactory, store: Store, smtp: SmtpPeer, receiver: Receiver
) -> None:
    """After the grace delay: one plain-text mail to the CRM's lead address whose
    whole body is an ADF lead valid against the DTD (the caller's number and name,
    the outcome in words, the dealership in the subject), and one signed
    `case.opened` event; the staff channels (none here) and nothing else."""
    settings = crm_settings(make_settings, smtp, receiver)
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00", caller_name="Émile & Fils <Garage>"))
    notifier = Notifier(settings, store, clock)
    clock.advance(91)
    assert await notifier.run_once() == 2
    (mail,) = smtp.messages
    assert smtp.recipients == [["leads@crm.garage.example"]]
    assert mail["Subject"] == "Garage Laval Toyota: +1 514-555-0123"
    assert mail.get_content_type() == "text/plain" and not mail.is_multipart()
    document = body(mail)
    assert validate(document, DTD) == []
    root = ET.fromstring(document.encode())
    assert root.findtext("prospect/customer/contact/name") == "Émile & Fils <Garage>"
    assert root.findtext("prospect/vendor/vendorname") == "Garage Laval Toyota"
    comments = root.findtext("prospect/customer/comments") or ""
    assert "service" in comments and "personne n'a répondu" in comments
    (event,) = receiver.got
    assert event["signed"] and event["kind"] == event["event"] == "case.opened"
    assert (event["case_id"], event["caller"], event["department"]) == (1, NUMBER, "service")
    assert event["caller_name"] == "Émile & Fils <Garage>" and receiver.refused == 0
    assert await notifier.run_once() == 0  # each delivered once


async def test_replied_reached_and_closed_reach_the_crm_webhook_only(
    make_settings: SettingsFactory, store: Store, smtp: SmtpPeer, receiver: Receiver
) -> None:
    """A reply, then an answered call back: `case.replied` (with the text) and
    `case.reached` (with who reached the caller) go to the CRM webhook; no second
    lead; a department's staff channel hears of the reply but not of the proof."""
    settings = crm_settings(make_settings, smtp, receiver)
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    notifier = Notifier(settings, store, clock)
    clock.advance(91)
    await notifier.run_once()
    await pipeline.inbound(InboundText(NUMBER, "Rappelez-moi", local("2026-11-23 10:03"), "d"))
    clock.advance(60)
    await pipeline.accept(callback("2026-11-23 10:05", outcome=Outcome.ANSWERED, talk=60))
    clock.advance(1)
    await notifier.run_once()
    assert [e["event"] for e in receiver.got] == ["case.opened", "case.replied", "case.reached"]
    assert receiver.got[1]["reply"] == "Rappelez-moi"
    assert receiver.got[2]["state"] == "closed" and receiver.got[2]["resolution"] == "reached"
    assert receiver.got[2]["reached_by"] is not None
    assert len(smtp.messages) == 1


async def test_the_crm_down_then_up_is_retried_from_the_store_without_duplicates(
    make_settings: SettingsFactory, store: Store, smtp: SmtpPeer, receiver: Receiver
) -> None:
    """The SMTP server answers 451 and the webhook 503: both stored with their error,
    due again after the CRM's `retry_seconds` (5 s), not before; once both are back,
    each is delivered once, and a further pass sends nothing."""
    settings = crm_settings(make_settings, smtp, receiver)
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    notifier = Notifier(settings, store, clock)
    smtp.answer_data = "451 4.3.0 try later"
    receiver.status = 503
    clock.advance(91)
    assert await notifier.run_once() == 2
    rows = await store.fetchall(
        "SELECT target, state, attempts, last_error, not_before FROM case_notifications "
        "WHERE target LIKE 'crm:%' ORDER BY target"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("crm:adf", "pending", 1),
        ("crm:webhook", "pending", 1),
    ]
    assert "451" in rows[0][3] and "503" in rows[1][3]
    assert rows[0][4] == rows[1][4] == ts(clock() + timedelta(seconds=5))
    clock.advance(4)
    assert await notifier.run_once() == 0
    smtp.answer_data = None
    receiver.status = 200
    clock.advance(1)
    assert await notifier.run_once() == 2
    assert len(smtp.messages) == 1 and len(receiver.got) == 1
    clock.advance(3600)
    assert await notifier.run_once() == 0
    assert len(smtp.messages) == 1 and len(receiver.got) == 1


async def test_a_crm_that_left_the_configuration_drops_its_rows(
    make_settings: SettingsFactory, store: Store, smtp: SmtpPeer, receiver: Receiver
) -> None:
    """A row fanned out to the CRM, then the CRM removed from the YAML: dropped with
    the reason, not retried for a day."""
    settings = crm_settings(make_settings, smtp, receiver)
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    receiver.status = 503
    smtp.answer_data = "451 4.3.0 try later"
    clock.advance(91)
    await Notifier(settings, store, clock).run_once()
    bare = make_settings(**SLA, smtp=smtp_section(smtp))
    clock.advance(3600)
    await Notifier(bare, store, clock).run_once()
    rows = await store.fetchall(
        "SELECT state, last_error FROM case_notifications WHERE target LIKE 'crm:%'"
    )
    assert [r[0] for r in rows] == ["dropped", "dropped"]
    assert all("no longer configured" in r[1] for r in rows)


@pytest.mark.parametrize(
    ("crm", "smtp_too", "expected"),
    [
        ({"adf_email": "leads@crm.example"}, False, "crm.adf_email: an ADF lead by e-mail needs"),
        ({}, True, "expected adf_email and/or webhook"),
        ({"webhook": {"url": "https://crm.example/h"}}, True, "must be signed"),
        ({"adf_email": "not an address"}, True, "is not an e-mail address"),
        ({"webhook": {"url": "ftp://crm.example", "secret": "s"}}, True, "not an http(s) URL"),
    ],
)
def test_the_crm_section_is_checked_with_the_file_and_line(
    make_settings: SettingsFactory, crm: dict[str, Any], smtp_too: bool, expected: str
) -> None:
    sections: dict[str, Any] = {
        "departments": {"service": {"crm": crm}},
    }
    if smtp_too:
        sections["smtp"] = {"host": "mail.example", "from_address": "r@garage.example"}
    with pytest.raises(ConfigError) as refused:
        make_settings(**sections)
    text = "\n".join(refused.value.problems)
    assert expected in text
    assert "ringback.yaml:" in text and "departments.service.crm" in text


async def test_a_withheld_caller_gives_events_but_no_lead(
    make_settings: SettingsFactory, store: Store, smtp: SmtpPeer, receiver: Receiver
) -> None:
    """A lead needs someone to contact: a withheld caller's case sends the signed
    `case.opened` event, and its lead row is dropped with the reason, no mail."""
    settings = crm_settings(make_settings, smtp, receiver)
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00", caller="anonymous"))
    clock.advance(91)
    await Notifier(settings, store, clock).run_once()
    assert smtp.messages == [] and [e["event"] for e in receiver.got] == ["case.opened"]
    assert receiver.got[0]["caller"] == "anonymous"
    (row,) = await store.fetchall(
        "SELECT state, last_error FROM case_notifications WHERE target = 'crm:adf'"
    )
    assert row[0] == "dropped" and "withheld" in row[1]
