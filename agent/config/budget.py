"""Templates against the senders' limits: a text a modem refuses (more segments than
its `max_parts`) is a configuration error naming the template and the sender, not a
failure of every such text at run time."""

from __future__ import annotations

from datetime import datetime, timedelta

from agent.config.settings import LOAD_CHECKS, Settings
from agent.config.texts import render, template_text
from drivers.base import capability
from drivers.senders import SENDERS

LinePath = tuple[str | int, ...]


def _worst_segments(settings: Settings, department: str, template: str, language: str) -> int:
    """The most segments the template costs over the openings a week can give."""
    cost = capability(SENDERS, "cost")
    assert cost is not None, "the gsm driver provides the text cost"
    now = datetime.now(settings.site.tz).replace(hour=12, minute=0, second=0, microsecond=0)
    worst = 0
    for offset in range(8):
        opens = (now + timedelta(days=offset)).replace(hour=10, minute=30)
        rendered = render(settings, department, template, language, opens, now)
        worst = max(worst, int(cost(rendered)[1]))
    return worst


def over_budget(settings: Settings) -> list[tuple[LinePath, str]]:
    """(key path, problem) for each template costing more than a sender's max_parts."""
    limits = [
        (index, sender.name, parts)
        for index, sender in enumerate(settings.sms.senders)
        if isinstance(parts := getattr(sender, "max_parts", None), int)
    ]
    if not limits:
        return []
    found: list[tuple[LinePath, str]] = []
    for department in settings.departments.by_name():
        for template in ("open", "after_hours"):
            seen: set[str] = set()
            for language in ("fr", "en"):
                text = template_text(settings, department, template, language)
                if not text or text in seen:  # a missing language falls back to the other
                    continue
                seen.add(text)
                segments = _worst_segments(settings, department, template, language)
                for index, name, parts in limits:
                    if segments > parts:
                        found.append(
                            (
                                ("departments", department, "templates", template, language),
                                f"costs up to {segments} SMS segments but sender {name!r} sends "
                                f"at most {parts} (expected a shorter text, or a higher "
                                f"sms.senders.{index}.max_parts)",
                            )
                        )
    return found


LOAD_CHECKS.append(over_budget)
