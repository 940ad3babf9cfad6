"""What `check-config` prints for a valid configuration: sources, senders, departments
and, for every template, its encoding and SMS segment count (warned above a limit)."""

from __future__ import annotations

from agent.config import Settings
from agent.texts import template_text


def text_cost(text: str) -> tuple[str, int]:
    """(encoding, segments) as the GSM codec would send it."""
    try:
        from drivers.senders.gsm.pdu import text_cost as gsm_cost
    except ImportError:  # the modem driver is optional at this level
        return _fallback_cost(text)
    encoding, segments = gsm_cost(text)
    return encoding, segments


_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = set("^{}\\[~]|€\f")


def _fallback_cost(text: str) -> tuple[str, int]:
    if all(c in _GSM7 or c in _GSM7_EXT for c in text):
        septets = sum(2 if c in _GSM7_EXT else 1 for c in text)
        return "gsm7", 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return "ucs2", 1 if units <= 70 else -(-units // 67)


def summary(settings: Settings) -> list[str]:
    lines = [f"site: {settings.site.name} ({settings.site.timezone}, {settings.site.country})"]
    lines += [f"pbx: {s.name} ({s.type})" for s in settings.pbx]
    lines += [f"sender {i + 1}: {s.name} ({s.type})" for i, s in enumerate(settings.sms.senders)]
    for name in settings.departments.by_name():
        for template in ("open", "after_hours"):
            for language in ("fr", "en"):
                lines.extend(_template_line(settings, name, template, language))
    return lines


def _template_line(settings: Settings, department: str, template: str, language: str) -> list[str]:
    from agent.texts import render

    text = template_text(settings, department, template, language)
    if not text:
        return []
    from datetime import datetime

    now = datetime.now(settings.site.tz)
    rendered = render(settings, department, template, language, now, now)
    encoding, segments = text_cost(rendered)
    limit = settings.sms.segment_warning
    warn = f"  WARNING: more than {limit} segments" if segments > limit else ""
    return [
        f"template {department}.{template}.{language}: {encoding}, {segments} segment(s), "
        f"{len(rendered)} characters{warn}"
    ]
