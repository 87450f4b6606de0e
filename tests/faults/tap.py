"""A relay on loopback between the bot and a simulator (or between Slack and bot replicas), to make
something happen at a precise moment of a real exchange.

``Tap`` forwards every request to its target(s) and hands back the answer. A test adds ``Hook``s:
run an action before a matching request is forwarded (``before``), or after the target answered
and before the answer goes back (``after``: the moment a process dies with the answer in flight),
or answer the request itself without forwarding (``reply``). It can also spread requests over
several targets in turn (replicas behind a load balancer) and deliver a request twice (``copy``),
as a retrying proxy or a redelivery would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

_HOP_BY_HOP = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "content-encoding",
    }
)
TARGET_WAIT_SECONDS = 10.0


@dataclass
class Exchange:
    """One request through the tap and, once the target answered, its answer."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0
    answer: bytes = b""
    target: str = ""
    """Where the tap forwarded it (empty when a hook answered it)."""

    def fields(self) -> dict[str, Any]:
        """The request's arguments: query string, then a form or JSON body, merged."""
        merged: dict[str, Any] = dict(self.query)
        text = self.body.decode("utf-8", errors="replace")
        if not text:
            return merged
        if text.lstrip().startswith("{"):
            with contextlib.suppress(ValueError):
                loaded = json.loads(text)
                if isinstance(loaded, dict):
                    merged.update(loaded)
            return merged
        merged.update(dict(parse_qsl(text, keep_blank_values=True)))
        return merged

    def payload(self) -> dict[str, Any]:
        """A Slack interaction's ``payload`` form field, parsed (empty when there is none)."""
        raw = self.fields().get("payload")
        if not isinstance(raw, str):
            return {}
        loaded = json.loads(raw)
        return loaded if isinstance(loaded, dict) else {}

    def answer_json(self) -> Any:
        try:
            return json.loads(self.answer.decode("utf-8"))
        except ValueError:
            return None


Matcher = Callable[[Exchange], bool]
Action = Callable[[Exchange], Awaitable[None]]


@dataclass
class Hook:
    matches: Matcher
    before: Action | None = None
    after: Action | None = None
    reply: tuple[int, dict[str, Any]] | None = None
    times: int | None = 1
    """How many matching requests it acts on; ``None`` for all of them."""
    fired: asyncio.Event = field(default_factory=asyncio.Event)
    count: int = 0

    def take(self, exchange: Exchange) -> bool:
        if self.times is not None and self.count >= self.times:
            return False
        if not self.matches(exchange):
            return False
        self.count += 1
        return True


@dataclass
class Copy:
    """Deliver matching requests a second time, to ``target`` (an index into the targets)."""

    matches: Matcher
    target: int | None
    concurrent: bool
    times: int | None
    count: int = 0
    answers: list[tuple[int, float]] = field(default_factory=list)
    """Status and seconds of each copy's answer."""


class Tap:
    """``await Tap().start()``; point a client at ``url`` and the tap at ``targets``."""

    def __init__(self, *targets: str) -> None:
        self.targets: list[str] = [target.rstrip("/") for target in targets]
        self.exchanges: list[Exchange] = []
        self._hooks: list[Hook] = []
        self._copies: list[Copy] = []
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._copy_tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    async def start(self) -> Tap:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._relay)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def stop(self) -> None:
        for task in list(self._copy_tasks):
            task.cancel()
        if self._copy_tasks:
            await asyncio.gather(*self._copy_tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def point_at(self, *targets: str) -> None:
        self.targets = [target.rstrip("/") for target in targets]

    # What the tests ask for -------------------------------------------------------------------

    def on(
        self,
        matches: Matcher,
        *,
        before: Action | None = None,
        after: Action | None = None,
        reply: tuple[int, dict[str, Any]] | None = None,
        times: int | None = 1,
    ) -> Hook:
        hook = Hook(matches, before=before, after=after, reply=reply, times=times)
        self._hooks.append(hook)
        return hook

    def copy(
        self,
        matches: Matcher,
        *,
        target: int | None = None,
        concurrent: bool = False,
        times: int | None = 1,
    ) -> Copy:
        """Deliver matching requests twice; ``target`` picks the copy's target (default: the
        next one in turn), ``concurrent`` sends the copy at once instead of after the answer."""
        plan = Copy(matches, target, concurrent, times)
        self._copies.append(plan)
        return plan

    # The relay --------------------------------------------------------------------------------

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        exchange = Exchange(
            method=request.method,
            path=request.path,
            query=dict(request.query.items()),
            headers={name: value for name, value in request.headers.items()},
            body=await request.read(),
        )
        self.exchanges.append(exchange)
        hooks = [hook for hook in self._hooks if hook.take(exchange)]
        for hook in hooks:
            if hook.before is not None:
                await hook.before(exchange)
        replied = next((hook.reply for hook in hooks if hook.reply is not None), None)
        copy = self._copy_for(exchange)
        copy_task = None
        if replied is not None:
            status, body = replied
            exchange.status, exchange.answer = status, json.dumps(body).encode()
            headers = {"Content-Type": "application/json"}
        else:
            target = exchange.target = await self._target()
            if copy is not None and copy.concurrent:
                copy_task = self._spawn_copy(copy, exchange)
            try:
                exchange.status, headers, exchange.answer = await self._forward(target, exchange)
            except TargetDropped:
                return self._drop(request)
        for hook in hooks:
            if hook.after is not None:
                await hook.after(exchange)
            hook.fired.set()
        if copy is not None and copy_task is None and replied is None:
            self._spawn_copy(copy, exchange)
        return web.Response(status=exchange.status, body=exchange.answer, headers=headers)

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the client's connection without an answer, as the target did."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=204)

    def _copy_for(self, exchange: Exchange) -> Copy | None:
        for plan in self._copies:
            if (plan.times is None or plan.count < plan.times) and plan.matches(exchange):
                plan.count += 1
                return plan
        return None

    def _spawn_copy(self, plan: Copy, exchange: Exchange) -> asyncio.Task[None]:
        async def deliver() -> None:
            index = plan.target if plan.target is not None else self._advance()
            target = self.targets[index % len(self.targets)]
            started = time.monotonic()
            try:
                status, _, _ = await self._forward(target, exchange)
            except TargetDropped:
                status = 0
            plan.answers.append((status, time.monotonic() - started))

        task = asyncio.create_task(deliver())
        self._copy_tasks.add(task)
        task.add_done_callback(self._copy_tasks.discard)
        return task

    async def settle(self) -> None:
        """Wait (10 s at most) for the copies in flight to be answered."""
        if self._copy_tasks:
            await asyncio.wait(set(self._copy_tasks), timeout=10.0)

    def _advance(self) -> int:
        index = self._next
        self._next += 1
        return index

    async def _target(self) -> str:
        deadline = time.monotonic() + TARGET_WAIT_SECONDS
        while not self.targets:
            if time.monotonic() > deadline:
                raise RuntimeError("the tap has no target")
            await asyncio.sleep(0.01)
        return self.targets[self._advance() % len(self.targets)]

    async def _forward(self, target: str, exchange: Exchange) -> tuple[int, dict[str, str], bytes]:
        assert self._session is not None, "the tap is not started"
        headers = {
            name: value
            for name, value in exchange.headers.items()
            if name.lower() not in _HOP_BY_HOP
        }
        url = target + exchange.path
        try:
            async with self._session.request(
                exchange.method,
                url,
                params=exchange.query,
                data=exchange.body,
                headers=headers,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                kept = {
                    name: value
                    for name, value in response.headers.items()
                    if name.lower() not in _HOP_BY_HOP
                }
                return response.status, kept, body
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TargetDropped() from error


class TargetDropped(Exception):
    """The target closed the connection (or never answered): the tap drops its client's too."""


def slack_method(name: str, **wanted: str) -> Matcher:
    """A Web API call of method ``name`` whose arguments include ``wanted`` (prefix match)."""

    def matches(exchange: Exchange) -> bool:
        if not exchange.path.endswith("/" + name):
            return False
        arguments = exchange.fields()
        return all(str(arguments.get(key, "")).startswith(value) for key, value in wanted.items())

    return matches


def collate_call(method: str, path_suffix: str) -> Matcher:
    """A Collate call whose path ends with ``path_suffix``."""

    def matches(exchange: Exchange) -> bool:
        return exchange.method == method and exchange.path.endswith(path_suffix)

    return matches


def interaction(kind: str, *, action_id: str | None = None, user: str | None = None) -> Matcher:
    """A Slack interaction delivery of ``kind`` (``block_actions``, ``view_submission``)."""

    def matches(exchange: Exchange) -> bool:
        payload = exchange.payload()
        if payload.get("type") != kind:
            return False
        if user is not None and payload.get("user", {}).get("id") != user:
            return False
        if action_id is not None:
            actions = payload.get("actions") or [{}]
            return bool(actions[0].get("action_id") == action_id)
        return True

    return matches
