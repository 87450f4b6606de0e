"""Block Kit primitives: small constructors for the plain dicts Slack expects.

Texts passed in are already final (escaped and capped by ``texts``); these only shape them.
Every ``mrkdwn`` object is ``verbatim``, so Slack never auto-links a bare URL or channel name
that slipped into outside text; the explicit ``<@U…>`` and ``<!date…>`` tokens still render.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from blocks.escape import cap_rendered
from blocks.model import SlackMessage

Block = dict[str, Any]

SECTION_TEXT_MAX = 3000
NOTIFICATION_MAX = 150


def plain_text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn_text(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": cap_rendered(text, SECTION_TEXT_MAX), "verbatim": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain_text(text)}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn_text(text)}


def sections(lines: Iterable[str]) -> list[Block]:
    """Lines packed into as few sections as fit ``SECTION_TEXT_MAX`` each, in order."""
    packed: list[list[str]] = []
    size = 0
    for line in lines:
        if not packed or size + 1 + len(line) > SECTION_TEXT_MAX:
            packed.append([])
            size = -1
        packed[-1].append(line)
        size += 1 + len(line)
    return [section("\n".join(group)) for group in packed]


def context(*texts: str | None) -> list[Block]:
    """One context block of the given texts, or none when all of them are empty."""
    elements = [mrkdwn_text(text) for text in texts if text]
    return [{"type": "context", "elements": elements}] if elements else []


def divider() -> Block:
    return {"type": "divider"}


def actions(*elements: dict[str, Any]) -> Block:
    return {"type": "actions", "elements": list(elements)}


def button(
    label: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    primary: bool = False,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain_text(label), "action_id": action_id}
    optional = {"value": value, "url": url, "confirm": confirm}
    element.update({key: item for key, item in optional.items() if item is not None})
    if primary:
        element["style"] = "primary"
    return element


def confirm_dialog(title: str, text: str, confirm: str, deny: str) -> dict[str, Any]:
    return {
        "title": plain_text(title),
        "text": {"type": "mrkdwn", "text": cap_rendered(text, 300), "verbatim": True},
        "confirm": plain_text(confirm),
        "deny": plain_text(deny),
    }


def option(label: str, value: str, description: str | None = None) -> dict[str, Any]:
    built: dict[str, Any] = {"text": plain_text(label), "value": value}
    if description is not None:
        built["description"] = plain_text(description)
    return built


def overflow(action_id: str, options: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "overflow", "action_id": action_id, "options": list(options)}


def stamp_block_ids(scope: str, blocks: list[Block]) -> list[Block]:
    """Give every block a fresh ``block_id`` that changes whenever the block's content does.

    ``chat.update`` keeps the rendering of a block whose ``block_id`` is unchanged, so the id is
    the surface (e.g. the card phase), the position and a short digest of the block itself. The
    digest is of text already visible in that same block: it reveals nothing new.
    """
    return [
        {**block, "block_id": f"{scope}.{index}.{_digest(block)}"}
        for index, block in enumerate(blocks)
    ]


def _digest(block: Block) -> str:
    canonical = json.dumps(block, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.blake2b(canonical, digest_size=5).hexdigest()


def message(notification: str, scope: str, blocks: list[Block]) -> SlackMessage:
    """A message: PHI-free notification text (lock screens) and the stamped blocks."""
    return {
        "text": cap_rendered(notification, NOTIFICATION_MAX),
        "blocks": stamp_block_ids(scope, blocks),
    }


def notice(text: str) -> SlackMessage:
    """A one-line private notice (ephemeral), e.g. one of the refusals in ``texts``."""
    return message(text, "notice", [section(text)])
