"""What a person reads: every visible string of a message or view, for tests to assert on."""

from __future__ import annotations

from typing import Any

from sim.slack.records import Block, SimEphemeral, SimMessage, SimView

_TEXT_KEYS = ("text", "title", "label", "hint", "placeholder", "initial_option", "description")


def all_text(item: SimMessage | SimEphemeral | SimView | dict[str, Any] | list[Block]) -> str:
    """Every human-visible string in ``item``'s blocks, one per line.

    For a message with blocks that is the blocks' texts, section fields, button and select texts
    and context elements (not the fallback ``text``, which only notifications show). A message
    without blocks shows its ``text``. A view also shows its title, submit and close labels.
    """
    if isinstance(item, SimView):
        item = item.view
    if isinstance(item, list):
        return "\n".join(_visible(item))
    if isinstance(item, SimMessage | SimEphemeral):
        return "\n".join(_visible(item.blocks)) if item.blocks else item.text
    if item.get("type") in {"modal", "home"}:
        chrome = [item.get(key) for key in ("title", "submit", "close")]
        return "\n".join(_visible(chrome) + _visible(item.get("blocks", [])))
    blocks = item.get("blocks") or []
    return "\n".join(_visible(blocks)) if blocks else str(item.get("text", ""))


def _visible(node: Any) -> list[str]:
    if isinstance(node, list):
        return [text for child in node for text in _visible(child)]
    if not isinstance(node, dict):
        return []
    if node.get("type") in {"plain_text", "mrkdwn"} and isinstance(node.get("text"), str):
        return [node["text"]]
    if node.get("type") == "markdown" and isinstance(node.get("text"), str):
        return [node["text"]]
    if node.get("type") in {"text", "link"} and "elements" not in node:
        return [str(node.get("text") or node.get("url", ""))]
    texts: list[str] = []
    if isinstance(node.get("initial_value"), str):
        texts.append(node["initial_value"])
    for key in _TEXT_KEYS:
        if key in node and node[key] is not None:
            texts += _visible(node[key])
    for key in ("fields", "elements", "accessory", "element"):
        if key in node:
            texts += _visible(node[key])
    if node.get("type") in {"radio_buttons", "checkboxes"}:
        texts += _visible(node.get("options", []))
    return texts
