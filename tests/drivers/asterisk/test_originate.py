"""Click-to-call through AMI `Originate` against the fake AMI server over TCP: the
action Asterisk gets (the advisor's phone first, then the caller's number as the
dialplan wants it), and Asterisk's refusal handed back in its own words."""

from __future__ import annotations

from drivers.base import CallRefused, Originates, SiteContext
from tests.drivers.asterisk.test_source import running, until
from tests.peers.ami_server import FakeAmiServer


async def test_originate_rings_the_extension_then_dials_the_caller(site: SiteContext) -> None:
    async with FakeAmiServer() as server, running(server, site) as (source, _):
        assert isinstance(source, Originates)
        await server.wait_logins(1)
        await until(lambda: source.health().usable)
        refused = await source.originate("201", "+15145550123", '"Service" <+15145550123>')
        assert refused is None
        (action,) = [a for a in server.actions if a.get("Action") == "Originate"]
        assert action["Channel"] == "Local/201@from-internal"
        assert (action["Context"], action["Exten"], action["Priority"]) == (
            "from-internal",
            "5145550123",
            "1",
        )
        assert action["Async"] == "true" and action["CallerID"] == '"Service" <+15145550123>'


async def test_a_refused_originate_says_why(site: SiteContext) -> None:
    """An AMI user without `write = originate` gets "Permission denied": `refused`,
    with Asterisk's words as it said them."""
    async with FakeAmiServer() as server, running(server, site) as (source, _):
        server.originate_refusal = "Permission denied"
        await server.wait_logins(1)
        await until(lambda: source.health().usable)
        assert await source.originate("201", "+15145550123", "x") == CallRefused(
            "refused", "Permission denied"
        )


async def test_no_link_no_call(site: SiteContext) -> None:
    """Before the AMI session is up, the call is refused as `no_link`, not raised."""
    async with FakeAmiServer(secret="other") as server, running(server, site) as (source, _):
        assert await source.originate("201", "+15145550123", "x") == CallRefused("no_link")
