"""Whatever arrives, from Slack, from Collate or from a person, the bot refuses it cleanly.

- Button values and ``private_metadata`` the bot did not write, or that point at something
  that is not (or no longer) the clicked card's, are refused privately, logged as refusals, and
  change nothing in Collate or Redis.
- Text from Collate and from people never pings anyone and never becomes a link, however it is
  spelled; long text is cut with a visible "…" and never makes Slack reject a message.
- Bodies that are malformed, truncated, oversized or of an unknown type get a 4xx or a quiet
  200: never a 500, never a traceback, never a listener that crashed halfway.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from blocks import escape, forms
from blocks.ids import ActionId, ActionRef, CallbackId
from handlers import events
from sim.collate import CollateSimulator
from sim.slack import SimCall, SimMessage, SlackPerson, all_text
from tests.harness import BotWorld, bot_world, eventually
from tests.test_accept import notices
from tests.test_end_to_end import (
    accepted_card,
    buttons,
    complete_values,
    dm_with_link,
    submit_complete,
)
from tests.test_signatures import (
    footprint,
    interaction_body,
    raw_slack,
    signed,
)
from tests.vendor import vendor_dir

STALE = "That button is out of date"


def refusals(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.getMessage() == "handoff.refused" and r.__dict__.get("refusal") == name
    ]


def collate_writes(world: BotWorld) -> list[str]:
    return [f"{r.method} {r.path}" for r in world.collate.requests if r.method != "GET"]


async def handoff_state(world: BotWorld) -> list[str]:
    """What Redis holds about cards and claims (not the markers of interactions already seen)."""
    dump = await world.redis_dump()
    return sorted(line for line in dump.splitlines() if ":event:" not in line)


def first_button(message: SimMessage, action_id: ActionId) -> dict[str, Any]:
    return next(b for b in buttons(message) if b["action_id"] == action_id.value)


async def accepted_by(world: BotWorld, person: SlackPerson, case_id: str) -> tuple[str, str]:
    """A handoff ``person`` accepted: its authorization id and handoff id."""
    auth = world.collate.add_authorization(review=False, case_id=case_id)
    await world.poll()
    card = next(c for c in world.cards() if case_id in all_text(c))
    await person.click(world.channel, card.ts, ActionId.ACCEPT.value)
    await eventually(lambda: world.collate.authorization(auth["id"])["activeManualHandoff"])
    handoff_id = str(world.collate.authorization(auth["id"])["activeManualHandoff"]["id"])
    await eventually(
        lambda: any(r.path.endswith(f"{handoff_id}/access-grants") for r in world.collate.requests),
        what=f"the link for {case_id}",
    )
    await eventually(
        lambda: (
            ActionId.COMPLETE.value
            in {b["action_id"] for b in buttons(world.slack.message(world.channel, card.ts))}
        ),
        what=f"the card of {case_id} to show the accepted handoff",
    )
    await settled(world)
    return str(auth["id"]), handoff_id


async def settled(world: BotWorld) -> None:
    """Every piece of work the bot started after an ack has finished."""
    await eventually(lambda: world.runtime.background.running == 0, what="the bot to settle")


# Button values and private_metadata ------------------------------------------------------------

NOT_OURS = (
    "not json at all",
    "{}",
    '{"a": ""}',
    '{"a": "auth_1", "x": "an extra key"}',
    '{"a": ["auth_1"]}',
    json.dumps({"a": "auth_" + "9" * 200}),
    "{" * 2000,
)


async def test_a_button_value_the_bot_did_not_write_is_refused_privately(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with bot_world() as world:
        maria, lee = world.people["maria"], world.people["lee"]
        world.collate.add_authorization(review=False, case_id="CASE-6660")
        await world.poll()
        card = world.only_card()
        state_before = await handoff_state(world)

        for value in NOT_OURS:
            first_button(world.slack.message(world.channel, card.ts), ActionId.ACCEPT)["value"] = (
                value
            )
            await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)

        told = await eventually(
            lambda: len(notices(world, maria)) >= len(NOT_OURS) and notices(world, maria),
            what="maria to be told about every button",
        )
        assert all(STALE in notice for notice in told)
        assert notices(world, lee) == []
        invalid = [r for r in caplog.records if r.getMessage() == "handoff.invalid_button_value"]
        assert len(invalid) == len(NOT_OURS)
        assert len(refusals(caplog, "StaleButton")) == len(NOT_OURS)
        assert collate_writes(world) == []
        assert await handoff_state(world) == state_before
        assert ActionId.ACCEPT.value in {b["action_id"] for b in buttons(world.only_card())}


async def test_ids_that_are_not_ours_or_belong_to_another_card_are_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with bot_world() as world:
        maria = world.people["maria"]
        first_auth, first_handoff = await accepted_by(world, maria, "CASE-6661")
        second_auth, second_handoff = await accepted_by(world, maria, "CASE-6662")
        elsewhere = world.collate.add_authorization(status="processing", case_id="CASE-6663")
        first_card = next(c for c in world.cards() if "CASE-6661" in all_text(c))
        writes_before, state_before = collate_writes(world), await handoff_state(world)
        told_before = len(notices(world, maria))

        tampered = [
            ActionRef(authorization_id=elsewhere["id"], handoff_id=first_handoff),
            ActionRef(authorization_id="auth_nobody_knows", handoff_id=first_handoff),
            ActionRef(authorization_id=first_auth, handoff_id=second_handoff),
            ActionRef(authorization_id=second_auth, handoff_id=first_handoff),
        ]
        for ref in tampered:
            message = world.slack.message(world.channel, first_card.ts)
            first_button(message, ActionId.COMPLETE)["value"] = ref.encode()
            await maria.click(world.channel, first_card.ts, ActionId.COMPLETE.value)

        await eventually(
            lambda: len(notices(world, maria)) >= told_before + len(tampered),
            what="maria to be told about every tampered button",
        )
        assert all(STALE in notice for notice in notices(world, maria)[told_before:])
        assert len(refusals(caplog, "StaleButton")) == len(tampered)
        assert world.slack.views(maria.id) == [], "no modal opens for ids that do not match"
        assert collate_writes(world) == writes_before
        assert await handoff_state(world) == state_before


async def test_private_metadata_for_another_card_is_refused_privately(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with bot_world() as world:
        maria = world.people["maria"]
        first_auth, _ = await accepted_by(world, maria, "CASE-6664")
        _, second_handoff = await accepted_by(world, maria, "CASE-6665")
        card = next(c for c in world.cards() if "CASE-6664" in all_text(c))
        writes_before = collate_writes(world)
        told_before = len(notices(world, maria))

        await maria.click(world.channel, card.ts, ActionId.COMPLETE.value)
        modal = (await eventually(lambda: world.slack.views(maria.id)))[-1]
        mixed = ActionRef(authorization_id=first_auth, handoff_id=second_handoff)
        modal.view["private_metadata"] = mixed.encode()
        answer = await maria.submit_view(modal.id, complete_values())

        assert answer.ok
        told = await eventually(
            lambda: notices(world, maria)[told_before:], what="maria to be told privately"
        )
        assert STALE in told[0]
        assert refusals(caplog, "StaleButton")
        assert collate_writes(world) == writes_before, "nothing was closed"


async def test_private_metadata_the_bot_did_not_write_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with bot_world() as world:
        maria = world.people["maria"]
        auth_id, _ = await accepted_by(world, maria, "CASE-6666")
        card = world.only_card()
        writes_before, state_before = collate_writes(world), await handoff_state(world)

        for metadata in ("", "garbage", '{"a": 1}', '{"h": "mhand_1"}', "{" * 3000):
            await maria.click(world.channel, card.ts, ActionId.COMPLETE.value)
            modal = (await eventually(lambda: world.slack.views(maria.id)))[-1]
            assert modal.view["callback_id"] == CallbackId.COMPLETE.value
            modal.view["private_metadata"] = metadata
            answer = await maria.submit_view(modal.id, complete_values())
            assert answer.ok
            assert answer.view_outcome == "closed"

        logged = [r for r in caplog.records if r.getMessage() == "handoff.invalid_private_metadata"]
        assert len(logged) == 5
        assert collate_writes(world) == writes_before
        assert world.collate.closes(auth_id) == 0
        assert await handoff_state(world) == state_before


async def test_private_metadata_the_bot_did_not_write_is_refused_privately() -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        await accepted_by(world, maria, "CASE-6667")
        card = world.only_card()
        told_before = len(notices(world, maria))

        await maria.click(world.channel, card.ts, ActionId.COMPLETE.value)
        modal = (await eventually(lambda: world.slack.views(maria.id)))[-1]
        modal.view["private_metadata"] = "garbage"
        await maria.submit_view(modal.id, complete_values())

        def told_privately() -> list[str]:
            direct = [m.text for m in world.dm_messages(maria) if STALE in m.text]
            return notices(world, maria)[told_before:] + direct

        told = await eventually(told_privately, within=2.0, what="a private notice")
        assert STALE in told[0]
        assert all(STALE not in m.text for m in world.cards()), "never in the channel"


# Text from Collate and from people -------------------------------------------------------------

HOSTILE = "<!channel> @here @Everyone <@U0ADMIN1> <#C0GENERAL> <https://evil.example/x|click me>"
HOSTILE_CASE = "<!here>CASE-1 <https://evil.example|x>"
HOSTILE_REFERENCE = "<!channel>@here<https://evil.example|r>"


class RewritingCollate(httpx.AsyncBaseTransport):
    """Collate as it might answer: its free-text fields replaced by ``rewrite``."""

    def __init__(self, rewrite: Callable[[dict[str, Any]], None]) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._rewrite = rewrite

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        try:
            payload = json.loads(content)
        except ValueError:
            return httpx.Response(response.status_code, headers=_kept(response), content=content)
        for node in _objects(payload):
            self._rewrite(node)
        body = json.dumps(payload).encode()
        return httpx.Response(response.status_code, headers=_kept(response), content=body)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _kept(response: httpx.Response) -> list[tuple[str, str]]:
    dropped = {"content-length", "content-encoding", "transfer-encoding"}
    return [(k, v) for k, v in response.headers.items() if k.lower() not in dropped]


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for child in node.values():
            yield from _objects(child)
    elif isinstance(node, list):
        for child in node:
            yield from _objects(child)


def collate_saying(
    payer_name: str, message: str, reference: str | None = None
) -> Callable[[CollateSimulator], httpx.AsyncBaseTransport]:
    def rewrite(node: dict[str, Any]) -> None:
        if isinstance(node.get("payer"), dict):
            node["payer"]["displayName"] = payer_name
        if "finalSubmitCapable" in node:
            node["message"] = message
        if reference is not None and isinstance(node.get("payerReceipt"), dict):
            node["payerReceipt"]["referenceNumber"] = reference

    return lambda _: RewritingCollate(rewrite)


def sent_messages(world: BotWorld) -> list[SimCall]:
    methods = {"chat.postMessage", "chat.update", "chat.postEphemeral", "views.open"}
    return [call for call in world.slack.calls if call.method in methods and call.ok]


_TOKEN = re.compile(r"<([^>]*)>")
_PERMALINK = re.compile(r"https://[a-z0-9-]+\.slack\.com/archives/[A-Z0-9]+/p\d+\|[^|]*")
"""The bot's own links: to a card, by its Slack permalink."""


def assert_nothing_pings_or_links(world: BotWorld, calls: list[SimCall]) -> None:
    people = {person.id for person in world.people.values()}
    for call in calls:
        shown = _texts(call.args)
        for text in shown:
            for token in _TOKEN.findall(text):
                ours = token.startswith(("@", "!date^")) or _PERMALINK.fullmatch(token)
                assert ours, f"{call.method}: <{token}> in {text!r}"
                if token.startswith("@"):
                    assert token[1:] in people, f"{call.method}: a mention of {token}"
            lowered = text.lower()
            for broadcast in ("@here", "@channel", "@everyone"):
                assert broadcast not in lowered, f"{call.method}: {broadcast} in {text!r}"
        for node in _objects(call.args):
            if node.get("type") == "mrkdwn":
                assert node.get("verbatim") is True, f"{call.method}: mrkdwn not verbatim"


def _texts(args: dict[str, Any]) -> list[str]:
    """Every string Slack parses for mentions and links: a message's top-level ``text`` and
    every ``mrkdwn`` object (``plain_text`` is shown as it is, never parsed)."""
    parsed = [str(args["text"])] if isinstance(args.get("text"), str) else []
    return parsed + [str(node["text"]) for node in _objects(args) if node.get("type") == "mrkdwn"]


async def test_hostile_text_from_collate_and_people_never_pings_or_links() -> None:
    transport = collate_saying(HOSTILE, HOSTILE, reference=HOSTILE_REFERENCE)
    async with bot_world(collate_transport=transport) as world:
        maria = world.people["maria"]
        summary = {
            "channel": HOSTILE,
            "service": {"code": "<https://evil.example|72148>", "label": "@channel MRI"},
            "documents": 2,
            "patient": {"name": "<@U0ADMIN1>"},
        }
        auth = world.collate.add_authorization(
            review=True,
            metadata={"externalCaseId": HOSTILE_CASE, "note": HOSTILE},
            summary=summary,
            warnings=[{"code": "w1", "message": HOSTILE}, {"code": "<!here>", "message": "ok"}],
        )
        world.collate.set_reconcile_result("waiting_on_payer", auth["id"])
        await world.poll()
        card = world.only_card()

        await maria.click(world.channel, card.ts, ActionId.REVIEW.value)
        review = await eventually(lambda: world.dm_messages(maria), what="the review DM")
        await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)
        card = await accepted_card(world)
        await dm_with_link(world, maria)
        await maria.click(world.channel, card.ts, ActionId.COMPLETE.value)
        modal = (await eventually(lambda: world.slack.views(maria.id)))[-1]
        typed = await maria.submit_view(modal.id, complete_values(reference=HOSTILE_REFERENCE))
        assert typed.view_outcome == "errors", "a person's reference is checked in the modal"
        assert set(typed.errors) == {forms.COMPLETE_REFERENCE_BLOCK}
        retyped = await maria.submit_view(modal.id, complete_values(reference="ABC-123"))
        assert retyped.view_outcome == "closed"
        await eventually(lambda: world.collate.closes(auth["id"]) == 1, what="the close")
        world.collate.advance(1.0)
        await eventually(
            lambda: world.collate.authorization(auth["id"])["status"] == "waiting_on_payer"
        )
        await world.poll()

        calls = sent_messages(world)
        assert_nothing_pings_or_links(world, calls)
        everything = "\n".join(text for call in calls for text in _texts(call.args))
        assert "&lt;!channel&gt;" in everything, "the hostile text is shown, escaped"
        assert f"@{escape.WORD_JOINER}here" in everything
        assert "&lt;https://evil.example|72148&gt;" in all_text(review[0])
        assert "Payer ref &lt;!channel&gt;@" in all_text(world.only_card()), "Collate's, escaped"
        assert all(call.ok for call in world.slack.calls if call.method.startswith("chat."))


async def test_the_supervisors_feed_never_pings_or_links_either() -> None:
    overrides: dict[str, Any] = {"supervisor_channel": "{supervisors}"}
    async with bot_world(
        channels=("supervisors",), collate_transport=collate_saying(HOSTILE, HOSTILE), **overrides
    ) as world:
        world.collate.add_authorization(review=False, metadata={"externalCaseId": HOSTILE_CASE})
        await world.poll()
        await world.people["maria"].click(
            world.channel, world.only_card().ts, ActionId.ACCEPT.value
        )
        await accepted_card(world)
        await settled(world)

        floor = world.ids["supervisors"]
        posts = [c for c in sent_messages(world) if c.args.get("channel") == floor]
        assert len(posts) >= 2, "the offer and the acceptance reach the supervisors"
        assert_nothing_pings_or_links(world, posts)


async def test_overlong_text_is_cut_with_a_visible_ellipsis_never_rejected() -> None:
    transport = collate_saying("P" * 5000, "M" * 10_000, reference="R" * 5000)
    async with bot_world(collate_transport=transport) as world:
        maria = world.people["maria"]
        auth = world.collate.add_authorization(
            review=True,
            case_id="C" * 3000,
            summary={"channel": "V" * 10_000, "service": {"code": "&" * 5000}},
            warnings=[{"code": "long", "message": "W" * 10_000}] * 3,
        )
        world.collate.set_reconcile_result("waiting_on_payer", auth["id"])
        await world.poll()
        offered = world.only_card()
        shown = all_text(offered)
        header = offered.blocks[0]["text"]["text"]
        await maria.click(world.channel, offered.ts, ActionId.ACCEPT.value)
        card = await accepted_card(world)
        dm = all_text(await dm_with_link(world, maria))
        await submit_complete(world, maria, card, reference="X" * 64)
        world.collate.advance(1.0)
        await eventually(
            lambda: world.collate.authorization(auth["id"])["status"] == "waiting_on_payer"
        )
        await world.poll()

        failed = [c for c in world.slack.calls if not c.ok and c.method != "auth.test"]
        assert failed == [], [(c.method, c.error) for c in failed]
        assert "P" * 10 + escape.ELLIPSIS in shown
        assert "W" * 10 + escape.ELLIPSIS in shown
        assert "V" * 10 + escape.ELLIPSIS in shown
        assert "&amp;" * 3 in shown
        assert "&amp;" * 3000 not in shown
        assert "M" * 10 + escape.ELLIPSIS in dm
        assert "R" * 10 + escape.ELLIPSIS in all_text(world.only_card())
        assert len(header) <= 150
        assert header.endswith(escape.ELLIPSIS)


# Bodies that are not what Slack sends ----------------------------------------------------------


def interaction(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": "T0SIM"},
        "user": {"id": "U0NOBODY", "team_id": "T0SIM"},
        "trigger_id": "1.2",
        "actions": [{"action_id": ActionId.ACCEPT.value, "value": "{}"}],
    }
    base.update(fields)
    return base


def submission(**view: Any) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "type": "modal",
        "callback_id": CallbackId.COMPLETE.value,
        "private_metadata": "{}",
        "state": {"values": {}},
    }
    shape.update(view)
    return {
        "type": "view_submission",
        "team": {"id": "T0SIM"},
        "user": {"id": "U0X"},
        "view": shape,
    }


MALFORMED_PAYLOADS: dict[str, dict[str, Any]] = {
    "user is text": interaction(user="U0NOBODY"),
    "no actions": interaction(actions=[]),
    "an action that is text": interaction(actions=["handoff.accept"]),
    "an action id that is a number": interaction(actions=[{"action_id": 7}]),
    "a button value that is an object": interaction(
        actions=[{"action_id": ActionId.ACCEPT.value, "value": {"a": "auth_1"}}]
    ),
    "channel is text": interaction(channel="C0HANDOFFS"),
    "type is a list": interaction(type=["block_actions"]),
    "view is text": {"type": "view_submission", "user": {"id": "U0X"}, "view": "modal"},
    "a view without its type": submission(type=None),
    "private_metadata that is a number": submission(private_metadata=5),
    "state values that are text": submission(state={"values": "all of them"}),
    "an event without its type": {"type": "event_callback", "event": {"subteam_id": "S1"}},
}


def assert_clean(answer: Any, name: str) -> None:
    quiet = answer.status == 200 and not answer.text.strip()
    assert 400 <= answer.status < 500 or quiet, f"{name}: {answer.status} {answer.text[:200]}"
    assert "Traceback" not in answer.text


def crashes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR
    ]


async def test_signed_payloads_of_the_wrong_shape_are_refused_not_crashed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with bot_world() as world, raw_slack(world) as slack:
        world.collate.add_authorization(review=False, case_id="CASE-6670")
        await world.poll()
        before = await footprint(world)

        for name, payload in MALFORMED_PAYLOADS.items():
            body = interaction_body(payload)
            answer = await slack.post(body, signed(body))
            assert_clean(answer, name)
            assert answer.status == 400, name

        assert crashes(caplog) == []
        assert await footprint(world) == before
        refused = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refused) == len(MALFORMED_PAYLOADS)
        assert all(r.__dict__.get("error") for r in refused), "each says what was wrong"


def test_every_real_slack_payload_passes_the_shape_check() -> None:
    """The check refuses only what Slack never sends: every vendored payload (real ones, and
    Slack's field inventories with every field ever seen) passes it."""
    folders = ("bolt-python", "python-slack-sdk/socket_mode", "java-slack-sdk/app-backend")
    paths = [
        path
        for folder in (*folders, "java-slack-sdk/events")
        for path in sorted((vendor_dir() / folder).rglob("*.json"))
    ]
    checked = 0
    for path in paths:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(payload.get("payload"), dict) and "envelope_id" in payload:
            payload = payload["payload"]
        assert events.payload_problem(payload) is None, path.name
        checked += 1
    assert checked >= 20


UNREADABLE_BODIES: dict[str, tuple[bytes, str]] = {
    "JSON cut off halfway": (b'{"type": "event_callback", "event": {"ty', "application/json"),
    "a JSON array": (b'[{"type": "block_actions"}]', "application/json"),
    "payload= that is not JSON": (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
    "payload= that is a JSON string": (b"payload=%22hi%22", "application/x-www-form-urlencoded"),
    "not UTF-8": (b'{"type": "\xff\xfe"}', "application/json"),
    "an event that is text": (
        b'{"type": "event_callback", "event": "type"}',
        "application/json",
    ),
    "authorizations that are text": (
        b'{"type": "event_callback", "authorizations": "T0SIM", "event": {"type": "x"}}',
        "application/json",
    ),
}


async def test_unreadable_bodies_are_refused_before_bolt_parses_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with bot_world() as world, raw_slack(world) as slack:
        before = await footprint(world)

        for name, (body, content_type) in UNREADABLE_BODIES.items():
            answer = await slack.post(body, signed(body), content_type)
            assert_clean(answer, name)

        assert crashes(caplog) == []
        assert await footprint(world) == before


async def test_a_body_of_a_megabyte_is_refused_unread() -> None:
    async with bot_world() as world, raw_slack(world) as slack:
        before = await footprint(world)
        value = "x" * (1024 * 1024)
        payload = interaction(actions=[{"action_id": ActionId.ACCEPT.value, "value": value}])
        body = interaction_body(payload)

        answer = await slack.post(body, signed(body))

        assert answer.status == 413
        assert await footprint(world) == before


async def test_payloads_of_a_type_the_bot_does_not_handle_get_a_clean_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with bot_world() as world, raw_slack(world) as slack:
        before = await footprint(world)
        unknown: dict[str, dict[str, Any]] = {
            "a global shortcut": {"type": "shortcut", "callback_id": "x", "user": {"id": "U0X"}},
            "a made-up type": {"type": "telepathy", "user": {"id": "U0X"}},
            "no type at all": {"user": {"id": "U0X"}},
            "an event nobody subscribed to": {
                "type": "event_callback",
                "event_id": "Ev0UNKNOWN",
                "event": {"type": "app_mention", "text": "<!channel>"},
            },
        }

        for name, payload in unknown.items():
            body = interaction_body(payload)
            answer = await slack.post(body, signed(body))
            assert_clean(answer, name)

        assert crashes(caplog) == []
        after = await footprint(world)
        assert (after.slack_calls, after.collate_requests) == (
            before.slack_calls,
            before.collate_requests,
        )
