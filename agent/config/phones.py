"""Phone numbers in the configuration, checked by phonenumbers as callers' numbers are.

The callback number and the blocklist must be valid numbers; a DID must be a possible
one (its length right for the region: PBXs and demos use fictional 555 numbers that
phonenumbers does not call valid). All are read in the site's region
(`site.country`): `load_text` sets it for the time of one validation, so a local
number such as `514-555-0100` is read as Canadian on a Canadian site.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import phonenumbers

from agent.numbers import normalize

_REGION: ContextVar[str] = ContextVar("ringback_site_region", default="CA")

# What people write around digits: +1 (514) 555-0100, 514.555.0100, 514 555 0100.
_PUNCTUATION = re.compile(r"^\+?[\d\s().\-/]+$")


@contextmanager
def site_region(country: object) -> Iterator[None]:
    """Read configured numbers in this region while the block runs."""
    text = str(country or "CA").upper()
    token = _REGION.set(text if len(text) == 2 and text.isalpha() else "CA")
    try:
        yield
    finally:
        _REGION.reset(token)


def phone_number(value: str) -> str:
    """A valid phone number of the site's region (or any, in E.164), kept as written."""
    region = _REGION.get()
    if not _PUNCTUATION.match(value) or normalize(value, region)[0] is None:
        raise ValueError(
            f"{value!r} is not a valid phone number in {region} "
            "(expected e.g. +15145550123 or 514-555-0123)"
        )
    return value


def optional_phone_number(value: str) -> str:
    """Empty (not given) or a valid phone number."""
    return phone_number(value) if value else value


def did_number(value: str) -> str:
    """A number a caller can dial: the right length for the site's region or E.164."""
    region = _REGION.get()
    try:
        possible = _PUNCTUATION.match(value) is not None and phonenumbers.is_possible_number(
            phonenumbers.parse(value, region)
        )
    except phonenumbers.NumberParseException:
        possible = False
    if not possible:
        raise ValueError(
            f"{value!r} is not a phone number that can be dialled in {region} "
            "(expected the full number, e.g. 514-555-0102)"
        )
    return value
