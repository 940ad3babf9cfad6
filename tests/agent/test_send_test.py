"""`send_test`: one test text through the chain, told in words, with an exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agent.ops.send_test import send_test
from agent.send.chain import SenderChain
from drivers.base import SenderContext, SiteContext
from drivers.senders.log import LogSender
from drivers.senders.log_config import LogConfig
from drivers.senders.twilio import TwilioSender
from tests.drivers.cloud.conftest import TO, twilio_config
from tests.peers.cloud_api import FakeTwilio, Step


def _context(site: SiteContext) -> SenderContext:
    return SenderContext(site)


async def test_sent_through_the_chain(site: SiteContext) -> None:
    """Pins exit 0 and the text naming the sender and the provider id."""
    async with (
        FakeTwilio() as twilio,
        TwilioSender(twilio_config(twilio.url), SenderContext(site)) as tw,
    ):
        code, text = await send_test(SenderChain([tw]), TO, None, "test")
    assert code == 0
    assert f"twilio: sent (provider id {twilio.created[0]['sid']})" in text
    assert text.endswith("OK: sent by twilio")


async def test_failover_and_rejection_are_told(site: SiteContext) -> None:
    """Pins exit 1 with each tried sender's reason; the opt-out is spelled out."""
    async with (
        FakeTwilio() as twilio,
        TwilioSender(twilio_config(twilio.url), SenderContext(site)) as tw,
    ):
        twilio.script(Step.error(400, 21610))
        code, text = await send_test(SenderChain([tw]), TO, "twilio", "test")
    assert code == 1
    assert "twilio: rejected: twilio 21610: recipient replied STOP; the number opted out" in text
    assert text.endswith("REJECTED: no sender delivered the test text")


async def test_usage_errors(site: SiteContext) -> None:
    """Pins exit 2 for an unknown sender name, a number that is not E.164, an empty body."""
    chain = SenderChain([LogSender(LogConfig(name="log", print=False), SenderContext(site))])
    assert (await send_test(chain, TO, "gsm", "x")) == (
        2,
        "no sender named 'gsm' (configured: log)",
    )
    assert (await send_test(chain, "5145550199", None, "x"))[0] == 2
    # E.164 in shape but no such number (area code 999): phonenumbers, not a regex
    assert (await send_test(chain, "+19995550100", None, "x"))[0] == 2
    assert (await send_test(chain, TO, None, "  "))[0] == 2
    assert (await send_test(chain, TO, "log", "x"))[0] == 0


def test_cli_sends_through_the_configured_chain(tmp_path: Path) -> None:
    """`ringback send-test --to N -c FILE` opens the configured senders, sends one text
    to the number in E.164 and exits 0; an unknown `--sender` name exits 2."""
    from tests.e2e.daemon import config_text, free_port

    config = tmp_path / "ringback.yaml"
    pbx = "  - type: replay\n    name: drill\n"
    config.write_text(
        config_text(tmp_path, free_port(), pbx, "    - type: log\n      name: dry-run\n")
    )
    run = [
        sys.executable,
        "-m",
        "agent.cli.parser",
        "send-test",
        "-c",
        str(config),
        "--to",
        "514 555 0199",
    ]
    sent = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert sent.returncode == 0, sent.stderr
    assert "text to +15145550199: Garage Test: ringback test" in sent.stdout
    assert "OK: sent by dry-run" in sent.stdout
    unknown = subprocess.run(
        [*run, "--sender", "modem"], capture_output=True, text=True, timeout=60, check=False
    )
    assert unknown.returncode == 2
    assert "no sender named 'modem'" in unknown.stdout + unknown.stderr
