"""The Socket Mode endpoint: WebSocket connections the bot opens, and envelope delivery.

Each envelope goes to exactly one open connection (round robin), and the simulator waits for
the ack that carries its ``envelope_id``, as https://api.slack.com/apis/connections/socket
describes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from sim.slack.payloads import socket_disconnect, socket_hello

logger = logging.getLogger(__name__)

MAX_CONNECTIONS = 10


@dataclass
class _Connection:
    id: int
    socket: web.WebSocketResponse


@dataclass(frozen=True)
class SocketAck:
    connection_id: int
    payload: dict[str, Any] | None
    timed_out: bool


class NoSocketConnection(RuntimeError):
    """No Socket Mode connection was open when an envelope had to go out."""


class SocketHub:
    def __init__(self, app_id: str) -> None:
        self._app_id = app_id
        self._connections: list[_Connection] = []
        self._tickets: set[str] = set()
        self._pending: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        self._opened = 0
        self._turn = 0

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/socket", self.handle)]

    def issue_url(self, root_url: str) -> str:
        ticket = secrets.token_urlsafe(12)
        self._tickets.add(ticket)
        ws_root = root_url.replace("http://", "ws://", 1)
        return f"{ws_root}socket?ticket={ticket}&app_id={self._app_id}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        if len(self._connections) >= MAX_CONNECTIONS:
            count = len(self._connections)
            await socket.send_json(socket_disconnect(self._app_id, "too_many_websockets", count))
            await socket.close()
            return socket
        self._opened += 1
        connection = _Connection(self._opened, socket)
        self._connections.append(connection)
        await socket.send_json(socket_hello(self._app_id, len(self._connections)))
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self._receive(str(message.data))
        finally:
            self._connections.remove(connection)
        return socket

    def _receive(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            logger.warning("slack_sim.socket.unparsable_message")
            return
        if not isinstance(message, dict):
            return
        waiter = self._pending.get(str(message.get("envelope_id")))
        if waiter is not None and not waiter.done():
            payload = message.get("payload")
            waiter.set_result(payload if isinstance(payload, dict) else None)

    async def deliver(self, envelope: dict[str, Any], ack_within: float) -> SocketAck:
        """Send ``envelope`` over one connection and wait up to ``ack_within`` s for its ack."""
        connection = self._next_connection()
        envelope_id = str(envelope["envelope_id"])
        waiter: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = waiter
        try:
            await connection.socket.send_json(envelope)
            payload = await asyncio.wait_for(waiter, ack_within)
            return SocketAck(connection.id, payload, timed_out=False)
        except TimeoutError:
            return SocketAck(connection.id, None, timed_out=True)
        finally:
            self._pending.pop(envelope_id, None)

    def _next_connection(self) -> _Connection:
        live = [c for c in self._connections if not c.socket.closed]
        if not live:
            raise NoSocketConnection("no Socket Mode connection is open")
        connection = live[self._turn % len(live)]
        self._turn += 1
        return connection

    async def disconnect_all(self, reason: str) -> None:
        """Ask every connection to reconnect, as Slack does with ``refresh_requested``."""
        count = len(self._connections)
        for connection in list(self._connections):
            await connection.socket.send_json(socket_disconnect(self._app_id, reason, count))

    async def close(self) -> None:
        for connection in list(self._connections):
            await connection.socket.close()
