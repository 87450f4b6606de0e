"""Checks on the ``blocks`` and ``view`` arguments the simulator receives, as Slack makes them.

Structure only (lists of dicts, counts, unique ids, sizes). Per-field Block Kit limits are left
to an optional checker a test installs (for example the vendored Block Kit JSON Schema).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any, Literal

from sim.slack.contract import SlackError, invalid_arguments
from sim.slack.ids import IdMinter
from sim.slack.records import Block

Surface = Literal["message", "modal", "home"]
BlockChecker = Callable[[Surface, dict[str, Any]], list[str]]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_VIEW_BYTES = 250_000
_VIEW_TEXT_LIMITS = {"private_metadata": 3000, "callback_id": 255, "external_id": 255}


def parse_message_blocks(raw: Any) -> list[Block] | None:
    """``blocks`` of ``chat.*``: ``None`` when absent, else a checked list of block dicts."""
    if raw is None:
        return None
    if isinstance(raw, str):
        raise SlackError("invalid_blocks_format", "blocks must be a JSON array of objects")
    if not isinstance(raw, list):
        raise SlackError("invalid_blocks_format", "blocks must be an array")
    if len(raw) > MAX_MESSAGE_BLOCKS:
        raise SlackError("invalid_blocks", f"no more than {MAX_MESSAGE_BLOCKS} items allowed")
    problem = structural_problem(raw)
    if problem is not None:
        raise SlackError("invalid_blocks", problem)
    return raw


def structural_problem(blocks: list[Any]) -> str | None:
    """What is wrong with a block list's structure, or ``None``."""
    seen_block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return f"block {index} must be an object with a string type"
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_block_ids:
                return f"duplicate block_id {block_id!r}"
            seen_block_ids.add(str(block_id))
        action_ids = [e.get("action_id") for e in _block_elements(block) if e.get("action_id")]
        if len(action_ids) != len(set(action_ids)):
            return f"duplicate action_id in block {index}"
    return None


def _block_elements(block: Block) -> list[dict[str, Any]]:
    elements = [e for e in block.get("elements", []) if isinstance(e, dict)]
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            elements.append(block[key])
    return elements


def with_block_ids(blocks: list[Block], ids: IdMinter) -> list[Block]:
    """A copy in which every block has a ``block_id``, as Slack stores and returns blocks."""
    filled = copy.deepcopy(blocks)
    for block in filled:
        block.setdefault("block_id", ids.block_id())
    return filled


def parse_view(raw: Any, surface: Surface) -> dict[str, Any]:
    """The ``view`` argument of ``views.*``: a checked view dict of the expected type."""
    if not isinstance(raw, dict):
        raise invalid_arguments("view must be a JSON object")
    if raw.get("type") != surface:
        raise invalid_arguments(f"view.type must be {surface!r}")
    if len(json.dumps(raw)) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    blocks = raw.get("blocks")
    if not isinstance(blocks, list):
        raise invalid_arguments("missing required field: blocks")
    if len(blocks) > MAX_VIEW_BLOCKS:
        raise invalid_arguments(f"no more than {MAX_VIEW_BLOCKS} items allowed [/view/blocks]")
    problem = structural_problem(blocks)
    if problem is not None:
        raise invalid_arguments(problem)
    _check_view_fields(raw, surface)
    return raw


def _check_view_fields(view: dict[str, Any], surface: Surface) -> None:
    for name, limit in _VIEW_TEXT_LIMITS.items():
        value = view.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise invalid_arguments(f"{name} must be a string of at most {limit} characters")
    if surface != "modal":
        return
    if not isinstance(view.get("title"), dict):
        raise invalid_arguments("missing required field: title")
    has_input = any(block.get("type") == "input" for block in view["blocks"])
    if has_input and not isinstance(view.get("submit"), dict):
        raise invalid_arguments("must provide a submit property when using input blocks")


def run_checker(checker: BlockChecker | None, surface: Surface, payload: dict[str, Any]) -> None:
    if checker is None:
        return
    problems = checker(surface, payload)
    if problems:
        code = "invalid_blocks" if surface == "message" else "invalid_arguments"
        raise SlackError(code, *problems)
