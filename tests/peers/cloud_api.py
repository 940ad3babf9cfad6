"""Fake cloud peers on 127.0.0.1: a Twilio Messages API and a webhook receiver.

Both are plain asyncio HTTP/1.1 servers (one request per connection, so each scripted
misbehaviour hits exactly one request). Tests script them with `Step`s, consumed one
per create request (Twilio) or delivery (webhook); with no step left they behave
well. What they check themselves, as the real peers do: Twilio's basic auth, the
form encoding and the fields; the webhook's HMAC signature and idempotency key.

    async with FakeTwilio() as twilio:
        twilio.script(Step.error(400, 21211), Step.created_then_hang(5))
        ... TwilioSender(base_url=twilio.url) ...
        assert twilio.created == [...]
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import socket
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

from tests.peers.twilio_book import Book

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "tok-s3cr3t-0f-the-fake-twilio"
WEBHOOK_SECRET = "whs-s3cr3t-shared-with-receiver"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass(frozen=True, slots=True)
class Step:
    """One scripted answer. `kind`: reply, hang, reset, truncate, raw.
    `create`: the peer acts on the request (records the message) before misbehaving."""

    kind: str = "reply"
    status: int = 201
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    create: bool = False

    @classmethod
    def reply(cls, status: int, body: object = None, *headers: tuple[str, str]) -> Step:
        raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        return cls("reply", status, raw, tuple(headers))

    @classmethod
    def error(cls, status: int, code: int, *headers: tuple[str, str]) -> Step:
        """A Twilio error body: {"code", "message", "more_info", "status"}."""
        body = {
            "code": code,
            "message": f"error {code}",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return cls.reply(status, body, *headers)

    @classmethod
    def hang(cls, seconds: float, create: bool = False) -> Step:
        return cls("hang", seconds=seconds, create=create)

    @classmethod
    def reset(cls, create: bool = False) -> Step:
        return cls("reset", create=create)

    @classmethod
    def truncate(cls, status: int = 201, create: bool = True) -> Step:
        return cls("truncate", status=status, create=create)

    @classmethod
    def after_create(cls, status: int, body: object = None) -> Step:
        step = cls.reply(status, body)
        return Step(step.kind, step.status, step.body, step.headers, create=True)


_REASONS = {200: "OK", 201: "Created", 301: "Moved Permanently", 302: "Found", 429: "Too Many"}


class HttpPeer:
    """The transport: accept, read one request, hand it to `handle`, close."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            request = await _read_request(reader)
            if request is not None:
                self.requests.append(request)
                await self.handle(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def handle(self, request: Request, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def play(self, step: Step, writer: asyncio.StreamWriter) -> None:
        """Carry out one step's misbehaviour (or its plain reply)."""
        if step.kind == "hang":
            await asyncio.sleep(step.seconds)
        elif step.kind == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif step.kind == "truncate":
            head = f"HTTP/1.1 {step.status} X\r\nContent-Length: 500\r\n\r\n"
            writer.write(head.encode() + b'{"sid": "SM')
            await writer.drain()
        elif step.kind == "raw":
            writer.write(step.body or b"")
            await writer.drain()
        else:
            await respond(writer, step.status, step.body or b"", step.headers)


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    parts = urlsplit(target)
    return Request(method, parts.path, parse_qs(parts.query), headers, body)


async def respond(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    headers: tuple[tuple[str, str], ...] = (),
) -> None:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if not any(k.lower() == "content-type" for k, _ in headers):
        lines.append("Content-Type: application/json")
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    writer.write("\r\n".join(lines).encode() + body)
    await writer.drain()


# --- Twilio --------------------------------------------------------------------------


class FakeTwilio(HttpPeer):
    """Twilio's `Messages.json` create (POST) and list (GET), keeping state in a
    `Book` (tests/peers/twilio_book.py): SIDs, statuses advancing, replies injected.

    A GET with `DateSent>` is a poll: it advances every status one step first
    (`advance_on_poll`) and meets `script_poll` steps; any other GET is the sender's
    reconciliation look-up (`script_list`). `errors[number] = code` refuses creates to
    that number with a 400 and that code; `book.fail_after[number] = code` accepts
    them and ends them `undelivered`/`failed` with it."""

    def __init__(
        self,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.book = Book(account_sid, clock or (lambda: datetime.now(UTC)))
        self.created: list[dict[str, object]] = []
        self.errors: dict[str, int] = {}
        self.advance_on_poll = True
        self._steps: deque[Step] = deque()
        self._list_steps: deque[Step] = deque()
        self._poll_steps: deque[Step] = deque()

    def script(self, *steps: Step) -> None:
        self._steps.extend(steps)

    def script_list(self, *steps: Step) -> None:
        self._list_steps.extend(steps)

    def script_poll(self, *steps: Step) -> None:
        self._poll_steps.extend(steps)

    @property
    def creates(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"]

    @property
    def lookups(self) -> list[Request]:
        return [r for r in self.requests if r.method == "GET" and "DateSent>" not in r.query]

    @property
    def polls(self) -> list[Request]:
        return [r for r in self.requests if r.method == "GET" and "DateSent>" in r.query]

    async def handle(self, request: Request, writer: asyncio.StreamWriter) -> None:
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if request.path != path:
            await respond(writer, 404, json.dumps({"code": 20404, "status": 404}).encode())
        elif not self._authorised(request):
            await play_error(self, writer, 401, 20003)
        elif request.method == "GET" and "DateSent>" in request.query:
            await self._poll(request, writer, path)
        elif request.method == "GET":
            await self._list(request, writer)
        elif request.method == "POST":
            await self._create(request, writer)
        else:
            await respond(writer, 405, b"{}")

    def _authorised(self, request: Request) -> bool:
        pair = f"{self.account_sid}:{self.auth_token}".encode()
        return request.headers.get("authorization") == "Basic " + base64.b64encode(pair).decode()

    async def _create(self, request: Request, writer: asyncio.StreamWriter) -> None:
        problem = _form_problem(request)
        if problem:
            await respond(writer, 400, json.dumps({"code": 21602, "message": problem}).encode())
            return
        code = self.errors.get(request.form.get("To", ""))
        if code is not None and not self._steps:
            await play_error(self, writer, 400, code)
            return
        step = self._steps.popleft() if self._steps else Step.after_create(201)
        if step.create:
            message = self.record(request.form)
            if step.kind == "reply" and step.status == 201 and step.body is None:
                step = Step.reply(201, message)
        await self.play(step, writer)

    def record(self, form: dict[str, str], when: datetime | None = None) -> dict[str, object]:
        """Store a message as Twilio would (tests may also plant earlier ones)."""
        message = self.book.create(form, when)
        self.created.append(message)
        return message

    def inject_reply(self, from_: str, to: str, body: str, media: int = 0) -> str:
        """A text a caller sends to our number; its SID."""
        return str(self.book.inbound(from_, to, body, media)["sid"])

    async def _poll(self, request: Request, writer: asyncio.StreamWriter, path: str) -> None:
        if self._poll_steps:
            await self.play(self._poll_steps.popleft(), writer)
            return
        if self.advance_on_poll and "PageToken" not in request.query:
            self.book.advance()
        page = self.book.page(request.query, path)
        await respond(writer, 200, json.dumps(page).encode())

    async def _list(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if self._list_steps:
            await self.play(self._list_steps.popleft(), writer)
            return
        to = request.query.get("To", [None])[0]
        found = [m for m in reversed(self.created) if to is None or m["to"] == to]
        page = {"messages": found, "page": 0, "page_size": len(found), "next_page_uri": None}
        await respond(writer, 200, json.dumps(page).encode())


async def play_error(peer: HttpPeer, writer: asyncio.StreamWriter, status: int, code: int) -> None:
    await peer.play(Step.error(status, code), writer)


def _form_problem(request: Request) -> str | None:
    if request.headers.get("content-type") != "application/x-www-form-urlencoded":
        return "body must be form-encoded"
    form = request.form
    if not form.get("To"):
        return "'To' is required"
    if ("From" in form) == ("MessagingServiceSid" in form):
        return "exactly one of 'From' and 'MessagingServiceSid' is required"
    if not form.get("Body"):
        return "'Body' is required"
    return None


# --- webhook receiver ------------------------------------------------------------------


@dataclass
class Delivery:
    key: str
    payload: dict[str, object]


class FakeWebhook(HttpPeer):
    """A receiver that verifies the HMAC and delivers each idempotency key once."""

    def __init__(self, secret: str = WEBHOOK_SECRET) -> None:
        super().__init__()
        self.secret = secret
        self.signature_header = "x-ringback-signature"
        self.key_header = "idempotency-key"
        self.delivered: dict[str, Delivery] = {}
        self._steps: deque[Step] = deque()

    def script(self, *steps: Step) -> None:
        self._steps.extend(steps)

    def behave(self) -> None:
        """Drop what is left of the script: deliver everything from now on."""
        self._steps.clear()

    async def handle(self, request: Request, writer: asyncio.StreamWriter) -> None:
        expected = "sha256=" + hmac.new(self.secret.encode(), request.body, "sha256").hexdigest()
        given = request.headers.get(self.signature_header, "")
        key = request.headers.get(self.key_header)
        if not hmac.compare_digest(expected, given) or not key:
            await respond(writer, 401, b'{"error": "bad signature"}')
            return
        step = self._steps.popleft() if self._steps else Step.after_create(200)
        if step.create:
            self.delivered.setdefault(key, Delivery(key, json.loads(request.body)))
            if step.kind == "reply" and step.body is None:
                step = Step.reply(step.status, {"id": f"wh-{key}"})
        await self.play(step, writer)


class BlackHole:
    """A TCP address whose connects never complete (the listen backlog is full), for
    the connect timeout. Linux drops SYNs to a full backlog, so the client waits."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port = self._listener.getsockname()[1]
        self._parked: list[socket.socket] = []
        for _ in range(3):
            parked = socket.socket()
            parked.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                parked.connect(("127.0.0.1", self.port))
            self._parked.append(parked)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        for sock in [*self._parked, self._listener]:
            sock.close()
