"""Only Slack, and only the pinned workspace, gets anything done (slack-platform §5).

Requests go over HTTP to the running bot's ``/slack/events``, signed here by hand with Slack's
documented scheme (``v0=`` HMAC-SHA256 over ``v0:<timestamp>:<raw body>``), so a test can sign
wrongly on purpose. "Nothing happened" is checked where it would show: the Slack Web API calls
the simulator recorded, the requests Collate received, and every key the bot has in Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from blocks.ids import ActionId, ActionRef
from sim.slack import SimMessage, SlackPerson
from tests.harness import SIGNING_SECRET, BotWorld, bot_world
from tests.test_end_to_end import accepted_card

FIVE_MINUTES = 300


def signature(body: bytes, timestamp: int | str, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(
    body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": signature(body, stamp, secret),
    }


def interaction_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]
    """Lower-case names."""


@dataclass
class RawSlack:
    """Sends whatever bytes a test likes to the bot's ``/slack/events``."""

    url: str
    session: aiohttp.ClientSession

    async def post(
        self,
        body: bytes,
        headers: dict[str, str],
        content_type: str = "application/x-www-form-urlencoded",
    ) -> Answer:
        sent = {"Content-Type": content_type, **headers}
        async with self.session.post(self.url, data=body, headers=sent) as response:
            headers = {name.lower(): value for name, value in response.headers.items()}
            return Answer(response.status, await response.text(), headers)


@asynccontextmanager
async def raw_slack(world: BotWorld) -> AsyncIterator[RawSlack]:
    """The running bot's own web routes, served on one more loopback port for raw requests."""
    server = TestServer(world.runtime.web_app(), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield RawSlack(str(server.make_url("/slack/events")), session)
    finally:
        await server.close()


def click_payload(
    world: BotWorld, person: SlackPerson, message: SimMessage, action_id: str, value: str
) -> dict[str, Any]:
    """A ``block_actions`` payload as Slack sends it for a button on ``message``."""
    team = world.slack.team_id
    return {
        "type": "block_actions",
        "team": {"id": team, "domain": "sim-workspace"},
        "enterprise": None,
        "user": {"id": person.id, "username": person.name, "team_id": team},
        "api_app_id": world.slack.api_app_id,
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
        },
        "channel": {"id": message.channel, "name": "prior-auth-handoffs"},
        "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:12]}",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "actions",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def event_body(world: BotWorld, event_id: str) -> bytes:
    team = world.slack.team_id
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": team,
            "api_app_id": world.slack.api_app_id,
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {"type": "subteam_members_changed", "subteam_id": "S0NOBODY"},
            "authorizations": [{"team_id": team, "user_id": world.slack.bot_user_id}],
        }
    ).encode()


IDENTITY_CHECK = "auth.test"
"""Bolt's one read-only ``auth.test`` per process, made before any global middleware runs."""


@dataclass(frozen=True)
class Footprint:
    """Everything the bot could have touched (Slack calls less Bolt's identity check)."""

    slack_calls: tuple[str, ...]
    collate_requests: int
    redis: str


async def footprint(world: BotWorld) -> Footprint:
    return Footprint(
        tuple(call.method for call in world.slack.calls if call.method != IDENTITY_CHECK),
        len(world.collate.requests),
        await world.redis_dump(),
    )


async def offered_card(world: BotWorld) -> tuple[SimMessage, str]:
    """A fresh offer without a review; its Accept button's value."""
    world.collate.add_authorization(review=False, case_id="CASE-5150")
    await world.poll()
    card = world.only_card()
    accept = next(
        element
        for block in card.blocks
        for element in block.get("elements", [])
        if element.get("action_id") == ActionId.ACCEPT.value
    )
    return card, str(accept["value"])


# Signatures --------------------------------------------------------------------------------------


async def test_a_correctly_signed_click_is_acted_on() -> None:
    """The control for the forgeries below: the same request, signed right, does everything."""
    async with bot_world() as world, raw_slack(world) as slack:
        card, value = await offered_card(world)
        before = await footprint(world)
        payload = click_payload(world, world.people["maria"], card, ActionId.ACCEPT.value, value)
        body = interaction_body(payload)

        answer = await slack.post(body, signed(body, int(time.time()) - FIVE_MINUTES + 60))

        assert answer.status == 200
        await accepted_card(world)
        after = await footprint(world)
        assert after.collate_requests > before.collate_requests
        assert after.redis != before.redis
        assert "chat.update" in after.slack_calls[len(before.slack_calls) :]


def forgeries(body: bytes) -> dict[str, dict[str, str]]:
    now = int(time.time())
    right = signed(body)
    return {
        "no signature headers": {},
        "no signature": {"X-Slack-Request-Timestamp": str(now)},
        "no timestamp": {"X-Slack-Signature": right["X-Slack-Signature"]},
        "signed with another secret": signed(body, secret="not-the-signing-secret-000"),
        "signed over another body": signed(body + b"&extra=1"),
        "older than five minutes": signed(body, now - FIVE_MINUTES - 10),
        "more than five minutes ahead": signed(body, now + FIVE_MINUTES + 10),
        "timestamp changed after signing": {**right, "X-Slack-Request-Timestamp": str(now - 1)},
        "not hex": {**right, "X-Slack-Signature": "v0=" + "z" * 64},
        "another scheme": {**right, "X-Slack-Signature": right["X-Slack-Signature"][1:]},
    }


async def test_forged_or_stale_signatures_get_401_and_nothing_happens() -> None:
    async with bot_world() as world, raw_slack(world) as slack:
        card, value = await offered_card(world)
        click = interaction_body(
            click_payload(world, world.people["maria"], card, ActionId.ACCEPT.value, value)
        )
        event = event_body(world, "Ev0FORGED1")
        before = await footprint(world)

        for kind, body, content_type in (
            ("click", click, "application/x-www-form-urlencoded"),
            ("event", event, "application/json"),
        ):
            for name, headers in forgeries(body).items():
                answer = await slack.post(body, headers, content_type)
                assert answer.status == 401, f"{kind}, {name}: {answer.status} {answer.text}"

        assert await footprint(world) == before, "a forged request changed something"
        assert IDENTITY_CHECK not in {call.method for call in world.slack.calls}
        assert world.collate.handoff_creates(_authorization_id(value)) == 0


async def test_a_timestamp_that_is_not_a_number_is_refused_not_crashed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with bot_world() as world, raw_slack(world) as slack:
        card, value = await offered_card(world)
        body = interaction_body(
            click_payload(world, world.people["maria"], card, ActionId.ACCEPT.value, value)
        )
        before = await footprint(world)
        headers = {
            "X-Slack-Request-Timestamp": "soon",
            "X-Slack-Signature": signature(body, "soon"),
        }

        answer = await slack.post(body, headers)

        assert answer.status == 401
        assert await footprint(world) == before
        assert not [r for r in caplog.records if r.exc_info], "refused, not crashed"


# Workspace pinning -------------------------------------------------------------------------------


def refusals_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "slack.workspace_refused"]


async def test_requests_from_another_workspace_are_refused_without_side_effects(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with bot_world(slack_team_id="T0PINNED") as world, raw_slack(world) as slack:
        card, value = await offered_card(world)
        maria = world.people["maria"]
        before = await footprint(world)

        clicked = await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)
        payload = click_payload(world, maria, card, ActionId.ACCEPT.value, value)
        raw = await slack.post(interaction_body(payload), signed(interaction_body(payload)))
        event = event_body(world, "Ev0FOREIGN1")
        delivered = await slack.post(event, signed(event), "application/json")

        assert [clicked.status, raw.status, delivered.status] == [403, 403, 403]
        assert delivered.headers.get("x-slack-no-retry") == "1"
        after = await footprint(world)
        assert after == before
        assert world.collate.handoff_creates(_authorization_id(value)) == 0

        logged = refusals_logged(caplog)
        assert len(logged) == 3
        assert {(r.__dict__["team"], r.__dict__["enterprise"]) for r in logged} == {
            ("T0SIM", "none")
        }
        everything_logged = "\n".join(str(r.__dict__) for r in caplog.records)
        assert payload["trigger_id"] not in everything_logged, "the body must not be logged"


async def test_the_pinned_workspace_is_served() -> None:
    async with bot_world(slack_team_id="T0SIM") as world:
        card, _ = await offered_card(world)

        answer = await world.people["maria"].click(world.channel, card.ts, ActionId.ACCEPT.value)

        assert answer.status == 200
        await accepted_card(world)


async def test_an_enterprise_pin_refuses_other_organizations_and_none() -> None:
    async with bot_world(slack_team_id="T0SIM", slack_enterprise_id="E0ORG") as world:
        card, value = await offered_card(world)
        maria = world.people["maria"]

        outside_any_org = await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)
        world.slack.workspace.enterprise_id = "E0ELSEWHERE"
        other_org = await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)
        event_elsewhere = await world.slack.send_event(
            {"type": "subteam_members_changed", "subteam_id": "S0NOBODY"}
        )
        assert world.collate.handoff_creates(_authorization_id(value)) == 0

        world.slack.workspace.enterprise_id = "E0ORG"
        our_org = await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)

        assert [outside_any_org.status, other_org.status, event_elsewhere.status] == [403] * 3
        assert our_org.status == 200
        await accepted_card(world)


def _authorization_id(value: str) -> str:
    return ActionRef.decode(value).authorization_id
