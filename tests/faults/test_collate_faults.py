"""Collate in trouble while a person acts: its answer times out, the connection resets after it
processed the command, a 5xx, a 429 with Retry-After, an answer slower than 3 s. Slack's ack
stays within 3 s, the person sees "working on it" and then the result, and every retry reuses the
command's Idempotency-Key, so no command happens twice."""

from __future__ import annotations

import asyncio

import pytest

from blocks import texts
from tests.faults import flow
from tests.faults.kit import FaultKit, Offer, Stage
from tests.faults.tap import Exchange, collate_call
from tests.harness import eventually

pytestmark = pytest.mark.faults

COMMANDS = {
    "create": "/manual-handoffs",
    "grant": "/access-grants",
    "close": "/complete",
}
"""The commands a person's click sends, by the path that ends their URL."""
CLIENT_TIMEOUT_SECONDS = 10.0
"""The bot's Collate client gives up on an answer after this long."""
SLOW_SECONDS = 3.2
TEST_SECONDS = 60.0


def inject(stage: Stage, kind: str, suffix: str) -> None:
    """The next command ending in ``suffix`` suffers ``kind``."""
    stage.collate_fault(kind)
    if kind == "reset":
        stage.collate.reset_next(1, after_processing=True, paths=suffix)
    elif kind == "5xx":
        stage.collate.fail_next(1, 503, paths=suffix)
    elif kind == "429":
        stage.collate.fail_next(1, 429, retry_after_seconds=1, paths=suffix)
    elif kind == "slow":

        async def slowly(_: Exchange) -> None:
            await asyncio.sleep(SLOW_SECONDS)

        stage.collate_tap.on(collate_call("POST", suffix), before=slowly)
    elif kind == "timeout":

        async def hold_the_answer(_: Exchange) -> None:
            await asyncio.sleep(CLIENT_TIMEOUT_SECONDS + 0.5)

        stage.collate_tap.on(collate_call("POST", suffix), after=hold_the_answer)
    else:
        raise ValueError(kind)


def attempts(stage: Stage, offer: Offer, suffix: str) -> list[dict[str, str]]:
    """The headers of every POST of the command that reached Collate."""
    return [
        request.headers
        for request in stage.collate.requests
        if request.method == "POST" and request.path.endswith(suffix) and offer.id in request.path
    ]


async def assert_one_command(stage: Stage, offer: Offer, suffix: str, kind: str) -> None:
    """The command reached Collate more than once only as retries of one command (one key); a
    fault whose outcome is unknown to the bot was retried (the watcher may have shown the result
    already, from Collate's side, while the bot still waited for its answer)."""
    if kind in ("reset", "5xx", "429", "timeout"):
        await eventually(
            lambda: len(attempts(stage, offer, suffix)) >= 2,
            within=CLIENT_TIMEOUT_SECONDS + 5,
            what=f"the bot to retry the command after the {kind}",
        )
    sent = attempts(stage, offer, suffix)
    keys = {headers.get("idempotency-key") for headers in sent}
    assert None not in keys, f"every command carries an Idempotency-Key: {sent}"
    assert len(keys) == 1, f"retries must reuse one key: {sent}"


async def working_then_result(stage: Stage, offer: Offer, before: int, kind: str) -> None:
    """A click that takes longer than ~1.5 s first gets "working on it"."""
    if kind not in ("slow", "timeout"):
        return
    maria = stage.person("maria")
    await eventually(
        lambda: texts.working_on_it() in flow.told(stage, maria)[before:],
        within=3.0,
        what="maria to be told the bot is working on it",
    )


CASES = [
    (kind, command)
    for kind in ("timeout", "reset", "5xx", "429", "slow")
    for command in sorted(COMMANDS)
    if not (command == "grant" and kind in ("timeout", "slow"))
]
"""A slow or timed-out grant is the slow or timed-out create once more (one accept makes both)."""


@pytest.mark.parametrize(("kind", "command"), CASES)
async def test_collate_fault_on_each_command(kit: FaultKit, kind: str, command: str) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        suffix = COMMANDS[command]

        if command != "close":
            inject(stage, kind, suffix)
        before = len(flow.told(stage, maria))
        answer = await flow.click_accept(stage, offer, maria)
        assert answer.ok
        if command != "close":
            await working_then_result(stage, offer, before, kind)
        await flow.accepted(stage, offer, maria, within=CLIENT_TIMEOUT_SECONDS + 10)
        await flow.link_in_dm(stage, maria, within=CLIENT_TIMEOUT_SECONDS + 10)

        view = await flow.open_complete(stage, offer, maria)
        if command == "close":
            inject(stage, kind, suffix)
        before = len(flow.told(stage, maria))
        answer = await flow.submit_complete(maria, view)
        assert answer.ok
        if command == "close":
            await working_then_result(stage, offer, before, kind)
        await flow.closed(stage, offer, within=CLIENT_TIMEOUT_SECONDS + 10)
        await flow.link_removed(stage, maria)
        flow.reconcile_now(stage)
        await flow.reconciled(stage, offer)

        await assert_one_command(stage, offer, suffix, kind)
        assert stage.collate.handoff_creates(offer.id) == 1
        assert stage.collate.closes(offer.id) == 1
        await stage.audit()


async def test_collate_down_while_the_watcher_polls_then_one_card(kit: FaultKit) -> None:
    """The offer list answers 503 and then drops connections for a while: no card, no crash;
    one card once Collate answers again."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        stage.collate_fault("5xx", 6)
        stage.collate.fail_next(6, 503, paths="/v1/prior-authorizations")
        stage.collate_fault("reset", 4)
        stage.collate.reset_next(4, paths="/v1/prior-authorizations")
        offer = stage.offer()

        await flow.card_posted(stage, offer, within=flow.RECOVERY_SECONDS)
        await asyncio.sleep(0.6)
        await flow.whole_flow(stage, offer, stage.person("maria"))
        await stage.audit()
