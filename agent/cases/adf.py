"""A missed call's case as an ADF 1.0 (Auto-lead Data Format) XML lead. Pure.

The document, in the order the ADF 1.0 DTD requires:

    <?xml version="1.0" encoding="UTF-8"?>
    <?adf version="1.0"?>
    <adf><prospect status="new">
      <id sequence="1" source="ringback:<site>">case id</id>
      <requestdate>first miss, ISO 8601 with the site's offset</requestdate>
      <vehicle><year/><make/><model/><comments>not known</comments></vehicle>
      <customer><contact primarycontact="1"><name part="full">caller-ID name</name>
        <phone type="voice" preferredcontact="1">+1...</phone></contact>
        <comments>the outcome in words, the department, the calls</comments></customer>
      <vendor><vendorname>dealership</vendorname><contact>...</contact></vendor>
      <provider><name part="full">ringback</name><service>...</service></provider>
    </prospect></adf>

A missed call does not know the vehicle: the DTD still requires one `vehicle` with
`year`, `make` and `model`, so they are empty (nothing is guessed) and the vehicle's
`interest` and `status` are left out (their defaults apply). The caller-ID name is
the contact's name when the PBX gave one, else the name is empty. Every text is
escaped by the serializer (`&`, `<`, `>`, quotes in attributes), stripped of the
characters XML 1.0 cannot carry (control characters from a caller-ID name) and kept
on one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<?adf version="1.0"?>\n'
PROVIDER = "ringback"
SERVICE = "missed-call recovery"
# Characters XML 1.0 does not allow in a document, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Lead:
    """What a lead says about one case."""

    case_id: int
    site: str
    requested_at: datetime  # aware, in the site's time zone
    caller_e164: str
    caller_name: str | None
    vendor_name: str
    vendor_phone: str | None  # the dealership's: `site.callback_number`
    vendor_email: str | None  # when it has no phone: the address leads come from
    comments: str


def clean(text: str | None) -> str:
    """One line of text XML 1.0 can carry: the forbidden characters dropped, every run
    of white space (line breaks included, which XML would not keep as written) one
    space."""
    return " ".join(_NOT_XML.sub("", text or "").split())


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    import xml.etree.ElementTree as ET

    child = ET.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = clean(text)
    return child


def document(lead: Lead) -> str:
    """The lead as an ADF 1.0 document (text, to be encoded as UTF-8)."""
    import xml.etree.ElementTree as ET  # at the first lead, not at the daemon's start

    adf = ET.Element("adf")
    prospect = _add(adf, "prospect", status="new")
    _add(prospect, "id", str(lead.case_id), sequence="1", source=clean(f"{PROVIDER}:{lead.site}"))
    _add(prospect, "requestdate", lead.requested_at.isoformat(timespec="seconds"))
    vehicle = _add(prospect, "vehicle")
    for tag in ("year", "make", "model"):
        _add(vehicle, tag, "")
    _add(vehicle, "comments", "vehicle not known: a missed call")
    customer = _add(prospect, "customer")
    contact = _add(customer, "contact", primarycontact="1")
    _add(contact, "name", lead.caller_name or "", part="full")
    _add(contact, "phone", lead.caller_e164, type="voice", preferredcontact="1")
    _add(customer, "comments", lead.comments)
    vendor = _add(prospect, "vendor")
    _add(vendor, "vendorname", lead.vendor_name)
    dealer = _add(vendor, "contact")
    _add(dealer, "name", lead.vendor_name, part="full", type="business")
    if lead.vendor_phone:
        _add(dealer, "phone", lead.vendor_phone, type="voice")
    else:
        _add(dealer, "email", lead.vendor_email or "")
    provider = _add(prospect, "provider")
    _add(provider, "name", PROVIDER, part="full", type="business")
    _add(provider, "service", SERVICE)
    ET.indent(adf, space=" ")  # one element a line: short lines travel as plain text
    return HEADER + ET.tostring(adf, encoding="unicode") + "\n"
