"""``SlackSimulator``: a local Slack for the bot to talk to, and for tests to act as people in."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from aiohttp import web

from sim.slack.blockkit import BlockChecker
from sim.slack.capabilities import ResponseUrlBook, TriggerBook
from sim.slack.clock import SimClock
from sim.slack.delivery import AppDelivery
from sim.slack.faults import FaultPlan
from sim.slack.interactions import Interactions
from sim.slack.payloads import event_callback
from sim.slack.people import SlackPerson
from sim.slack.records import (
    AppResponse,
    ResponseUrlPost,
    SimCall,
    SimEphemeral,
    SimMessage,
    SimView,
)
from sim.slack.response_url import ResponseUrlRoute
from sim.slack.signing import Signer
from sim.slack.socket_mode import SocketHub
from sim.slack.state import SimState
from sim.slack.webapi import WebApi
from sim.slack.workspace import SimUsergroup, Workspace


class SlackSimulator:
    """A Slack workspace on 127.0.0.1: the Web API the bot calls, and the people who use it.

    Example::

        slack = SlackSimulator(signing_secret="secret")
        client = AsyncWebClient(token=slack.bot_token, base_url=await slack.start())
        channel = slack.add_channel("handoffs", members=[(nurse := slack.add_user("nurse")).id])
        slack.set_request_url("http://127.0.0.1:3000/slack/events")
        await nurse.click(channel, ts, "handoff.accept")
        await slack.stop()
    """

    def __init__(
        self,
        *,
        signing_secret: str,
        bot_token: str = "xoxb-sim",  # noqa: S107
        app_token: str = "xapp-sim",  # noqa: S107
        team_id: str = "T0SIM",
    ) -> None:
        self.clock = SimClock()
        self.workspace = Workspace(team_id, self.clock)
        self.calls: list[SimCall] = []
        self.response_url_posts: list[ResponseUrlPost] = []
        self._state = SimState(
            workspace=self.workspace,
            clock=self.clock,
            triggers=TriggerBook(self.clock),
            response_urls=ResponseUrlBook(self.clock),
            faults=FaultPlan(self.clock),
            bot_token=bot_token,
            app_token=app_token,
        )
        self._signer = Signer(signing_secret)
        self._hub = SocketHub(self.workspace.api_app_id)
        self._delivery = AppDelivery(self._signer, self._hub)
        self._interactions = Interactions(self._state, self._delivery)
        self._people: dict[str, SlackPerson] = {}
        self._events: dict[str, dict[str, Any]] = {}
        self._runner: web.AppRunner | None = None
        self._root_url = ""

    # -- identity -------------------------------------------------------------------------

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @property
    def enterprise_id(self) -> str | None:
        return self.workspace.enterprise_id

    @property
    def api_app_id(self) -> str:
        return self.workspace.api_app_id

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.workspace.bot_id

    @property
    def bot_token(self) -> str:
        return self._state.bot_token

    @property
    def app_token(self) -> str:
        return self._state.app_token

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> str:
        """Serve on 127.0.0.1 (a free port); returns the ``base_url`` for ``AsyncWebClient``."""
        app = web.Application()
        app.add_routes(WebApi(self._state, self.calls).routes())
        app.add_routes(ResponseUrlRoute(self._state, self.response_url_posts).routes())
        app.add_routes(self._hub.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self._root_url = f"http://127.0.0.1:{port}/"
        self._state.root_url = self._root_url
        self._state.response_urls.base_url = self._root_url
        self._state.issue_socket_url = lambda: self._hub.issue_url(self._root_url)
        await self._delivery.start()
        return self.api_url

    async def stop(self) -> None:
        await self._hub.close()
        await self._delivery.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        if not self._root_url:
            raise RuntimeError("the simulator is not started")
        return f"{self._root_url}api/"

    def set_request_url(self, url: str) -> None:
        """Where interactions and events go over HTTP while no Socket Mode connection is open."""
        self._delivery.request_url = url

    @property
    def ack_timeout(self) -> float:
        return self._delivery.ack_timeout

    @ack_timeout.setter
    def ack_timeout(self, seconds: float) -> None:
        self._delivery.ack_timeout = seconds

    def advance_time(self, seconds: float) -> None:
        """Move the simulated clock (trigger expiry, response_url lifetime, rate limits)."""
        self.clock.advance(seconds)

    # -- workspace ------------------------------------------------------------------------

    def add_user(self, name: str, *, is_bot: bool = False) -> SlackPerson:
        user = self.workspace.add_user(name, is_bot=is_bot)
        person = SlackPerson(user, self.workspace, self._interactions, self._signer)
        self._people[user.id] = person
        return person

    def person(self, user_id: str) -> SlackPerson:
        return self._people[user_id]

    def add_channel(
        self,
        name: str,
        members: list[str] | None = None,
        *,
        bot_member: bool = True,
        is_private: bool = False,
    ) -> str:
        """A channel (``C…``, public or private) with these members; returns its id."""
        self._check_users(members or [])
        channel = self.workspace.add_channel(
            name, members or [], bot_member=bot_member, is_private=is_private
        )
        return channel.id

    def add_members(self, channel_id: str, users: list[str]) -> None:
        self._check_users(users)
        self.workspace.channel(channel_id).members.update(users)

    def remove_members(self, channel_id: str, users: list[str]) -> None:
        self.workspace.channel(channel_id).members.difference_update(users)

    def set_bot_member(self, channel_id: str, is_member: bool) -> None:
        self.workspace.channel(channel_id).bot_member = is_member

    def add_usergroup(self, handle: str, users: list[str]) -> str:
        self._check_users(users)
        group = SimUsergroup(self.workspace.ids.next("S"), handle, list(users))
        self.workspace.usergroups[group.id] = group
        return group.id

    def set_usergroup_users(self, group_id: str, users: list[str]) -> None:
        self._check_users(users)
        self.workspace.usergroups[group_id].users = list(users)

    def _check_users(self, users: list[str]) -> None:
        unknown = [user for user in users if user not in self.workspace.users]
        if unknown:
            raise KeyError(f"unknown users {unknown}; add them with add_user() first")

    # -- what people see ------------------------------------------------------------------

    def messages(self, channel_id: str, *, include_deleted: bool = False) -> list[SimMessage]:
        """Top-level messages of a channel in posting order, as they read now."""
        self.workspace.channel(channel_id)
        return self.workspace.top_level(channel_id, include_deleted=include_deleted)

    def replies(
        self, channel_id: str, thread_ts: str, *, include_deleted: bool = False
    ) -> list[SimMessage]:
        self.workspace.channel(channel_id)
        return self.workspace.replies(channel_id, thread_ts, include_deleted=include_deleted)

    def message(self, channel_id: str, ts: str) -> SimMessage:
        message = self.workspace.find_message(channel_id, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel_id}")
        return message

    def dm_channel_id(self, user_id: str) -> str | None:
        return self.workspace.dm_channel_id(user_id)

    def ephemerals(
        self, channel_id: str | None = None, user: str | None = None
    ) -> list[SimEphemeral]:
        return [
            e
            for e in self.workspace.ephemerals
            if not e.deleted
            and (channel_id is None or e.channel == channel_id)
            and (user is None or e.user == user)
        ]

    def views(self, user_id: str) -> list[SimView]:
        """The person's open modal stack, root first."""
        return list(self.workspace.modal_stacks.get(user_id, []))

    def home(self, user_id: str) -> SimView | None:
        return self.workspace.homes.get(user_id)

    def view(self, view_id: str) -> SimView | None:
        return self.workspace.find_view(view_id)

    def calls_to(self, method: str) -> list[SimCall]:
        return [call for call in self.calls if call.method == method]

    # -- faults ---------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        status: int = 200,
        retry_after: float | None = None,
        count: int = 1,
    ) -> None:
        """The next ``count`` calls of ``method`` fail with ``error`` (429 adds Retry-After)."""
        self._state.faults.fail_next(
            method, error, status=status, retry_after=retry_after, count=count
        )

    def rate_limit(
        self,
        method: str = "chat.postMessage",
        per_channel_per_second: float | None = 1.0,
        *,
        burst: int = 1,
    ) -> None:
        """Answer 429 ``ratelimited`` past ``per_channel_per_second`` (``None`` turns it off)."""
        self._state.faults.rate_limit(method, per_channel_per_second, burst)

    def set_block_checker(self, checker: BlockChecker | None) -> None:
        """Extra Block Kit checks: ``checker(surface, payload)`` returns problems (or none)."""
        self._state.block_checker = checker

    # -- events and Socket Mode -----------------------------------------------------------

    async def send_event(
        self, event: dict[str, Any], *, event_id: str | None = None
    ) -> AppResponse:
        """Deliver one Events API ``event_callback`` with a fresh ``event_id``."""
        event = dict(event)
        event.setdefault("event_ts", f"{self.clock.now():.6f}")
        event_id = event_id or self.workspace.ids.next("Ev")
        payload = event_callback(
            self.workspace, event, event_id=event_id, event_time=int(self.clock.now())
        )
        self._events[event_id] = payload
        return await self._delivery.event(payload, retry_num=None, retry_reason=None)

    async def resend_event(
        self, event_id: str, *, retry_num: int = 1, reason: str = "http_timeout"
    ) -> AppResponse:
        """Slack's retry of an earlier event: same body, with ``X-Slack-Retry-Num``."""
        payload = self._events[event_id]
        return await self._delivery.event(payload, retry_num=retry_num, retry_reason=reason)

    def sign_headers(self, body: bytes | str, timestamp: int | str | None = None) -> dict[str, str]:
        return self._signer.sign_headers(body, timestamp)

    @property
    def socket_connection_count(self) -> int:
        return self._hub.connection_count

    async def disconnect_sockets(self, reason: str = "refresh_requested") -> None:
        await self._hub.disconnect_all(reason)
