"""`ringback send-test`: one test text through the chain (or one named sender), told
in words a technician can act on."""

from __future__ import annotations

import time

from agent.model import OutgoingText, Rejected, SendResult, Sent
from agent.numbers import normalize
from agent.send.chain import ChainResult, SenderChain

EXIT_SENT = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# Far from the outbox's ids (SQLite rowids start at 1), different on every run.
_TEST_ID_BASE = 9_000_000_000


def _describe(name: str, result: SendResult) -> str:
    if isinstance(result, Sent):
        return f"{name}: sent (provider id {result.provider_id})"
    if isinstance(result, Rejected):
        extra = "; the number opted out" if result.opt_out else ""
        return f"{name}: rejected: {result.reason}{extra}"
    left = " (it may have been sent: check the phone before retrying)" if result.ambiguous else ""
    return f"{name}: not sent, retry in {result.after:.0f} s: {result.reason}{left}"


def report(outcome: ChainResult, to_e164: str) -> tuple[int, str]:
    """Exit code and text for a chain outcome."""
    lines = [f"test text to {to_e164}:"]
    lines += [f"  tried {_describe(name, result)}" for name, result in outcome.tried]
    final = outcome.result
    if isinstance(final, Sent):
        lines.append(f"OK: sent by {outcome.sender}")
        return EXIT_SENT, "\n".join(lines)
    if not outcome.tried:
        lines.append(f"  {_describe('chain', final)}")
    verdict = "REJECTED" if isinstance(final, Rejected) else "NOT SENT"
    lines.append(f"{verdict}: no sender delivered the test text")
    return EXIT_FAILED, "\n".join(lines)


async def send_test(
    chain: SenderChain, to_e164: str, only: str | None, body: str
) -> tuple[int, str]:
    """Send one test text; return (exit code, human text). 0 sent, 1 not sent, 2 usage
    (unknown sender name, empty body)."""
    if only is not None and only not in chain.names:
        known = ", ".join(chain.names) or "none"
        return EXIT_USAGE, f"no sender named {only!r} (configured: {known})"
    # phonenumbers, not a pattern: `+19995550100` has the shape and no such area code
    if normalize(to_e164, "ZZ")[0] != to_e164:
        return EXIT_USAGE, f"{to_e164!r} is not a valid E.164 number (like +15145550100)"
    if not body.strip():
        return EXIT_USAGE, "the test text is empty"
    text = OutgoingText(_TEST_ID_BASE + int(time.time()), to_e164, body, attempt=1)
    return report(await chain.send(text, only=only), to_e164)
