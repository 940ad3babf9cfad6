"""The `log` sender (dry run)."""

from __future__ import annotations

import pytest

from agent.model import OutgoingText, RetryLater, Sent
from drivers.base import SenderContext, SiteContext
from drivers.senders.log import LogSender
from drivers.senders.log_config import LogConfig


async def test_prints_the_text_and_answers_sent(
    site: SiteContext, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each send prints the destination and body and answers Sent with a stable id."""
    async with LogSender(LogConfig(name="dry"), SenderContext(site)) as sender:
        result = await sender.send(OutgoingText(7, "+15145550111", "Bonjour", attempt=2))
    assert result == Sent("log-7-2")
    assert "text to +15145550111: Bonjour" in capsys.readouterr().out


async def test_fail_every_drill(site: SiteContext) -> None:
    """fail_every=2 makes every second send a RetryLater, counted in health."""
    sender = LogSender(LogConfig(name="dry", print=False, fail_every=2), SenderContext(site))
    results = [await sender.send(OutgoingText(i, "+15145550111", "x")) for i in range(4)]
    assert [type(r) for r in results] == [Sent, RetryLater, Sent, RetryLater]
    assert sender.health().counters == {"sent": 2, "drill_retry": 2}
