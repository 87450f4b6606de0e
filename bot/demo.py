"""``collate-handoff-bot demo``: one whole handoff, played as people would, told as text.

No credentials: the Collate simulator and the Slack simulator run on loopback, the bot runs
against them in HTTP mode (real signed requests into the real Bolt app) on the embedded store,
and each step prints what each person would see in Slack.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any, TextIO

from fakeredis import FakeAsyncRedis

from blocks import forms
from blocks.ids import ActionId
from bot.app import Runtime, build_runtime
from bot.settings import Settings
from sim.collate import CollateSimulator, SimSettings
from sim.slack import SimMessage, SlackPerson, SlackSimulator

_SECRET = "demo-signing-secret"  # noqa: S105 - the demo's own simulator, not a credential
_TOKEN = "xoxb-demo"  # noqa: S105 - likewise
_KEY = "demo-collate-key"


class _Story:
    def __init__(self, out: TextIO, names: dict[str, str]) -> None:
        self._out = out
        self._names = names
        self._step = 0

    def step(self, title: str) -> None:
        self._step += 1
        self._out.write(f"\n{self._step}. {title}\n")

    def show(self, who: str, message: SimMessage) -> None:
        self._out.write(f"   {who} sees:\n")
        for line in render(message.blocks) or [message.text]:
            self._out.write(f"   │ {readable(line, self._names)}\n")

    def say(self, text: str) -> None:
        self._out.write(f"   {readable(text, self._names)}\n")


_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")


def readable(text: str, names: dict[str, str]) -> str:
    """mrkdwn as Slack shows it: dates in words, @names, link labels, no markup stars."""
    text = _DATE.sub(lambda match: match.group(1), text)
    text = _MENTION.sub(lambda match: "@" + names.get(match.group(1), match.group(1)), text)
    text = _LINK.sub(lambda match: match.group(2), text)
    return text.replace("*", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render(blocks: list[dict[str, Any]]) -> list[str]:
    """Block Kit as a person reads it: text lines and [ buttons ]. Link targets are not shown."""
    lines: list[str] = []
    for block in blocks:
        lines.extend(_render_block(block))
    return lines


def _render_block(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind in ("header", "section"):
        text = [_text(block.get("text"))] if block.get("text") else []
        fields = [_text(field) for field in block.get("fields", [])]
        return [line for part in text + fields for line in part.splitlines()]
    if kind == "context":
        return [" · ".join(_text(element) for element in block.get("elements", []))]
    if kind == "actions":
        return ["  ".join(_control(element) for element in block.get("elements", []))]
    if kind == "divider":
        return ["─" * 40]
    if kind == "input":
        optional = " (optional)" if block.get("optional") else ""
        return [f"[ {_text(block.get('label'))}{optional} ]"]
    return []


def _text(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _control(element: dict[str, Any]) -> str:
    if element.get("type") == "overflow":
        options = ", ".join(_text(option.get("text")) for option in element.get("options", []))
        return f"[ ⋯ {options} ]"
    label = _text(element.get("text"))
    return f"[ {label} ↗ ]" if element.get("url") else f"[ {label} ]"


async def play(out: TextIO) -> int:
    """Run the demo; return the process exit code."""
    collate = CollateSimulator(api_key=_KEY, settings=SimSettings(reconcile_delay_seconds=0.3))
    slack = SlackSimulator(signing_secret=_SECRET, bot_token=_TOKEN)
    collate_url = await collate.start()
    slack_url = await slack.start()
    maria, lee = slack.add_user("maria"), slack.add_user("lee")
    channel = slack.add_channel("prior-auth-handoffs", members=[maria.id, lee.id])
    embedded = FakeAsyncRedis(decode_responses=True)
    runtime = build_runtime(_settings(collate_url, slack_url, channel), redis=embedded)
    port = await runtime.start(host="127.0.0.1", port=0, watch=False)
    slack.set_request_url(f"http://127.0.0.1:{port}/slack/events")
    try:
        names = {maria.id: "maria", lee.id: "lee"}
        await _play(_Story(out, names), collate, slack, runtime, channel, maria, lee)
    finally:
        await runtime.stop()
        await slack.stop()
        await collate.stop()
    return 0


def _settings(collate_url: str, slack_url: str, channel: str) -> Settings:
    return Settings(
        slack_bot_token=_TOKEN,
        slack_signing_secret=_SECRET,
        slack_api_url=slack_url,
        collate_api_key=_KEY,
        collate_base_url=collate_url,
        handoff_channel=channel,
        redis_url=None,
    )


async def _play(
    story: _Story,
    collate: CollateSimulator,
    slack: SlackSimulator,
    runtime: Runtime,
    channel: str,
    maria: SlackPerson,
    lee: SlackPerson,
) -> None:
    auth = collate.add_authorization(review=True, case_id="CASE-2291")
    collate.set_reconcile_result("completed:approved", auth["id"])

    story.step("Collate needs a person at the payer portal; the bot polls and posts a card")
    await runtime.watcher.cycle()
    card = slack.messages(channel)[0]
    story.show("#prior-auth-handoffs", card)

    story.step("Maria and Lee both press accept at the same moment")
    await asyncio.gather(
        maria.click(channel, card.ts, ActionId.ACCEPT.value),
        lee.click(channel, card.ts, ActionId.ACCEPT.value),
    )
    card = await _until(lambda: _with_action(slack.messages(channel)[0], ActionId.COMPLETE))
    story.show("#prior-auth-handoffs", card)
    for person, name in ((maria, "Maria"), (lee, "Lee")):
        for notice in slack.ephemerals(user=person.id):
            story.say(f"{name} alone sees: {notice.text}")
    acceptor = maria if f"<@{maria.id}>" in card.text + str(card.blocks) else lee

    story.step("The one who accepted gets a private link by direct message")
    dm = await _until(lambda: _dm(slack, acceptor))
    story.show("their DM", dm)

    story.step("The link is short-lived: they ask for a new one")
    await acceptor.click(dm.channel, dm.ts, ActionId.NEW_LINK.value)
    await _until(lambda: len(slack.replies(channel, card.ts)) >= 3)
    story.show("their DM", _dm(slack, acceptor) or dm)

    story.step("Done at the portal, they complete the handoff")
    await acceptor.click(channel, card.ts, ActionId.COMPLETE.value)
    modal = (await _until(lambda: slack.views(acceptor.id)))[-1]
    story.say("A form opens:")
    for line in render(modal.view["blocks"]):
        story.say(f"  {line}")
    story.say("They choose 'Submitted to the payer', type the reference ABC123, and send it.")
    await acceptor.submit_view(
        modal.id,
        {
            forms.COMPLETE_OUTCOME_BLOCK: {forms.COMPLETE_OUTCOME_ACTION: "submitted"},
            forms.COMPLETE_REFERENCE_BLOCK: {forms.COMPLETE_REFERENCE_ACTION: "ABC123"},
        },
    )
    card = await _until(lambda: _without_buttons(slack.messages(channel)[0]))
    story.show("#prior-auth-handoffs", card)
    story.show("their DM (the link is gone)", _dm(slack, acceptor) or dm)

    story.step("Collate reconciles with the payer; the card shows Collate's answer")
    await _until(lambda: collate.authorization(auth["id"])["status"] == "completed", within=10)
    await runtime.watcher.cycle()
    story.show("#prior-auth-handoffs", slack.messages(channel)[0])
    story.say("Thread under the card:")
    for reply in slack.replies(channel, card.ts):
        story.say("  • " + " ".join(render(reply.blocks)))


def _with_action(message: SimMessage, action: ActionId) -> SimMessage | None:
    return message if action.value in str(message.blocks) else None


def _without_buttons(message: SimMessage) -> SimMessage | None:
    return None if '"button"' in str(message.blocks).replace("'", '"') else message


def _dm(slack: SlackSimulator, person: SlackPerson) -> SimMessage | None:
    channel = slack.dm_channel_id(person.id)
    messages = slack.messages(channel) if channel else []
    return messages[-1] if messages else None


async def _until(probe: Callable[[], Any], *, within: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while not (result := probe()):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the demo did not reach its next step in time")
        await asyncio.sleep(0.02)
    return result
