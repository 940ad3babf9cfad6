"""A fake Asterisk Manager Interface server: a test and demo peer, not production code.

It speaks enough AMI over real TCP for ringback's source, its tests, the daemon's
end-to-end tests and `ringback demo`: it greets with the banner, authenticates (and
refuses a wrong secret), answers Ping, Events, Filter (applied as a whitelist),
CoreShowChannels and Logoff, and plays recorded `.ami` streams to every logged-in
client, at their recorded pace (from the `Timestamp:` headers) or as fast as
possible, cut into random TCP writes (seeded), optionally inside UTF-8 characters.

    async with FakeAmiServer(secret="s3cret") as server:
        ...connect to 127.0.0.1:server.port...
        await server.wait_logins(1)
        await server.play(Path("call.ami").read_bytes(), speed=None)
        await server.drop()          # the network fails / Asterisk restarts
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import TracebackType
from typing import Self

SEP = b"\r\n\r\n"
BANNER = b"Asterisk Call Manager/9.0.0\r\n"
_FULLY_BOOTED = b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 5\r\nStatus: Fully Booted"


def split_frames(data: bytes) -> list[bytes]:
    """The frames of a recorded stream, without their terminating empty line."""
    return [f for f in data.split(SEP) if f.strip()]


def frame_fields(frame: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in frame.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep:
            fields.setdefault(key, value)
    return fields


def encode_frame(fields: Mapping[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode("utf-8") + b"\r\n"


def live_channels(data: bytes) -> list[dict[str, str]]:
    """The channels still up at the end of a stream, as Asterisk 22's CoreShowChannel
    lists them (every field, in its order; Duration from the `Timestamp` headers), so
    a test can cut a recording, "reconnect" and get a truthful snapshot."""
    channels: dict[str, dict[str, str]] = {}
    born: dict[str, float] = {}
    now = 0.0
    for frame in split_frames(data):
        f = frame_fields(frame)
        uid, event = f.get("Uniqueid", ""), f.get("Event")
        stamp = _timestamp(frame)
        now = stamp if stamp is not None else now
        if event == "Newchannel":
            channels[uid] = {k: f.get(k, "") for k in _SHOW_FIELDS}
            born[uid] = now
        elif uid not in channels:
            continue
        elif event == "Hangup":
            del channels[uid]
            continue
        chan = channels[uid]
        for key in ("ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName"):
            chan[key] = f.get(key, chan[key])
        for key in ("ConnectedLineNum", "ConnectedLineName", "Linkedid", "Priority"):
            chan[key] = f.get(key, chan[key])
        if event == "Newexten":
            chan.update(
                Context=f.get("Context", ""),
                Exten=f.get("Extension") or f.get("Exten", ""),
                Application=f.get("Application", ""),
                ApplicationData=f.get("AppData", ""),
            )
        elif event in ("BridgeEnter", "BridgeLeave"):
            chan["BridgeId"] = f["BridgeUniqueid"] if event == "BridgeEnter" else ""
    for uid, chan in channels.items():
        seconds = max(0, int(now - born[uid]))
        chan["Duration"] = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return list(channels.values())


_SHOW_FIELDS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
    "BridgeId",
    "Application",
    "ApplicationData",
    "Duration",
)


def demo_streams() -> dict[str, bytes]:
    """The recorded streams bundled with ringback (`demo/*.ami`), by scenario name."""
    folder = resources.files(__package__).joinpath("demo")
    return {
        p.name.removesuffix(".ami"): p.read_bytes()
        for p in sorted(folder.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".ami")
    }


def chunk(data: bytes, rng: random.Random, max_size: int, cut_utf8: bool) -> list[bytes]:
    """Cut `data` at random places (1..max_size bytes), and inside every multi-byte
    UTF-8 character when `cut_utf8`."""
    cuts = set()
    pos = 0
    while pos < len(data):
        pos += rng.randint(1, max_size)
        cuts.add(pos)
    if cut_utf8:
        cuts.update(i + 1 for i, b in enumerate(data) if b >= 0xC0 and i + 1 < len(data))
    edges = [0, *sorted(c for c in cuts if 0 < c < len(data)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@dataclass(eq=False)
class Client:
    writer: asyncio.StreamWriter
    authed: bool = False
    filters: list[str] = field(default_factory=list)
    actions: list[dict[str, str]] = field(default_factory=list)

    def wants(self, frame: bytes) -> bool:
        if not self.filters or not frame.startswith(b"Event: "):
            return True
        text = frame.decode("utf-8", "replace")
        return any(f in text for f in self.filters)


class FakeAmiServer:
    """The fake AMI server on 127.0.0.1 (port 0 by default: see `.port`)."""

    def __init__(
        self,
        *,
        username: str = "ringback",
        secret: str = "s3cret",
        port: int = 0,
        seed: int = 0,
        max_chunk: int = 0,
        cut_utf8: bool = False,
        answer_ping: bool = True,
        ping_delay: float = 0.0,
    ) -> None:
        self.username, self.secret = username, secret
        self.max_chunk, self.cut_utf8 = max_chunk, cut_utf8
        self.answer_ping = answer_ping
        self.ping_delay = ping_delay  # seconds a Pong waits (events keep flowing)
        self.originate_refusal = ""  # e.g. "Permission denied": refuse Originate with it
        self._delayed: set[asyncio.Task[None]] = set()
        self.channels: list[dict[str, str]] | None = None  # None: from the trace played
        self.played: list[bytes] = []
        self.snapshots = 0
        self.during_list: list[bytes] = []  # live events sent amid the next list
        self.clients: list[Client] = []
        self.logins = 0
        self.refused = 0
        self.actions: list[dict[str, str]] = []
        self._port = port
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._login_event = asyncio.Event()
        self._action_event = asyncio.Event()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port)
        return self

    async def close(self) -> None:
        for task in list(self._delayed):
            task.cancel()
        await self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- test controls -------------------------------------------------------------

    async def wait_logins(self, count: int, within: float = 5.0) -> None:
        """Wait until `count` successful logins happened since the start."""
        async with asyncio.timeout(within):
            while self.logins < count:
                self._login_event.clear()
                await self._login_event.wait()

    async def wait_action(self, name: str, within: float = 5.0) -> None:
        """Wait until a client sent the action `name` (case-insensitive): e.g.
        CoreShowChannels, the last step of the driver's session set-up, after which
        its event Filters are in place."""
        async with asyncio.timeout(within):
            while not any(a.get("Action", "").lower() == name.lower() for a in self.actions):
                self._action_event.clear()
                await self._action_event.wait()

    async def drop(self) -> None:
        """Cut every client connection at once (network failure, Asterisk restart)."""
        for client in list(self.clients):
            client.writer.transport.abort()
        self.clients.clear()
        await asyncio.sleep(0)

    async def send(self, data: bytes) -> None:
        """Raw bytes to every logged-in client (garbage included), chunked."""
        for client in [c for c in self.clients if c.authed]:
            await self._write(client, data)

    async def play(self, data: bytes, speed: float | None = None) -> None:
        """Send a recorded stream's events to every logged-in client. `speed` None plays
        as fast as possible; 1.0 keeps the recorded gaps; 10.0 is ten times faster."""
        previous: float | None = None
        for frame in split_frames(data):
            stamp = _timestamp(frame)
            if speed and stamp is not None and previous is not None:
                await asyncio.sleep(max(0.0, stamp - previous) / speed)
            previous = stamp if stamp is not None else previous
            self.played.append(frame)
            for client in [c for c in self.clients if c.authed and c.wants(frame)]:
                await self._write(client, frame + SEP)

    async def play_frames(self, frames: Iterable[bytes]) -> None:
        """Play pre-split frames as fast as possible in one write per client."""
        frames = list(frames)
        if frames:
            await self.play(SEP.join(frames) + SEP)

    async def play_with_drop(self, data: bytes, at: int, within: float = 30.0) -> None:
        """Play a stream's first `at` frames, drop every link, wait until a client has
        logged in again and read CoreShowChannels (answered from the trace played so
        far), then play the rest: the stream resumes at any event of a trace."""
        frames = split_frames(data)
        logins, snapshots = self.logins, self.snapshots
        await self.play_frames(frames[:at])
        await self.drop()
        await self.wait_logins(logins + 1, within)
        async with asyncio.timeout(within):
            while self.snapshots <= snapshots:
                self._action_event.clear()
                await self._action_event.wait()
        await self.play_frames(frames[at:])

    # --- the protocol --------------------------------------------------------------

    async def _write(self, client: Client, data: bytes) -> None:
        writer = client.writer
        if writer.is_closing():
            return
        parts = chunk(data, self._rng, self.max_chunk, self.cut_utf8) if self.max_chunk else [data]
        for part in parts:
            writer.write(part)
            if len(parts) > 1:
                await writer.drain()
        try:
            await writer.drain()
        except ConnectionError:
            return

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = Client(writer)
        self.clients.append(client)
        writer.write(BANNER)
        buf = b""
        try:
            while not writer.is_closing():
                data = await reader.read(65536)
                if not data:
                    break
                buf += data
                *frames, buf = buf.split(SEP)
                for frame in frames:
                    await self._action(client, frame_fields(frame))
        except ConnectionError:
            pass
        finally:
            if client in self.clients:
                self.clients.remove(client)
            writer.close()

    async def _action(self, client: Client, action: dict[str, str]) -> None:
        self.actions.append(action)
        client.actions.append(action)
        self._action_event.set()
        name = action.get("Action", "").lower()
        reply = {"ActionID": action["ActionID"]} if "ActionID" in action else {}
        if name == "login":
            await self._login(client, action, reply)
        elif not client.authed:
            await self._reply(client, "Error", reply, Message="Permission denied")
        elif name == "ping":
            if self.answer_ping and self.ping_delay > 0:
                task = asyncio.create_task(self._late_pong(client, reply))
                self._delayed.add(task)
                task.add_done_callback(self._delayed.discard)
            elif self.answer_ping:
                await self._reply(client, "Success", reply, Ping="Pong", Timestamp="0.000000")
        elif name == "coreshowchannels":
            await self._show_channels(client, reply)
        elif name == "filter":
            client.filters.append(action.get("Filter", ""))
            await self._reply(client, "Success", reply, Message="Filter Added Successfully")
        elif name == "events":
            await self._reply(client, "Success", reply, Events="On")
        elif name == "originate":
            if self.originate_refusal:
                await self._reply(client, "Error", reply, Message=self.originate_refusal)
            else:
                await self._reply(client, "Success", reply, Message="Originate successfully queued")
        elif name == "logoff":
            await self._reply(client, "Goodbye", reply, Message="Thanks for all the fish.")
            client.writer.close()
        else:
            await self._reply(client, "Error", reply, Message="Invalid/unknown command")

    async def _late_pong(self, client: Client, reply: dict[str, str]) -> None:
        await asyncio.sleep(self.ping_delay)
        await self._reply(client, "Success", reply, Ping="Pong", Timestamp="0.000000")

    async def _reply(self, client: Client, status: str, base: dict[str, str], **more: str) -> None:
        await self._write(client, encode_frame({"Response": status, **base, **more}))

    async def _login(self, client: Client, action: dict[str, str], reply: dict[str, str]) -> None:
        if action.get("Username") != self.username or action.get("Secret") != self.secret:
            self.refused += 1
            await self._reply(client, "Error", reply, Message="Authentication failed")
            client.writer.close()
            return
        client.authed = True
        await self._reply(client, "Success", reply, Message="Authentication accepted")
        await self._write(client, _FULLY_BOOTED + SEP)
        self.logins += 1
        self._login_event.set()

    async def _show_channels(self, client: Client, reply: dict[str, str]) -> None:
        """Answer as Asterisk 22 does: a response announcing the list, one
        CoreShowChannel per channel, CoreShowChannelsComplete with ListItems."""
        channels = self.channels
        if channels is None:
            channels = live_channels(SEP.join(self.played) + SEP) if self.played else []
        head = {"Response": "Success", **reply, "EventList": "start"}
        out = [encode_frame({**head, "Message": "Channels will follow"})]
        for channel in channels:
            out.append(encode_frame({"Event": "CoreShowChannel", **reply, **channel}))
        done = {"Event": "CoreShowChannelsComplete", **reply, "EventList": "Complete"}
        out.append(encode_frame({**done, "ListItems": str(len(channels))}))
        if self.during_list:  # live events interleaved with the list, as on a busy PBX
            middle = len(out) // 2
            out[middle:middle] = [f + SEP for f in self.during_list]
            self.played.extend(self.during_list)
            self.during_list = []
        await self._write(client, b"".join(out))
        self.snapshots += 1
        self._action_event.set()


def _timestamp(frame: bytes) -> float | None:
    start = frame.find(b"\r\nTimestamp: ")
    if start < 0:
        return None
    end = frame.find(b"\r\n", start + 2)
    try:
        return float(frame[start + 13 : end if end >= 0 else None])
    except ValueError:
        return None
