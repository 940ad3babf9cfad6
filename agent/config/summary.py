"""What `check-config` prints for a valid configuration: sources, senders, departments
and, for every template, its encoding and SMS segment count (warned above a limit)."""

from __future__ import annotations

from agent.config.settings import Settings
from agent.config.texts import template_text
from agent.plural import counted
from drivers.base import capability
from drivers.senders import SENDERS


def text_cost(text: str) -> tuple[str, int]:
    """(encoding, segments) as the SMS senders' codec sends it."""
    cost = capability(SENDERS, "cost")
    assert cost is not None, "the gsm driver provides the text cost"
    encoding, segments = cost(text)
    return str(encoding), int(segments)


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
    from agent.config.texts import render

    text = template_text(settings, department, template, language)
    if not text:
        return []
    from datetime import datetime

    now = datetime.now(settings.site.tz)
    rendered = render(settings, department, template, language, now, now)
    encoding, segments = text_cost(rendered)
    limit = settings.sms.segment_warning
    warn = f"  WARNING: more than sms.segment_warning ({limit})" if segments > limit else ""
    parts = counted(segments, "segment", "segments")
    return [
        f"template {department}.{template}.{language}: {encoding}, {parts}, "
        f"{len(rendered)} characters{warn}"
    ]
