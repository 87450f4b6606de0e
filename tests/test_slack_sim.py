"""The Slack simulator behaves like Slack for the bot (Web API) and for its users (interactions).

Contracts are checked against the vendored Slack data in ``../shared/vendor`` (read in place).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sim.slack import AppResponse, SimView, SlackPerson, SlackSimulator, all_text
from sim.slack.contract import COMMON_ERRORS, CONTRACTS
from sim.slack.payloads import event_callback, socket_envelope, socket_hello
from sim.slack.webapi import METHODS
from tests.vendor import load_json, vendor_dir

SECRET = "sim-signing-secret"


# -- building blocks the tests share -------------------------------------------------------


def option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value.title()}, "value": value}


def card_blocks(reference: str = "AUTH-1") -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": f"Prior auth {reference}"}},
        {
            "type": "section",
            "block_id": "summary",
            "text": {"type": "mrkdwn", "text": "*Payer:* Acme Health"},
            "fields": [{"type": "mrkdwn", "text": "*Due:* today"}],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Offered 2 min ago"}]},
        {
            "type": "actions",
            "block_id": "card_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "handoff.accept",
                    "text": {"type": "plain_text", "text": "Accept"},
                    "value": reference,
                    "style": "primary",
                },
                {
                    "type": "button",
                    "action_id": "handoff.open_link",
                    "text": {"type": "plain_text", "text": "Open case"},
                    "url": "https://collate.example/cases/1",
                },
                {
                    "type": "overflow",
                    "action_id": "handoff.more",
                    "options": [option("unable"), option("revoke")],
                },
                {
                    "type": "static_select",
                    "action_id": "handoff.reassign",
                    "placeholder": {"type": "plain_text", "text": "Reassign"},
                    "options": [option("team-a"), option("team-b")],
                },
            ],
        },
    ]


COMPLETE_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "complete_modal",
    "private_metadata": '{"a":"AUTH-1"}',
    "notify_on_close": True,
    "title": {"type": "plain_text", "text": "Complete handoff"},
    "submit": {"type": "plain_text", "text": "Complete"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [
        {
            "type": "input",
            "block_id": "note",
            "label": {"type": "plain_text", "text": "What happened?"},
            "element": {"type": "plain_text_input", "action_id": "note_input", "max_length": 200},
        },
        {
            "type": "input",
            "block_id": "outcome",
            "label": {"type": "plain_text", "text": "Outcome"},
            "element": {
                "type": "static_select",
                "action_id": "outcome_select",
                "options": [option("approved"), option("denied")],
            },
        },
        {
            "type": "input",
            "block_id": "notify",
            "optional": True,
            "label": {"type": "plain_text", "text": "Tell the requester by"},
            "element": {
                "type": "radio_buttons",
                "action_id": "notify_choice",
                "options": [option("dm"), option("thread")],
            },
        },
    ],
}

FILLED_IN = {
    "note": {"note_input": "Faxed the forms"},
    "outcome": {"outcome_select": "approved"},
    "notify": {"notify_choice": "dm"},
}


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"


async def until(condition: Callable[[], bool], within: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the condition did not become true in time")
        await asyncio.sleep(0.01)


def slack_error(raised: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(raised.value.response["error"])


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        if self.headers.get("Content-Type", "").startswith("application/json"):
            parsed: dict[str, Any] = json.loads(self.body)
            return parsed
        form = parse_qs(self.body.decode())
        from_form: dict[str, Any] = json.loads(form["payload"][0])
        return from_form


@dataclass
class RecordingApp:
    """A stand-in bot endpoint: records each signed request and answers what a test sets."""

    received: list[Received] = field(default_factory=list)
    answer: Callable[[Received], web.Response] = lambda _: web.Response(status=200)
    delay: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        received = Received(dict(request.headers), await request.read())
        self.received.append(received)
        await asyncio.sleep(self.delay)
        return self.answer(received)


@dataclass
class CareTeam:
    slack: SlackSimulator
    client: AsyncWebClient
    nurse: SlackPerson
    lead: SlackPerson
    channel: str


@pytest.fixture
async def slack() -> AsyncIterator[SlackSimulator]:
    simulator = SlackSimulator(signing_secret=SECRET)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def team(slack: SlackSimulator) -> CareTeam:
    nurse = slack.add_user("nurse.kim")
    lead = slack.add_user("lead.ray")
    channel = slack.add_channel("pa-handoffs", members=[nurse.id, lead.id])
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    return CareTeam(slack, client, nurse, lead, channel)


@pytest.fixture
async def recorder(slack: SlackSimulator) -> AsyncIterator[RecordingApp]:
    recording = RecordingApp()
    app = web.Application()
    app.router.add_post("/slack/events", recording.handle)
    runner, url = await serve(app)
    slack.set_request_url(url)
    yield recording
    await runner.cleanup()


async def post_card(team: CareTeam, channel: str | None = None) -> str:
    response = await team.client.chat_postMessage(
        channel=channel or team.channel, text="Handoff offered for AUTH-1", blocks=card_blocks()
    )
    return str(response["ts"])


async def open_modal(team: CareTeam, recorder: RecordingApp, modal: dict[str, Any]) -> SimView:
    ts = await post_card(team)
    clicked = await team.nurse.click(team.channel, ts, "handoff.accept")
    await team.client.views_open(trigger_id=clicked.trigger_id, view=modal)
    return team.slack.views(team.nurse.id)[-1]


# -- the Web API contract, from the vendored method references ------------------------------


def test_every_served_method_has_a_contract_taken_from_the_vendored_reference() -> None:
    assert set(METHODS) == set(CONTRACTS)
    for method, contract in CONTRACTS.items():
        reference = load_json(f"slack-api-ref/methods/{method}.json")
        documented_required = set(reference["args"].get("required") or []) - {"token"}
        assert contract.required == documented_required, method
        assert contract.errors <= set(reference["errors"]) | COMMON_ERRORS, method


async def test_answers_keep_to_the_documented_output_and_known_field_inventory(
    team: CareTeam,
) -> None:
    ts = await post_card(team)
    await team.client.chat_update(channel=team.channel, ts=ts, text="Accepted")
    await team.client.chat_postEphemeral(
        channel=team.channel, user=team.nurse.id, text="Sent you a DM"
    )
    await team.client.chat_getPermalink(channel=team.channel, message_ts=ts)
    await team.client.conversations_open(users=[team.nurse.id])
    await team.client.conversations_info(channel=team.channel)
    await team.client.users_info(user=team.nurse.id)
    await team.client.usergroups_users_list(usergroup=team.slack.add_usergroup("pa-leads", []))
    await team.client.auth_test()
    await team.client.chat_delete(channel=team.channel, ts=ts)

    for call in team.slack.calls:
        reference = load_json(f"slack-api-ref/methods/{call.method}.json")
        inventory = load_json(f"java-slack-sdk/api/{call.method}.json")
        assert set(reference["output"].get("required", [])) <= set(call.response), call.method
        assert set(call.response) <= set(inventory), call.method
        for key, value in call.response.items():
            if isinstance(value, dict) and isinstance(inventory.get(key), dict):
                assert set(value) <= set(inventory[key]), (call.method, key)


# -- auth ---------------------------------------------------------------------------------


async def test_auth_test_answers_as_the_bot_and_rejects_bad_or_missing_tokens(
    slack: SlackSimulator,
) -> None:
    answer = await AsyncWebClient(token=slack.bot_token, base_url=slack.api_url).auth_test()
    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == (
        slack.bot_user_id,
        slack.bot_id,
        "T0SIM",
    )

    with pytest.raises(SlackApiError) as wrong:
        await AsyncWebClient(token="xoxb-stolen", base_url=slack.api_url).auth_test()
    with pytest.raises(SlackApiError) as missing:
        await AsyncWebClient(base_url=slack.api_url).auth_test()
    assert slack_error(wrong) == "invalid_auth"
    assert slack_error(missing) == "not_authed"


async def test_app_level_token_is_required_for_socket_mode_and_refused_elsewhere(
    slack: SlackSimulator,
) -> None:
    bot = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    with pytest.raises(SlackApiError) as with_bot_token:
        await bot.apps_connections_open(app_token=slack.bot_token)
    opened = await bot.apps_connections_open(app_token=slack.app_token)
    with pytest.raises(SlackApiError) as app_token_elsewhere:
        await AsyncWebClient(token=slack.app_token, base_url=slack.api_url).auth_test()

    assert slack_error(with_bot_token) == "not_allowed_token_type"
    assert str(opened["url"]).startswith(slack.api_url.replace("http://", "ws://")[:-4])
    assert slack_error(app_token_elsewhere) == "not_allowed_token_type"


# -- messages -----------------------------------------------------------------------------


async def test_posting_records_the_message_as_people_see_it(team: CareTeam) -> None:
    response = await team.client.chat_postMessage(
        channel=team.channel,
        text="Handoff offered for AUTH-1",
        blocks=card_blocks(),
        unfurl_links=False,
        unfurl_media=False,
    )

    [message] = team.slack.messages(team.channel)
    assert (response["channel"], response["ts"]) == (team.channel, message.ts)
    assert response["message"]["bot_id"] == team.slack.bot_id
    assert message.user == team.slack.bot_user_id
    assert (message.unfurl_links, message.unfurl_media) == (False, False)
    assert all(block.get("block_id") for block in message.blocks)
    assert all_text(message).splitlines() == [
        "Prior auth AUTH-1",
        "*Payer:* Acme Health",
        "*Due:* today",
        "Offered 2 min ago",
        "Accept",
        "Open case",
        "Reassign",
    ]


async def test_form_encoded_calls_with_json_string_blocks_are_understood(team: CareTeam) -> None:
    await team.client.api_call(
        "chat.postMessage",
        data={"channel": team.channel, "text": "x", "blocks": json.dumps(card_blocks())},
    )

    [call] = team.slack.calls_to("chat.postMessage")
    assert isinstance(call.args["blocks"], list)
    assert "Accept" in all_text(team.slack.messages(team.channel)[0])


async def test_message_ts_is_unique_and_increasing_per_channel(team: CareTeam) -> None:
    stamps = [
        (await team.client.chat_postMessage(channel=team.channel, text=f"n{n}"))["ts"]
        for n in range(5)
    ]
    assert len(set(stamps)) == 5
    assert stamps == sorted(stamps, key=float)


async def test_thread_replies_stay_out_of_the_channel_and_join_the_parent_thread(
    team: CareTeam,
) -> None:
    parent = await post_card(team)
    first = await team.client.chat_postMessage(channel=team.channel, thread_ts=parent, text="Taken")
    await team.client.chat_postMessage(channel=team.channel, thread_ts=first["ts"], text="Done")

    assert [m.ts for m in team.slack.messages(team.channel)] == [parent]
    assert [m.text for m in team.slack.replies(team.channel, parent)] == ["Taken", "Done"]


async def test_posting_where_the_bot_cannot_is_refused_like_slack(team: CareTeam) -> None:
    outside = team.slack.add_channel("general", members=[team.nurse.id], bot_member=False)
    hidden = team.slack.add_channel("leads", bot_member=False, is_private=True)

    for channel, expected in [
        ("C0NOPE", "channel_not_found"),
        (outside, "not_in_channel"),
        (hidden, "channel_not_found"),
    ]:
        with pytest.raises(SlackApiError) as raised:
            await team.client.chat_postMessage(channel=channel, text="hello")
        assert slack_error(raised) == expected


async def test_message_content_is_checked_like_slack_does(team: CareTeam) -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"text": ""}, "no_text"),
        ({"blocks": [section] * 51}, "invalid_blocks"),
        ({"blocks": ["not a block"]}, "invalid_blocks"),
        ({"blocks": '{"type": "section"}'}, "invalid_blocks_format"),
        (
            {"blocks": [{**section, "block_id": "a"}, {**section, "block_id": "a"}]},
            "invalid_blocks",
        ),
    ]
    for content, expected in cases:
        with pytest.raises(SlackApiError) as raised:
            await team.client.api_call(
                "chat.postMessage", json={"channel": team.channel, **content}
            )
        assert slack_error(raised) == expected, content
    assert team.slack.messages(team.channel) == []


async def test_update_keeps_omitted_blocks_and_remembers_each_edit(team: CareTeam) -> None:
    ts = await post_card(team)

    await team.client.chat_update(channel=team.channel, ts=ts, text="Accepted by nurse.kim")
    kept = team.slack.message(team.channel, ts)
    assert kept.text == "Accepted by nurse.kim"
    assert "Accept" in all_text(kept)
    await team.client.chat_update(channel=team.channel, ts=ts, text="Closed", blocks=[])

    message = team.slack.message(team.channel, ts)
    assert message.blocks == []
    assert [text for text, _ in message.edits] == [
        "Handoff offered for AUTH-1",
        "Accepted by nurse.kim",
    ]


async def test_update_only_touches_the_bots_own_live_messages(team: CareTeam) -> None:
    said = team.nurse.post_message(team.channel, "can someone take AUTH-1?")
    ts = await post_card(team)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": team.channel, "ts": said.ts, "text": "x"}, "cant_update_message"),
        ({"channel": team.channel, "ts": "1.000001", "text": "x"}, "message_not_found"),
        ({"channel": team.nurse.id, "ts": ts, "text": "x"}, "channel_not_found"),
    ]
    for args, expected in cases:
        with pytest.raises(SlackApiError) as raised:
            await team.client.chat_update(**args)
        assert slack_error(raised) == expected


async def test_deleted_messages_disappear_and_can_no_longer_be_edited(team: CareTeam) -> None:
    ts = await post_card(team)
    await team.client.chat_delete(channel=team.channel, ts=ts)

    assert team.slack.messages(team.channel) == []
    assert team.slack.message(team.channel, ts).deleted
    with pytest.raises(SlackApiError) as raised:
        await team.client.chat_update(channel=team.channel, ts=ts, text="x")
    assert slack_error(raised) == "message_not_found"


async def test_a_dm_has_one_stable_id_whether_opened_or_posted_to_by_user_id(
    team: CareTeam,
) -> None:
    opened = await team.client.conversations_open(users=[team.nurse.id])
    again = await team.client.conversations_open(users=team.nurse.id)
    posted = await team.client.chat_postMessage(channel=team.nurse.id, text="Your link")

    dm = team.slack.dm_channel_id(team.nurse.id)
    assert dm is not None
    assert dm.startswith("D")
    assert opened["channel"]["id"] == again["channel"]["id"] == posted["channel"] == dm
    assert again["already_open"] is True
    assert [m.text for m in team.slack.messages(dm)] == ["Your link"]
    info = await team.client.conversations_info(channel=dm)
    assert (info["channel"]["is_im"], info["channel"]["user"]) == (True, team.nurse.id)


async def test_ephemerals_reach_only_channel_members(team: CareTeam) -> None:
    outsider = team.slack.add_user("visitor")
    await team.client.chat_postEphemeral(
        channel=team.channel, user=team.nurse.id, text="Sent you a DM"
    )
    with pytest.raises(SlackApiError) as raised:
        await team.client.chat_postEphemeral(channel=team.channel, user=outsider.id, text="x")

    assert slack_error(raised) == "user_not_in_channel"
    assert [e.text for e in team.slack.ephemerals(team.channel, user=team.nurse.id)] == [
        "Sent you a DM"
    ]
    assert team.slack.ephemerals(user=team.lead.id) == []


async def test_permalinks_point_at_the_message_and_its_thread(team: CareTeam) -> None:
    parent = await post_card(team)
    reply = await team.client.chat_postMessage(channel=team.channel, thread_ts=parent, text="r")

    top = await team.client.chat_getPermalink(channel=team.channel, message_ts=parent)
    threaded = await team.client.chat_getPermalink(channel=team.channel, message_ts=reply["ts"])
    assert str(top["permalink"]).endswith(f"/archives/{team.channel}/p{parent.replace('.', '')}")
    assert f"thread_ts={parent}" in str(threaded["permalink"])


async def test_people_and_user_groups_can_be_looked_up(team: CareTeam) -> None:
    group = team.slack.add_usergroup("pa-leads", [team.lead.id])
    before = await team.client.usergroups_users_list(usergroup=group)
    team.slack.set_usergroup_users(group, [team.lead.id, team.nurse.id])
    after = await team.client.usergroups_users_list(usergroup=group)
    user = await team.client.users_info(user=team.nurse.id)

    assert before["users"] == [team.lead.id]
    assert after["users"] == [team.lead.id, team.nurse.id]
    assert user["user"]["name"] == "nurse.kim"
    for call, expected in [
        (team.client.usergroups_users_list(usergroup="S0NOPE"), "no_such_subteam"),
        (team.client.users_info(user="U0NOPE"), "user_not_found"),
    ]:
        with pytest.raises(SlackApiError) as raised:
            await call
        assert slack_error(raised) == expected


# -- faults and rate limits ---------------------------------------------------------------


async def test_rate_limit_answers_429_with_retry_after_per_channel(team: CareTeam) -> None:
    other = team.slack.add_channel("pa-overflow")
    team.slack.rate_limit("chat.postMessage", per_channel_per_second=1.0)

    await team.client.chat_postMessage(channel=team.channel, text="one")
    with pytest.raises(SlackApiError) as raised:
        await team.client.chat_postMessage(channel=team.channel, text="two")
    await team.client.chat_postMessage(channel=other, text="elsewhere")
    team.slack.advance_time(1.0)
    await team.client.chat_postMessage(channel=team.channel, text="three")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    assert slack_error(raised) == "ratelimited"
    assert [m.text for m in team.slack.messages(team.channel)] == ["one", "three"]


async def test_fail_next_429_is_retried_by_slack_sdks_rate_limit_handler(team: CareTeam) -> None:
    client = AsyncWebClient(
        token=team.slack.bot_token,
        base_url=team.slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    team.slack.fail_next("chat.postMessage", status=429, retry_after=0)

    await client.chat_postMessage(channel=team.channel, text="after a retry")

    assert [(c.status, c.error) for c in team.slack.calls_to("chat.postMessage")] == [
        (429, "ratelimited"),
        (200, None),
    ]
    assert len(team.slack.messages(team.channel)) == 1


async def test_fail_next_fails_exactly_count_calls_with_the_given_error(team: CareTeam) -> None:
    ts = await post_card(team)
    team.slack.fail_next("chat.update", "internal_error", status=500, count=2)

    errors: list[tuple[int, str] | None] = []
    for _ in range(3):
        try:
            await team.client.chat_update(channel=team.channel, ts=ts, text="Accepted")
            errors.append(None)
        except SlackApiError as error:
            errors.append((error.response.status_code, error.response["error"]))

    assert errors == [(500, "internal_error"), (500, "internal_error"), None]
    assert team.slack.message(team.channel, ts).text == "Accepted"


async def test_an_installed_block_checker_rejects_what_the_block_kit_schema_rejects(
    team: CareTeam,
) -> None:
    schema = load_json("tightknit-block-kit-schema/slack-block-kit.schema.json")
    validator = Draft202012Validator(schema)
    team.slack.set_block_checker(
        lambda surface, payload: [e.message for e in validator.iter_errors(payload["blocks"])]
    )
    too_long = card_blocks()
    too_long[3]["elements"][0]["text"]["text"] = "A" * 76

    await post_card(team)
    with pytest.raises(SlackApiError) as raised:
        await team.client.chat_postMessage(channel=team.channel, text="x", blocks=too_long)
    assert slack_error(raised) == "invalid_blocks"


# -- people acting: signed requests, payload shapes ---------------------------------------


def test_signatures_reproduce_the_vendored_test_vector() -> None:
    vector = load_json("python-slack-sdk/signature/signature_test_vector.json")
    simulator = SlackSimulator(signing_secret=vector["signing_secret"])
    person = simulator.add_user("anyone")

    headers = person.sign_headers(vector["body"].encode(), timestamp=vector["timestamp"])

    assert headers["X-Slack-Signature"] == vector["expected_signature"]
    assert headers["X-Slack-Request-Timestamp"] == vector["timestamp"]


async def test_a_click_is_a_signed_form_post_shaped_like_real_block_actions(
    team: CareTeam, recorder: RecordingApp
) -> None:
    ts = await post_card(team)

    answer = await team.nurse.click(team.channel, ts, "handoff.accept")

    [request] = recorder.received
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.body.startswith(b"payload=")
    assert SignatureVerifier(SECRET).is_valid_request(request.body, request.headers)
    payload = request.payload
    vendored = load_json("bolt-python/interactivity/block_actions.json")
    inventory = load_json("java-slack-sdk/app-backend/BlockActionPayload.json")
    assert set(vendored) <= set(payload) <= set(inventory)
    for key in ("user", "container", "channel"):
        assert set(vendored[key]) <= set(payload[key]), key
    assert set(vendored["actions"][0]) <= set(payload["actions"][0])
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": team.channel,
        "is_ephemeral": False,
    }
    assert payload["user"]["id"] == team.nurse.id
    assert payload["message"]["blocks"] == team.slack.message(team.channel, ts).blocks
    assert payload["actions"][0]["value"] == "AUTH-1"
    assert payload["actions"][0]["block_id"] == "card_actions"
    assert payload["trigger_id"] == answer.trigger_id
    assert answer.status == 200
    assert answer.via == "http"


async def test_clicking_a_button_that_is_not_on_the_message_fails_the_test(
    team: CareTeam, recorder: RecordingApp
) -> None:
    ts = await post_card(team)
    await team.client.chat_update(channel=team.channel, ts=ts, text="Accepted", blocks=[])

    with pytest.raises(AssertionError, match=r"'handoff\.accept' is not on message") as raised:
        await team.nurse.click(team.channel, ts, "handoff.accept")
    await team.client.chat_update(channel=team.channel, ts=ts, text="Offered", blocks=card_blocks())
    with pytest.raises(AssertionError, match=r"handoff\.open_link") as listed:
        await team.nurse.click(team.channel, ts, "handoff.complete")

    assert "present: none" in str(raised.value)
    assert "handoff.accept (button" in str(listed.value)
    assert recorder.received == []


async def test_buttons_are_told_apart_by_value_and_link_buttons_still_send_actions(
    team: CareTeam, recorder: RecordingApp
) -> None:
    blocks = card_blocks("AUTH-1")
    second = card_blocks("AUTH-2")[3]
    second["block_id"] = "card_actions_2"
    ts = (
        await team.client.chat_postMessage(
            channel=team.channel, text="two", blocks=[*blocks, second]
        )
    )["ts"]

    await team.nurse.click(team.channel, ts, "handoff.accept", value="AUTH-2")
    await team.nurse.click(team.channel, ts, "handoff.open_link", block_id="card_actions")

    accept, link = (r.payload["actions"][0] for r in recorder.received)
    assert (accept["value"], accept["block_id"]) == ("AUTH-2", "card_actions_2")
    assert link["url"] == "https://collate.example/cases/1"
    assert link["type"] == "button"
    with pytest.raises(AssertionError, match="more than one"):
        await team.nurse.click(team.channel, ts, "handoff.accept")


async def test_choosing_from_overflow_and_select_menus_sends_the_selected_option(
    team: CareTeam, recorder: RecordingApp
) -> None:
    ts = await post_card(team)

    await team.nurse.select(team.channel, ts, "handoff.more", "revoke")
    await team.nurse.select(team.channel, ts, "handoff.reassign", "team-b")
    with pytest.raises(AssertionError, match="no option with value 'nope'"):
        await team.nurse.select(team.channel, ts, "handoff.more", "nope")

    overflow, select = (r.payload["actions"][0] for r in recorder.received)
    vendored = load_json("python-slack-sdk/socket_mode/envelope_interactive__block_actions.json")
    assert set(vendored["payload"]["actions"][0]) <= set(select)
    assert (overflow["type"], overflow["selected_option"]["value"]) == ("overflow", "revoke")
    assert (select["type"], select["selected_option"]) == ("static_select", option("team-b"))


async def test_only_people_who_can_see_a_message_can_click_it(
    team: CareTeam, recorder: RecordingApp
) -> None:
    private = team.slack.add_channel("leads", members=[team.lead.id], is_private=True)
    ts = await post_card(team, private)

    with pytest.raises(AssertionError, match="cannot see channel"):
        await team.nurse.click(private, ts, "handoff.accept")
    await team.lead.click(private, ts, "handoff.accept")
    assert len(recorder.received) == 1


async def test_response_url_replaces_adds_ephemerals_and_expires_after_five_uses(
    team: CareTeam, recorder: RecordingApp
) -> None:
    ts = await post_card(team)
    await team.nurse.click(team.channel, ts, "handoff.accept")
    url = recorder.received[0].payload["response_url"]
    assert url.startswith(team.slack.api_url[: -len("api/")])

    async with aiohttp.ClientSession() as session:
        statuses = []
        bodies = [
            {"text": "Only you can see this"},
            {"replace_original": True, "text": "Accepted by nurse.kim"},
            {"response_type": "in_channel", "text": "AUTH-1 is taken"},
            {"text": "again"},
            {"text": "and again"},
            {"text": "one too many"},
        ]
        for body in bodies:
            async with session.post(url, json=body) as response:
                statuses.append(response.status)

    assert statuses == [200, 200, 200, 200, 200, 404]
    assert [p.outcome for p in team.slack.response_url_posts] == [
        "ephemeral",
        "replaced",
        "in_channel",
        "ephemeral",
        "ephemeral",
        "rejected:used_url",
    ]
    replaced = team.slack.message(team.channel, ts)
    assert (replaced.text, replaced.blocks) == ("Accepted by nurse.kim", [])
    assert [m.text for m in team.slack.messages(team.channel)][-1] == "AUTH-1 is taken"
    assert (
        team.slack.ephemerals(team.channel, user=team.nurse.id)[0].text == "Only you can see this"
    )


async def test_events_are_signed_json_callbacks_and_retries_reuse_the_event_id(
    team: CareTeam, recorder: RecordingApp
) -> None:
    event = {
        "type": "app_home_opened",
        "user": team.nurse.id,
        "channel": "D0SIM0001",
        "tab": "home",
    }

    first = await team.slack.send_event(event)
    retry = await team.slack.resend_event(str(first.event_id), retry_num=1, reason="http_timeout")
    await team.slack.send_event(event)

    original, retried, fresh = recorder.received
    assert SignatureVerifier(SECRET).is_valid_request(original.body, original.headers)
    assert original.headers["Content-Type"] == "application/json"
    assert retried.headers["X-Slack-Retry-Num"] == "1"
    assert retried.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert "X-Slack-Retry-Num" not in original.headers
    assert original.payload["event_id"] == retried.payload["event_id"] == first.event_id
    assert fresh.payload["event_id"] != first.event_id
    assert retry.status == 200
    vendored = load_json("python-slack-sdk/socket_mode/envelope_events_api__message.json")
    assert set(vendored["payload"]) <= set(original.payload)
    assert original.payload["event"]["user"] == team.nurse.id


def test_socket_mode_frames_have_the_vendored_keys(slack: SlackSimulator) -> None:
    folder = vendor_dir() / "python-slack-sdk" / "socket_mode"
    payload = event_callback(slack.workspace, {"type": "message"}, event_id="Ev1", event_time=1)
    for kind, name in [
        ("events_api", "envelope_events_api__message.json"),
        ("interactive", "envelope_interactive__block_actions.json"),
    ]:
        vendored = json.loads((folder / name).read_text())
        frame = socket_envelope(kind, payload, envelope_id="e", accepts_response_payload=False)
        assert set(vendored) <= set(frame), name
    hello = json.loads((folder / "hello.json").read_text())
    assert set(hello) <= set(socket_hello("A0SIM", 1))


async def test_clicking_an_ephemeral_sends_its_container_and_its_response_url_replaces_it(
    team: CareTeam, recorder: RecordingApp
) -> None:
    posted = await team.client.chat_postEphemeral(
        channel=team.channel, user=team.nurse.id, text="Someone else has it", blocks=card_blocks()
    )
    ts = str(posted["message_ts"])

    with pytest.raises(AssertionError, match="no message"):
        await team.lead.click(team.channel, ts, "handoff.accept")
    await team.nurse.click(team.channel, ts, "handoff.accept")
    payload = recorder.received[0].payload
    async with aiohttp.ClientSession() as session:
        body = {"replace_original": True, "text": "Gone"}
        async with session.post(payload["response_url"], json=body) as response:
            assert response.status == 200

    assert payload["container"]["is_ephemeral"] is True
    assert "message" not in payload
    [ephemeral] = team.slack.ephemerals(team.channel, user=team.nurse.id)
    assert (ephemeral.text, ephemeral.blocks) == ("Gone", [])


async def test_a_response_url_expires_after_thirty_minutes(
    team: CareTeam, recorder: RecordingApp
) -> None:
    ts = await post_card(team)
    await team.nurse.click(team.channel, ts, "handoff.accept")
    team.slack.advance_time(30 * 60 + 1)

    async with aiohttp.ClientSession() as session:
        url = recorder.received[0].payload["response_url"]
        async with session.post(url, json={"text": "late"}) as response:
            assert response.status == 404

    assert team.slack.response_url_posts[-1].outcome == "rejected:expired_url"
    assert team.slack.ephemerals() == []


async def test_a_bot_that_does_not_ack_in_time_leaves_the_modal_open(
    team: CareTeam, recorder: RecordingApp
) -> None:
    view = await open_modal(team, recorder, COMPLETE_MODAL)
    team.slack.ack_timeout = 0.05
    recorder.delay = 0.5

    answer = await team.nurse.submit_view(view.id, FILLED_IN)

    assert (answer.timed_out, answer.ok, answer.view_outcome) == (True, False, "kept_open")
    assert [v.id for v in team.slack.views(team.nurse.id)] == [view.id]


async def test_a_select_is_not_a_button(team: CareTeam, recorder: RecordingApp) -> None:
    ts = await post_card(team)

    with pytest.raises(AssertionError, match="is a static_select, not a button"):
        await team.nurse.click(team.channel, ts, "handoff.reassign")


def test_all_text_reads_views_as_a_person_sees_them() -> None:
    text = all_text({**COMPLETE_MODAL, "blocks": COMPLETE_MODAL["blocks"][2:]})

    assert text.splitlines() == [
        "Complete handoff",
        "Complete",
        "Cancel",
        "Tell the requester by",
        "Dm",
        "Thread",
    ]


# -- views --------------------------------------------------------------------------------


async def test_views_open_needs_a_fresh_unused_trigger_issued_by_slack(
    team: CareTeam, recorder: RecordingApp
) -> None:
    ts = await post_card(team)
    fresh = (await team.nurse.click(team.channel, ts, "handoff.accept")).trigger_id
    stale = (await team.nurse.click(team.channel, ts, "handoff.accept")).trigger_id

    opened = await team.client.views_open(trigger_id=fresh, view=COMPLETE_MODAL)
    team.slack.advance_time(3.1)
    outcomes = []
    for trigger_id in (fresh, stale, "123.456.forged"):
        with pytest.raises(SlackApiError) as raised:
            await team.client.views_open(trigger_id=trigger_id, view=COMPLETE_MODAL)
        outcomes.append(slack_error(raised))

    assert outcomes == ["exchanged_trigger_id", "expired_trigger_id", "invalid_trigger_id"]
    [view] = team.slack.views(team.nurse.id)
    assert opened["view"]["id"] == view.id
    assert view.id.startswith("V")
    assert view.callback_id == "complete_modal"
    assert view.hash == opened["view"]["hash"]
    inventory = load_json("java-slack-sdk/api/views.open.json")["view"]
    assert set(opened["view"]) <= set(inventory)


async def test_views_update_by_id_or_external_id_checks_the_hash(
    team: CareTeam, recorder: RecordingApp
) -> None:
    modal = {**COMPLETE_MODAL, "external_id": "complete-AUTH-1"}
    view = await open_modal(team, recorder, modal)
    old_hash = view.hash
    retitled = {**modal, "title": {"type": "plain_text", "text": "Loaded"}}

    await team.client.views_update(view_id=view.id, hash=old_hash, view=retitled)
    with pytest.raises(SlackApiError) as stale:
        await team.client.views_update(view_id=view.id, hash=old_hash, view=modal)
    await team.client.views_update(external_id="complete-AUTH-1", view=modal)
    with pytest.raises(SlackApiError) as unknown:
        await team.client.views_update(view_id="V0NOPE", view=COMPLETE_MODAL)

    assert slack_error(stale) == "hash_conflict"
    assert slack_error(unknown) == "not_found"
    [current] = team.slack.views(team.nurse.id)
    assert current.id == view.id
    assert current.title == "Complete handoff"
    assert current.hash != old_hash


async def test_views_push_stacks_at_most_three_modals(
    team: CareTeam, recorder: RecordingApp
) -> None:
    details = {
        "type": "section",
        "block_id": "more",
        "text": {"type": "mrkdwn", "text": "Need more?"},
        "accessory": {
            "type": "button",
            "action_id": "details",
            "text": {"type": "plain_text", "text": "Details"},
        },
    }
    modal = {**COMPLETE_MODAL, "blocks": [details]}
    await open_modal(team, recorder, modal)
    results = []
    for _ in range(3):
        top = team.slack.views(team.nurse.id)[-1]
        trigger_id = (await team.nurse.click_in_view(top.id, "details")).trigger_id
        assert recorder.received[-1].payload["container"] == {"type": "view", "view_id": top.id}
        try:
            await team.client.views_push(trigger_id=trigger_id, view=modal)
            results.append("pushed")
        except SlackApiError as error:
            results.append(error.response["error"])

    assert results == ["pushed", "pushed", "push_limit_reached"]
    stack = team.slack.views(team.nurse.id)
    assert [v.view["previous_view_id"] for v in stack] == [None, stack[0].id, stack[1].id]


async def test_views_publish_keeps_one_home_tab_per_person(team: CareTeam) -> None:
    home: dict[str, Any] = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "3"}}],
    }

    first = await team.client.views_publish(user_id=team.nurse.id, view=home)
    await team.client.views_publish(user_id=team.lead.id, view=home)
    home["blocks"][0]["text"]["text"] = "2 open handoffs"
    second = await team.client.views_publish(
        user_id=team.nurse.id, view=home, hash=first["view"]["hash"]
    )
    with pytest.raises(SlackApiError) as raised:
        await team.client.views_publish(
            user_id=team.nurse.id, view=home, hash=first["view"]["hash"]
        )

    assert slack_error(raised) == "hash_conflict"
    nurse_home = team.slack.home(team.nurse.id)
    assert nurse_home is not None
    assert first["view"]["id"] == second["view"]["id"] == nurse_home.id
    assert all_text(nurse_home) == "2 open handoffs"
    lead_home = team.slack.home(team.lead.id)
    assert lead_home is not None
    assert lead_home.id != nurse_home.id


async def test_a_submission_carries_real_state_values_and_a_plain_ack_closes_the_modal(
    team: CareTeam, recorder: RecordingApp
) -> None:
    view = await open_modal(team, recorder, COMPLETE_MODAL)

    answer = await team.nurse.submit_view(view.id, FILLED_IN)

    payload = recorder.received[-1].payload
    vendored = load_json("bolt-python/interactivity/view_submission.json")
    assert set(vendored) <= set(payload)
    assert set(vendored["view"]) <= set(payload["view"])
    assert payload["view"]["id"] == view.id
    assert payload["view"]["private_metadata"] == '{"a":"AUTH-1"}'
    assert payload["view"]["state"]["values"] == {
        "note": {"note_input": {"type": "plain_text_input", "value": "Faxed the forms"}},
        "outcome": {
            "outcome_select": {"type": "static_select", "selected_option": option("approved")}
        },
        "notify": {"notify_choice": {"type": "radio_buttons", "selected_option": option("dm")}},
    }
    assert answer.view_outcome == "closed"
    assert team.slack.views(team.nurse.id) == []


async def test_a_person_can_only_submit_what_slack_would_let_them(
    team: CareTeam, recorder: RecordingApp
) -> None:
    view = await open_modal(team, recorder, COMPLETE_MODAL)
    sent = len(recorder.received)

    with pytest.raises(AssertionError, match="not an input block"):
        await team.nurse.submit_view(view.id, {"typo": {"note_input": "x"}})
    with pytest.raises(AssertionError, match="'outcome' is required"):
        await team.nurse.submit_view(view.id, {"note": {"note_input": "x"}})
    with pytest.raises(AssertionError, match="at most 200 characters"):
        await team.nurse.submit_view(view.id, {**FILLED_IN, "note": {"note_input": "x" * 201}})
    with pytest.raises(AssertionError, match=r"is not open for lead\.ray"):
        await team.lead.submit_view(view.id, FILLED_IN)
    assert len(recorder.received) == sent


async def test_errors_keep_the_modal_open_and_update_replaces_it(
    team: CareTeam, recorder: RecordingApp
) -> None:
    view = await open_modal(team, recorder, COMPLETE_MODAL)
    answers = iter(
        [
            {"response_action": "errors", "errors": {"note": "Say what happened"}},
            {"response_action": "update", "view": {**COMPLETE_MODAL, "blocks": []}},
        ]
    )
    recorder.answer = lambda _: web.json_response(next(answers))

    rejected = await team.nurse.submit_view(view.id, FILLED_IN)
    updated = await team.nurse.submit_view(view.id)

    assert (rejected.view_outcome, rejected.errors) == ("errors", {"note": "Say what happened"})
    assert updated.view_outcome == "updated"
    resent = recorder.received[-1].payload["view"]["state"]["values"]
    assert resent["note"]["note_input"]["value"] == "Faxed the forms"
    [current] = team.slack.views(team.nurse.id)
    assert (current.id, current.blocks) == (view.id, [])


async def test_errors_for_blocks_that_are_not_inputs_are_a_broken_answer(
    team: CareTeam, recorder: RecordingApp
) -> None:
    view = await open_modal(team, recorder, COMPLETE_MODAL)
    recorder.answer = lambda _: web.json_response(
        {"response_action": "errors", "errors": {"summary": "wrong"}}
    )

    answer = await team.nurse.submit_view(view.id, FILLED_IN)

    assert answer.view_outcome == "kept_open"
    assert "not inputs" in str(answer.problem)
    assert len(team.slack.views(team.nurse.id)) == 1


async def test_closing_sends_view_closed_only_when_the_view_asked(
    team: CareTeam, recorder: RecordingApp
) -> None:
    view = await open_modal(team, recorder, COMPLETE_MODAL)
    sent = len(recorder.received)

    closed = await team.nurse.close_view(view.id)

    assert closed is not None
    payload = recorder.received[sent].payload
    assert set(load_json("bolt-python/interactivity/view_closed.json")) <= set(payload)
    assert (payload["type"], payload["view"]["id"], payload["is_cleared"]) == (
        "view_closed",
        view.id,
        False,
    )
    quiet = await open_modal(team, recorder, {**COMPLETE_MODAL, "notify_on_close": False})
    sent = len(recorder.received)
    assert await team.nurse.close_view(quiet.id) is None
    assert len(recorder.received) == sent
    assert team.slack.views(team.nurse.id) == []


# -- a real Bolt app over HTTP -------------------------------------------------------------


@dataclass
class BoltBot:
    app: AsyncApp
    url: str = ""
    clicks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@pytest.fixture
async def bolt(slack: SlackSimulator) -> AsyncIterator[BoltBot]:
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=SECRET,
        process_before_response=True,
    )
    bot = BoltBot(app)
    register_listeners(bot)
    runner, bot.url = await serve(
        AsyncSlackAppServer(port=0, path="/slack/events", app=app).web_app
    )
    slack.set_request_url(bot.url)
    yield bot
    await runner.cleanup()


def register_listeners(bot: BoltBot) -> None:
    @bot.app.action("handoff.accept")
    async def accept(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        await ack()
        bot.clicks.append(
            {"action_id": action["action_id"], "value": action["value"], "user": body["user"]["id"]}
        )
        await client.views_open(trigger_id=body["trigger_id"], view=COMPLETE_MODAL)

    @bot.app.action("handoff.open_link")
    async def open_link(ack: Any) -> None:
        await ack()

    @bot.app.view("complete_modal")
    async def complete(ack: Any, view: dict[str, Any]) -> None:
        note = view["state"]["values"]["note"]["note_input"]["value"]
        bot.notes.append(note)
        if note.strip().lower() == "tbd":
            await ack(response_action="errors", errors={"note": "Say what happened"})
            return
        await ack()


async def test_bolt_verifies_the_signature_and_its_listener_gets_the_click(
    team: CareTeam, bolt: BoltBot
) -> None:
    ts = await post_card(team)

    answer = await team.nurse.click(team.channel, ts, "handoff.accept")
    link = await team.nurse.click(team.channel, ts, "handoff.open_link")

    assert (answer.status, link.status) == (200, 200)
    assert bolt.clicks == [
        {"action_id": "handoff.accept", "value": "AUTH-1", "user": team.nurse.id}
    ]
    [view] = team.slack.views(team.nurse.id)
    assert view.callback_id == "complete_modal"
    assert team.slack.calls_to("auth.test")


async def test_bolt_refuses_a_tampered_click(team: CareTeam, bolt: BoltBot) -> None:
    ts = await post_card(team)
    await team.nurse.click(team.channel, ts, "handoff.accept")
    body = b"payload=" + json.dumps({"type": "block_actions"}).encode()
    headers = team.nurse.sign_headers(body)
    async with aiohttp.ClientSession() as session:
        tampered = body.replace(b"block_actions", b"view_submission")
        async with session.post(bolt.url, data=tampered, headers=headers) as response:
            assert response.status == 401
        old = team.nurse.sign_headers(body, timestamp=1531420618)
        async with session.post(bolt.url, data=body, headers=old) as response:
            assert response.status == 401
    assert len(bolt.clicks) == 1


async def test_bolt_errors_keep_the_modal_open_until_the_input_is_fixed(
    team: CareTeam, bolt: BoltBot
) -> None:
    ts = await post_card(team)
    await team.nurse.click(team.channel, ts, "handoff.accept")
    [view] = team.slack.views(team.nurse.id)

    rejected = await team.nurse.submit_view(view.id, {**FILLED_IN, "note": {"note_input": "tbd"}})
    assert rejected.errors == {"note": "Say what happened"}
    assert [v.id for v in team.slack.views(team.nurse.id)] == [view.id]
    accepted = await team.nurse.submit_view(view.id, {"note": {"note_input": "Faxed the forms"}})

    assert accepted.view_outcome == "closed"
    assert bolt.notes == ["tbd", "Faxed the forms"]
    assert team.slack.views(team.nurse.id) == []


# -- Socket Mode --------------------------------------------------------------------------


def socket_app(slack: SlackSimulator, handled: list[str]) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=SECRET,
        process_before_response=True,
    )

    @app.action("handoff.accept")
    async def accept(ack: Any, action: dict[str, Any]) -> None:
        handled.append(action["value"])
        await ack()

    @app.view("complete_modal")
    async def complete(ack: Any) -> None:
        await ack(response_action="errors", errors={"note": "Say what happened"})

    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        handled.append(f"home:{event['user']}")

    return app


async def test_socket_mode_delivers_each_envelope_to_exactly_one_connection(
    team: CareTeam,
) -> None:
    handled: list[list[str]] = [[], []]
    handlers = [
        AsyncSocketModeHandler(socket_app(team.slack, bucket), app_token=team.slack.app_token)
        for bucket in handled
    ]
    try:
        for handler in handlers:
            await handler.connect_async()  # type: ignore[no-untyped-call]
        await until(lambda: team.slack.socket_connection_count == 2)
        ts = await post_card(team)

        answers: list[AppResponse] = [
            await team.nurse.click(team.channel, ts, "handoff.accept") for _ in range(4)
        ]
        opened = await team.client.views_open(
            trigger_id=answers[-1].trigger_id, view=COMPLETE_MODAL
        )
        view_id = opened["view"]["id"]
        submitted = await team.nurse.submit_view(view_id, FILLED_IN)
        event = await team.slack.send_event({"type": "app_home_opened", "user": team.nurse.id})
        await until(lambda: sum(len(bucket) for bucket in handled) == 5)
    finally:
        for handler in handlers:
            await handler.close_async()  # type: ignore[no-untyped-call]

    assert sorted(len(bucket) for bucket in handled) == [2, 3]
    assert sum(bucket.count(f"home:{team.nurse.id}") for bucket in handled) == 1
    assert (event.via, event.status) == ("socket", 200)
    assert all(a.via == "socket" and a.status == 200 for a in answers)
    assert len({a.socket_id for a in answers}) == 2
    assert len({a.envelope_id for a in answers}) == 4
    assert (submitted.via, submitted.errors) == ("socket", {"note": "Say what happened"})
    assert [v.id for v in team.slack.views(team.nurse.id)] == [view_id]


async def test_socket_mode_clients_reconnect_when_slack_asks_for_a_refresh(
    team: CareTeam,
) -> None:
    handled: list[str] = []
    handler = AsyncSocketModeHandler(
        socket_app(team.slack, handled), app_token=team.slack.app_token
    )
    try:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        await until(lambda: team.slack.socket_connection_count == 1)

        await team.slack.disconnect_sockets("refresh_requested")
        await until(lambda: len(team.slack.calls_to("apps.connections.open")) == 2)
        await until(lambda: team.slack.socket_connection_count == 1)
        ts = await post_card(team)
        answer = await team.nurse.click(team.channel, ts, "handoff.accept")
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]

    assert (answer.via, answer.socket_id, handled) == ("socket", 2, ["AUTH-1"])
