"""Finding the interactive elements a person can use in blocks, and what using them sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sim.slack.records import Block

Element = dict[str, Any]

SELECT_TYPES = frozenset({"static_select", "overflow", "radio_buttons"})
TEXT_INPUT_TYPES = frozenset(
    {"plain_text_input", "number_input", "email_text_input", "url_text_input"}
)


def interactive_elements(blocks: list[Block]) -> Iterator[tuple[str, Element]]:
    """Every ``(block_id, element)`` with an ``action_id``, in display order."""
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        candidates: list[Any] = list(block.get("elements", []))
        candidates += [block.get("accessory"), block.get("element")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id"):
                yield block_id, element


def find_element(
    blocks: list[Block],
    action_id: str,
    *,
    types: frozenset[str] | None = None,
    block_id: str | None = None,
    value: str | None = None,
    where: str = "the message",
) -> tuple[str, Element]:
    """The one element a person means; an ``AssertionError`` that lists what is there if not."""
    matches = [
        (found_block_id, element)
        for found_block_id, element in interactive_elements(blocks)
        if element["action_id"] == action_id
        and (types is None or element.get("type") in types)
        and (block_id is None or found_block_id == block_id)
        and (value is None or element.get("value") == value)
    ]
    if len(matches) == 1:
        return matches[0]
    other_types = sorted(
        {
            str(element.get("type"))
            for _, element in interactive_elements(blocks)
            if element["action_id"] == action_id and types and element.get("type") not in types
        }
    )
    if not matches and other_types and types:
        raise AssertionError(
            f"{action_id!r} on {where} is a {', '.join(other_types)}, not a {', '.join(types)}"
        )
    present = [
        f"{element['action_id']} ({element.get('type')}, block {found_block_id!r}"
        + (f", value {element['value']!r})" if "value" in element else ")")
        for found_block_id, element in interactive_elements(blocks)
    ]
    wanted = f"{action_id!r}" + (f" with value {value!r}" if value is not None else "")
    problem = "is not on" if not matches else "matches more than one element on"
    raise AssertionError(f"{wanted} {problem} {where}; present: {present or 'none'}")


def element_options(element: Element) -> list[dict[str, Any]]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options += group.get("options", [])
    return options


def find_option(element: Element, value: str) -> dict[str, Any]:
    for option in element_options(element):
        if option.get("value") == value:
            return option
    present = [option.get("value") for option in element_options(element)]
    raise AssertionError(
        f"{element.get('action_id')!r} has no option with value {value!r}; options: {present}"
    )


def button_action(block_id: str, button: Element, action_ts: str) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action_id": button["action_id"],
        "block_id": block_id,
        "text": button.get("text"),
        "type": "button",
        "action_ts": action_ts,
    }
    for optional in ("value", "style", "url"):
        if optional in button:
            action[optional] = button[optional]
    return action


def select_action(
    block_id: str, element: Element, option: dict[str, Any], action_ts: str
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": element["action_id"],
        "block_id": block_id,
        "selected_option": option,
        "action_ts": action_ts,
    }
    if "placeholder" in element:
        action["placeholder"] = element["placeholder"]
    return action


def state_entry(element: Element, chosen: Any) -> dict[str, Any]:
    """One ``state.values[block_id][action_id]`` entry, shaped as Slack sends it."""
    kind = str(element.get("type"))
    if kind in TEXT_INPUT_TYPES:
        return {"type": kind, "value": None if chosen is None else str(chosen)}
    if kind in {"static_select", "radio_buttons"}:
        option = None if chosen is None else find_option(element, str(chosen))
        return {"type": kind, "selected_option": option}
    if kind == "checkboxes":
        values = [] if chosen is None else list(chosen)
        return {"type": kind, "selected_options": [find_option(element, v) for v in values]}
    if kind == "users_select":
        return {"type": kind, "selected_user": chosen}
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": chosen}
    if kind == "channels_select":
        return {"type": kind, "selected_channel": chosen}
    if kind == "datepicker":
        return {"type": kind, "selected_date": chosen}
    raise AssertionError(f"the simulator cannot fill in a {kind!r} element yet")


def client_side_problem(block: Block, element: Element, chosen: Any) -> str | None:
    """Why Slack's client would refuse to submit this input, or ``None``."""
    empty = chosen is None or chosen == "" or chosen == []
    if empty:
        return None if block.get("optional") else "is required"
    if element.get("type") not in TEXT_INPUT_TYPES:
        return None
    length = len(str(chosen))
    if length < int(element.get("min_length", 0)):
        return f"needs at least {element['min_length']} characters"
    if length > int(element.get("max_length", 3000)):
        return f"allows at most {element.get('max_length', 3000)} characters"
    return None
