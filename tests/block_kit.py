"""Check a surface the bot builds against Slack's Block Kit rules, as Slack would.

The oracle is the vendored Tightknit JSON Schema (Draft 2020-12), read in place: the root
schema for a message's ``blocks`` array, ``$defs/modal_view`` and ``$defs/home_view`` for views.
On top of it, the limits the schema leaves out: at most 50 blocks in a message, about 11,000
characters of text across one message's blocks (Slack answers ``msg_blocks_too_long`` above),
unique ``block_id``s, ``action_id``s unique within their block, and absolute http(s) ``url``s
(the schema's ``format: uri`` is not asserted without an extra package).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from tests.vendor import load_json

SCHEMA_PATH = "tightknit-block-kit-schema/slack-block-kit.schema.json"

MESSAGE_BLOCKS_MAX = 50
MESSAGE_TEXT_MAX = 11_000
VIEW_BLOCKS_MAX = 100
NOTIFICATION_MAX = 150
SERVER_VIEW_KEYS = frozenset(
    {"id", "hash", "state", "team_id", "app_id", "bot_id", "root_view_id", "previous_view_id"}
)
"""Keys Slack adds to a view it returns: not part of what an app may send."""


def assert_valid_message_blocks(blocks: list[dict[str, Any]]) -> None:
    """A message's ``blocks``: schema-valid, ≤ 50 blocks, ≤ 11,000 characters of text."""
    _assert_schema("blocks", blocks)
    assert len(blocks) <= MESSAGE_BLOCKS_MAX, f"{len(blocks)} blocks; a message allows 50"
    total = text_length(blocks)
    assert total <= MESSAGE_TEXT_MAX, f"{total} characters of text; Slack rejects about 11,000+"
    _assert_ids_and_urls(blocks)


def assert_valid_message(message: Mapping[str, Any]) -> None:
    """A whole ``SlackMessage``: valid blocks and a short, non-empty notification ``text``."""
    text = message["text"]
    assert isinstance(text, str), "message text must be a string"
    assert 0 < len(text) <= NOTIFICATION_MAX, f"notification text of {len(text)} characters"
    assert_valid_message_blocks(message["blocks"])


def assert_valid_modal(view: Mapping[str, Any]) -> None:
    """A modal for ``views.open`` / ``views.update`` (server-added keys are ignored)."""
    sendable = _sendable(view)
    _assert_schema("modal_view", sendable)
    _assert_ids_and_urls(sendable["blocks"])


def assert_valid_home(view: Mapping[str, Any]) -> None:
    """A Home tab for ``views.publish`` (server-added keys are ignored)."""
    sendable = _sendable(view)
    _assert_schema("home_view", sendable)
    _assert_ids_and_urls(sendable["blocks"])


def text_length(node: Any) -> int:
    """Characters in every text object (``plain_text`` / ``mrkdwn``) under ``node``."""
    return sum(len(text) for text in _texts(node))


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") in {"plain_text", "mrkdwn"} and isinstance(node.get("text"), str):
            yield node["text"]
        for child in node.values():
            yield from _texts(child)
    elif isinstance(node, list):
        for child in node:
            yield from _texts(child)


def _sendable(view: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in view.items() if key not in SERVER_VIEW_KEYS}


def _assert_schema(surface: str, instance: Any) -> None:
    error = best_match(_validators()[surface].iter_errors(instance))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise AssertionError(f"invalid {surface} at {where}: {error.message[:500]}")


@cache
def _validators() -> dict[str, Draft202012Validator]:
    schema = load_json(SCHEMA_PATH)
    registry: Registry[Any] = Registry().with_resource(
        schema["$id"], Resource.from_contents(schema)
    )

    def at(pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{schema['$id']}{pointer}"}, registry=registry)

    return {
        "blocks": at("#"),
        "modal_view": at("#/$defs/modal_view"),
        "home_view": at("#/$defs/home_view"),
    }


def _assert_ids_and_urls(blocks: list[dict[str, Any]]) -> None:
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(block_ids) == len(set(block_ids)), f"duplicate block_id in {block_ids}"
    for block in blocks:
        action_ids = [
            element["action_id"] for element in _elements(block) if "action_id" in element
        ]
        assert len(action_ids) == len(set(action_ids)), f"duplicate action_id in {action_ids}"
    for url in _urls(blocks):
        parts = urlsplit(url)
        assert parts.scheme in {"http", "https"}, f"not an http(s) URL: {url!r}"
        assert parts.netloc, f"not an absolute URL: {url!r}"


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(block.get("elements", []))
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            found.append(block[key])
    return [element for element in found if isinstance(element, dict)]


def _urls(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, child in node.items():
            if key == "url" and isinstance(child, str):
                yield child
            else:
                yield from _urls(child)
    elif isinstance(node, list):
        for child in node:
            yield from _urls(child)
