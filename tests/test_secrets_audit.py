"""No token, key or signing secret anywhere, and no grant URL outside the acceptor's DM.

The audit runs every flow (offer, accept, link, new link, a refusal, an unexpected error,
complete, reconciled) with every logger at DEBUG, ``slack_sdk`` and ``slack_bolt`` included, which
write whole request bodies (slack-platform §10): the product's log output, pytest's own capture,
Redis, every Slack Web API call and every request to Collate are searched for each secret.
The tests after it pin down the redaction those logs rely on (``bot.redaction``).
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from blocks.ids import ActionId
from bot import logs, redaction
from sim.collate import CollateSimulator
from sim.slack import SimCall
from tests.harness import (
    BOT_TOKEN,
    COLLATE_KEY,
    SIGNING_SECRET,
    BotWorld,
    bot_world,
    eventually,
)
from tests.test_accept import notices
from tests.test_end_to_end import accepted_card, dm_with_link, link_urls, submit_complete

CONFIGURATION_SECRETS = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "COLLATE_API_KEY": COLLATE_KEY,
}


def forms(secret: str) -> set[str]:
    """A secret as any log or store might write it."""
    return {secret, quote(secret, safe=""), quote_plus(secret), secret.replace("/", "\\/")}


# Capturing every log line ------------------------------------------------------------------------


@dataclass
class CapturedLogs:
    product: io.StringIO
    """What the product's own handler (``bot.logs.configure``) wrote to stderr."""
    caplog: pytest.LogCaptureFixture
    """pytest's capture, a handler the product never configured."""

    def texts(self) -> list[str]:
        records = [
            "\n".join(
                part for part in (record.getMessage(), record.exc_text, record.stack_info) if part
            )
            for record in self.caplog.records
        ]
        return [*self.product.getvalue().splitlines(), self.caplog.text, *records]


def every_logger_at_debug() -> None:
    """Root and every logger that exists, the chatty libraries included, at DEBUG."""
    logging.getLogger().setLevel(logging.DEBUG)
    for name in (*logs.CHATTY_LIBRARIES, "aiohttp", "asyncio", "slack_sdk.web"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            logger.setLevel(logging.DEBUG)


@pytest.fixture
def debug_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[CapturedLogs]:
    """``bot.logs.configure("DEBUG")`` writing into a buffer, pytest's capture kept alongside,
    and every logger's level put back afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_levels = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    product = io.StringIO()
    monkeypatch.setattr(sys, "stderr", product)
    logs.configure("DEBUG")
    root.addHandler(caplog.handler)
    every_logger_at_debug()
    try:
        yield CapturedLogs(product, caplog)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, logger in logging.Logger.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.setLevel(saved_levels.get(name, logging.NOTSET))


# Seeing every grant Collate hands out ------------------------------------------------------------


class GrantsSeen(httpx.AsyncBaseTransport):
    """Passes the bot's requests to Collate through, and notes every grant URL it is given."""

    def __init__(self, urls: list[str]) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._urls = urls

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if not (request.method == "POST" and request.url.path.endswith("/access-grants")):
            return response
        content = await response.aread()
        if response.is_success:
            self._urls.append(str(json.loads(content)["url"]))
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-encoding"]
        return httpx.Response(response.status_code, headers=headers, content=content)

    async def aclose(self) -> None:
        await self._inner.aclose()


def seeing_grants(urls: list[str]) -> Callable[[CollateSimulator], httpx.AsyncBaseTransport]:
    return lambda _: GrantsSeen(urls)


# Where things are found --------------------------------------------------------------------------


def leaves(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON-like value, with the key it sits under."""
    if isinstance(node, dict):
        for name, child in node.items():
            yield from leaves(child, str(name))
    elif isinstance(node, list | tuple):
        for child in node:
            yield from leaves(child, key)
    elif node is not None:
        yield key, str(node)


def call_text(call: SimCall) -> str:
    return json.dumps({"m": call.method, "a": call.args, "r": call.response}, default=str)


def is_acceptors_dm_message(call: SimCall, dm_channel: str) -> bool:
    return call.method in {"chat.postMessage", "chat.update"} and call.args.get("channel") == (
        dm_channel
    )


@dataclass
class Audit:
    scanned: dict[str, int] = field(default_factory=dict)
    leaks: list[str] = field(default_factory=list)

    def search(self, where: str, texts: list[str], secrets: dict[str, set[str]]) -> None:
        self.scanned[where] = self.scanned.get(where, 0) + len(texts)
        for text in texts:
            for name, variants in secrets.items():
                if any(variant in text for variant in variants):
                    self.leaks.append(f"{name} in {where}: …{_around(text, variants)}…")

    def table(self, secrets_checked: int) -> str:
        rows = [f"{'where':<28}{'records scanned':>16}"]
        rows += [f"{where:<28}{count:>16}" for where, count in self.scanned.items()]
        rows += [f"{'secrets checked':<28}{secrets_checked:>16}"]
        rows += [f"{'leaks':<28}{len(self.leaks):>16}"]
        return "\n".join(rows)


def _around(text: str, variants: set[str]) -> str:
    for variant in variants:
        at = text.find(variant)
        if at != -1:
            return text[max(0, at - 60) : at + 20].replace("\n", " ")
    return ""


# The audit ---------------------------------------------------------------------------------------


async def test_no_secret_or_grant_url_leaks_from_any_flow_at_debug(
    debug_logs: CapturedLogs,
) -> None:
    grant_urls: list[str] = []
    async with bot_world(collate_transport=seeing_grants(grant_urls)) as world:
        every_logger_at_debug()  # building the bot quietened the chatty libraries again
        maria, lee = world.people["maria"], world.people["lee"]
        await run_every_flow(world, maria, lee)

        dm_channel = world.slack.dm_channel_id(maria.id)
        assert dm_channel is not None
        assert dm_channel.startswith("D")
        audit = await audit_everything(world, debug_logs, grant_urls, dm_channel)

    print("\n" + audit.table(secrets_checked=len(CONFIGURATION_SECRETS) + len(grant_urls)))
    assert len(grant_urls) == 3
    assert audit.leaks == []
    product_log = debug_logs.product.getvalue()
    assert "slack_sdk.web" in product_log, "slack_sdk did not log at DEBUG: the audit saw nothing"
    assert redaction.REDACTED in product_log, "nothing needed redacting: the audit proves nothing"
    assert "handoff.unexpected_error" in product_log
    assert "Traceback (most recent call last)" in product_log


async def run_every_flow(world: BotWorld, maria: Any, lee: Any) -> None:
    """Offer → accept (link 1) → a refusal → new link that fails (link 2, an unexpected error)
    → new link (link 3) → complete → reconciled."""
    auth = world.collate.add_authorization(review=True, case_id="CASE-8101")
    world.collate.set_reconcile_result("completed:approved", auth["id"])
    await world.poll()
    await maria.click(world.channel, world.only_card().ts, ActionId.ACCEPT.value)
    card = await accepted_card(world)
    first = await dm_with_link(world, maria)

    await lee.click(world.channel, card.ts, ActionId.COMPLETE.value)
    await eventually(lambda: notices(world, lee), what="lee to be told he may not complete it")

    world.slack.fail_next("chat.update", "fatal_error")
    await maria.click(first.channel, first.ts, ActionId.NEW_LINK.value)
    await eventually(
        lambda: any("E-" in notice for notice in notices(world, maria)),
        what="maria to be told of the unexpected error with a reference",
    )
    await maria.click(first.channel, first.ts, ActionId.NEW_LINK.value)
    await dm_with_link(world, maria, not_url=link_urls(first)[0])

    await submit_complete(world, maria, card, outcome="submitted", reference="ABC123")
    await eventually(lambda: not link_urls(world.dm_messages(maria)[-1]), what="link removed")
    world.collate.advance(1.0)
    await eventually(lambda: world.collate.authorization(auth["id"])["status"] == "completed")
    await world.poll()


async def audit_everything(
    world: BotWorld, captured: CapturedLogs, grant_urls: list[str], dm_channel: str
) -> Audit:
    configuration = {name: forms(secret) for name, secret in CONFIGURATION_SECRETS.items()}
    grants = {f"grant URL {index}": forms(url) for index, url in enumerate(grant_urls, 1)}
    everything = {**configuration, **grants}
    audit = Audit()

    audit.search("logs", captured.texts(), everything)
    audit.search("redis", [await world.redis_dump()], everything)
    calls = list(world.slack.calls)
    elsewhere = [call_text(c) for c in calls if not is_acceptors_dm_message(c, dm_channel)]
    audit.search("slack calls", elsewhere, everything)
    in_dm = [c for c in calls if is_acceptors_dm_message(c, dm_channel)]
    audit.search("slack DM calls", [call_text(c) for c in in_dm], configuration)
    audit.search("slack DM text", [dm_text_outside_links(c) for c in in_dm], grants)
    audit.search("response_url posts", [str(p) for p in world.slack.response_url_posts], everything)
    audit.search("collate requests", [str(r) for r in world.collate.requests], everything)
    return audit


def dm_text_outside_links(call: SimCall) -> str:
    """Everything a DM call carried except link buttons' ``url`` (where the grant belongs)."""
    return "\n".join(text for key, text in leaves([call.args, call.response]) if key != "url")


# The redaction the audit relies on ---------------------------------------------------------------

SECRET_URL = "https://collate.example/runtime/access/rag_" + "9f3a" * 8


def test_a_grant_url_in_any_logger_message_or_argument_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redaction.remember_grant_url(SECRET_URL, until=datetime.now(UTC) + timedelta(minutes=10))
    caplog.set_level(logging.DEBUG, logger="slack_sdk")
    chatty = logging.getLogger("slack_sdk.web.async_base_client")

    chatty.debug(f"Sending a request - json_body: {{'blocks': [{{'url': '{SECRET_URL}'}}]}}")
    chatty.debug("form body: %s", "url=" + quote_plus(SECRET_URL) + "&ts=1")
    chatty.debug("escaped: %s", '{"url": "' + SECRET_URL.replace("/", "\\/") + '"}')
    chatty.debug("glued: %s.", SECRET_URL)

    shown = [record.getMessage() for record in caplog.records]
    assert len(shown) == 4
    assert all(redaction.REDACTED in line for line in shown)
    assert not any(
        "rag_9f3a" in line or "rag_9f3a" in str(record.args)
        for line, record in zip(shown, caplog.records, strict=True)
    )
    assert shown[3].endswith(f"{redaction.REDACTED}.")
    assert SECRET_URL not in caplog.text


def test_a_secret_in_a_traceback_is_redacted_for_every_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "xoxb-traceback-token-4242424242"
    redaction.remember_secret(token)
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    product = logging.StreamHandler(stream)
    product.setFormatter(logs.EventFormatter())
    logging.getLogger().addHandler(product)
    try:
        try:
            raise RuntimeError(f"the server said: invalid token {token}")
        except RuntimeError:
            logging.getLogger("bot.audit").exception("handoff.unexpected_error")
    finally:
        logging.getLogger().removeHandler(product)

    for text in (caplog.text, stream.getvalue()):
        assert "RuntimeError: the server said: invalid token [redacted]" in text
        assert token not in text
    assert caplog.records[-1].exc_info is None, "the raw exception must not be rendered again"


def test_extra_fields_are_redacted_on_the_products_own_lines() -> None:
    key = "collate-extra-key-777777777"
    redaction.remember_secret(key)
    record = logging.getLogger("bot.audit").makeRecord(
        "bot.audit",
        logging.WARNING,
        __file__,
        1,
        "collate.refused",
        (),
        None,
        extra={"error": f"Bearer {key}", "authorization_id": "auth_1"},
    )

    line = logs.EventFormatter().format(record)

    assert key not in line
    assert "error=Bearer [redacted]" in line
    assert "authorization_id=auth_1" in line


def test_a_grant_url_is_forgotten_once_expired_and_never_kept_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "https://collate.example/runtime/access/rag_" + "livelive" * 4
    expires_at = datetime.now(UTC) + timedelta(minutes=5)
    redaction.remember_grant_url(url, until=expires_at)

    assert redaction.redact(f"url={url}") == f"url={redaction.REDACTED}"
    held = repr(vars(redaction._registry)) + repr(redaction._registry.snapshot)
    assert "livelive" not in held, "the registry keeps only a keyed hash of a grant URL"

    later = expires_at.timestamp() + redaction.GRACE_SECONDS - 1
    monkeypatch.setattr(redaction, "clock", lambda: later)
    assert redaction.redact(url) == redaction.REDACTED, "kept a little past expiresAt"
    monkeypatch.setattr(redaction, "clock", lambda: later + 2)
    assert redaction.redact(url) == url, "forgotten once expired"


def test_a_forgotten_secret_is_no_longer_redacted() -> None:
    token = "xoxb-rotated-away-31415926"
    redaction.remember_secret(token)
    assert redaction.redact(token) == redaction.REDACTED

    redaction.forget(token)

    assert redaction.redact(token) == token


def test_every_secret_setting_is_registered_and_a_too_short_one_is_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.harness import bot_settings

    settings = bot_settings(
        collate_url="http://127.0.0.1:1",
        slack_url="http://127.0.0.1:2/",
        channel="C0HANDOFFS",
        prefix="audit",
        slack_bot_token="xoxb-registered-0000000001",
        slack_app_token="xapp-registered-0000000002",
        collate_api_key="tiny",
    )
    caplog.set_level(logging.WARNING, logger="bot.redaction")

    redaction.remember_settings(settings)

    text = "xoxb-registered-0000000001 xapp-registered-0000000002 " + SIGNING_SECRET
    assert redaction.redact(text) == " ".join([redaction.REDACTED] * 3)
    assert [r.__dict__.get("setting") for r in caplog.records] == ["COLLATE_API_KEY"]
