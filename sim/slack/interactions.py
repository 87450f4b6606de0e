"""What happens when a person uses the bot's messages and views, step by step as Slack does it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.slack.blockkit import parse_view
from sim.slack.capabilities import ResponseUrl
from sim.slack.contract import SlackError
from sim.slack.delivery import AppDelivery
from sim.slack.elements import (
    SELECT_TYPES,
    Element,
    button_action,
    client_side_problem,
    find_element,
    find_option,
    select_action,
    state_entry,
)
from sim.slack.modals import clear_modals, close_view, push_modal, replace_view
from sim.slack.objects import message_object, view_snapshot
from sim.slack.payloads import (
    message_block_actions,
    view_block_actions,
    view_closed,
    view_submission,
)
from sim.slack.records import AppResponse, Block, SimView, ViewOutcome
from sim.slack.state import SimState
from sim.slack.workspace import SimChannel, SimUser

_BUTTON = frozenset({"button"})


@dataclass(frozen=True)
class _Target:
    """A message a person is looking at: a channel message or one of their ephemerals."""

    channel: SimChannel
    ts: str
    thread_ts: str | None
    blocks: list[Block]
    message: dict[str, Any] | None


@dataclass(frozen=True)
class ElementChoice:
    action_id: str
    block_id: str | None = None
    value: str | None = None
    option_value: str | None = None


class Interactions:
    def __init__(self, state: SimState, delivery: AppDelivery) -> None:
        self._state = state
        self._delivery = delivery

    async def on_message(
        self, user: SimUser, channel_id: str, ts: str, choice: ElementChoice
    ) -> AppResponse:
        """A click or selection on a message: ``block_actions`` with a trigger and response_url."""
        target = self._visible_message(user, channel_id, ts)
        where = f"message {ts} in {channel_id}"
        action = self._action(target.blocks, choice, where)
        ws = self._state.workspace
        trigger_id = self._state.triggers.issue(user.id)
        response_url = self._state.response_urls.issue(
            ResponseUrl(
                target.channel.id,
                user.id,
                target.ts,
                target.message is None,
                target.thread_ts,
                self._state.clock.now(),
            )
        )
        payload = message_block_actions(
            ws,
            user,
            channel=target.channel,
            message_ts=target.ts,
            thread_ts=target.thread_ts,
            message=target.message,
            actions=[action],
            trigger_id=trigger_id,
            response_url=response_url,
        )
        answer = await self._delivery.interactive(payload, accepts_response_payload=False)
        answer.trigger_id = trigger_id
        return answer

    async def on_view(self, user: SimUser, view_id: str, choice: ElementChoice) -> AppResponse:
        """A click or selection inside an open modal or the person's Home tab."""
        view = self._visible_view(user, view_id)
        action = self._action(view.blocks, choice, f"view {view_id}")
        trigger_id = self._state.triggers.issue(user.id, view_id=view.id)
        payload = view_block_actions(
            self._state.workspace,
            user,
            view=view_snapshot(view),
            actions=[action],
            trigger_id=trigger_id,
        )
        answer = await self._delivery.interactive(payload, accepts_response_payload=False)
        answer.trigger_id = trigger_id
        return answer

    async def submit(
        self, user: SimUser, view_id: str, values: dict[str, dict[str, Any]]
    ) -> AppResponse:
        view = self._top_modal(user, view_id)
        view.view["state"] = {"values": _state_values(view, values)}
        trigger_id = self._state.triggers.issue(user.id, view_id=view.id)
        payload = view_submission(
            self._state.workspace, user, view=view_snapshot(view), trigger_id=trigger_id
        )
        answer = await self._delivery.interactive(payload, accepts_response_payload=True)
        answer.trigger_id = trigger_id
        answer.view_outcome, answer.problem = self._apply_submission_answer(view, answer)
        return answer

    async def close(self, user: SimUser, view_id: str) -> AppResponse | None:
        """The person closes the modal; ``view_closed`` goes out only if the view asked for it."""
        view = self._top_modal(user, view_id)
        cleared = bool(view.view.get("clear_on_close"))
        snapshot = view_snapshot(view)
        if cleared:
            clear_modals(self._state.workspace, user.id)
        else:
            close_view(self._state.workspace, view)
        if not view.view.get("notify_on_close"):
            return None
        payload = view_closed(self._state.workspace, user, view=snapshot, is_cleared=cleared)
        return await self._delivery.interactive(payload, accepts_response_payload=False)

    def _action(self, blocks: list[Block], choice: ElementChoice, where: str) -> dict[str, Any]:
        action_ts = f"{self._state.clock.now():.6f}"
        if choice.option_value is None:
            block_id, element = find_element(
                blocks,
                choice.action_id,
                types=_BUTTON,
                block_id=choice.block_id,
                value=choice.value,
                where=where,
            )
            return button_action(block_id, element, action_ts)
        block_id, element = find_element(
            blocks, choice.action_id, types=SELECT_TYPES, block_id=choice.block_id, where=where
        )
        option = find_option(element, choice.option_value)
        return select_action(block_id, element, option, action_ts)

    def _visible_message(self, user: SimUser, channel_id: str, ts: str) -> _Target:
        ws = self._state.workspace
        channel = ws.channel(channel_id)
        if not channel.can_see(user.id):
            raise AssertionError(f"{user.name} ({user.id}) cannot see channel {channel_id}")
        message = ws.find_message(channel_id, ts)
        if message is not None and not message.deleted:
            body = message_object(ws, message)
            return _Target(channel, ts, message.thread_ts, message.blocks, body)
        ephemeral = ws.find_ephemeral(channel_id, ts, user.id)
        if ephemeral is not None:
            return _Target(channel, ts, ephemeral.thread_ts, ephemeral.blocks, None)
        present = [m.ts for m in ws.posted.get(channel_id, []) if not m.deleted]
        raise AssertionError(
            f"no message {ts} that {user.name} can see in {channel_id}; messages: {present}"
        )

    def _visible_view(self, user: SimUser, view_id: str) -> SimView:
        home = self._state.workspace.homes.get(user.id)
        if home is not None and home.id == view_id:
            return home
        return self._top_modal(user, view_id)

    def _top_modal(self, user: SimUser, view_id: str) -> SimView:
        stack = self._state.workspace.modal_stacks.get(user.id, [])
        if not stack or stack[-1].id != view_id:
            showing = stack[-1].id if stack else "no modal"
            raise AssertionError(f"view {view_id} is not open for {user.name}; showing: {showing}")
        return stack[-1]

    def _apply_submission_answer(
        self, view: SimView, answer: AppResponse
    ) -> tuple[ViewOutcome, str | None]:
        """What Slack does with the modal after the bot answered a ``view_submission``."""
        if not answer.ok:
            return "kept_open", f"the app did not acknowledge (status {answer.status})"
        body = answer.body
        if body is None and answer.text.strip():
            return "kept_open", "the app answered with a body that is not JSON"
        action = body.get("response_action") if isinstance(body, dict) else None
        ws = self._state.workspace
        if action is None:
            close_view(ws, view)
            return "closed", None
        try:
            return self._respond(view, str(action), body)
        except SlackError as error:
            return "kept_open", f"response_action {action}: {error.code} {error.messages}"

    def _respond(
        self, view: SimView, action: str, body: dict[str, Any]
    ) -> tuple[ViewOutcome, None]:
        ws = self._state.workspace
        if action == "errors":
            _check_errors(view, body.get("errors"))
            return "errors", None
        if action == "update":
            replace_view(ws, view, parse_view(body.get("view"), "modal"), "modal")
            return "updated", None
        if action == "push":
            push_modal(ws, view.user, parse_view(body.get("view"), "modal"))
            return "pushed", None
        if action == "clear":
            clear_modals(ws, view.user)
            return "cleared", None
        raise SlackError("invalid_arguments", f"unknown response_action {action!r}")


def _check_errors(view: SimView, errors: Any) -> None:
    if not isinstance(errors, dict) or not errors:
        raise SlackError("invalid_arguments", "errors must be a non-empty object")
    input_ids = {b.get("block_id") for b in view.blocks if b.get("type") == "input"}
    unknown = sorted(str(key) for key in errors if key not in input_ids)
    if unknown:
        raise SlackError("invalid_arguments", f"errors name blocks that are not inputs: {unknown}")


def _state_values(view: SimView, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``view.state.values`` after a person filled the modal in with ``values`` and pressed submit.

    Inputs not in ``values`` keep what was typed earlier, or their initial value.
    """
    inputs = {str(b["block_id"]): b for b in view.blocks if b.get("type") == "input"}
    _check_addresses(view, inputs, values)
    earlier: dict[str, Any] = view.view.get("state", {}).get("values", {})
    state: dict[str, Any] = {}
    for block_id, block in inputs.items():
        element: Element = block["element"]
        action_id = str(element["action_id"])
        if action_id in values.get(block_id, {}):
            chosen = values[block_id][action_id]
            entry = state_entry(element, chosen)
        elif action_id in earlier.get(block_id, {}):
            entry = earlier[block_id][action_id]
            chosen = _chosen(entry)
        else:
            chosen = _initial(element)
            entry = state_entry(element, chosen)
        problem = client_side_problem(block, element, chosen)
        if problem is not None:
            raise AssertionError(f"Slack would not submit {view.id}: input {block_id!r} {problem}")
        state[block_id] = {action_id: entry}
    return state


def _check_addresses(
    view: SimView, inputs: dict[str, Block], values: dict[str, dict[str, Any]]
) -> None:
    for block_id, by_action in values.items():
        block = inputs.get(block_id)
        if block is None:
            raise AssertionError(
                f"{block_id!r} is not an input block of view {view.id}; inputs: {sorted(inputs)}"
            )
        action_id = block["element"].get("action_id")
        for wanted in by_action:
            if wanted != action_id:
                raise AssertionError(
                    f"input {block_id!r} of view {view.id} has action_id {action_id!r}, "
                    f"not {wanted!r}"
                )


def _initial(element: Element) -> Any:
    if "initial_value" in element:
        return element["initial_value"]
    if "initial_option" in element:
        return element["initial_option"].get("value")
    if "initial_options" in element:
        return [option.get("value") for option in element["initial_options"]]
    return None


def _chosen(entry: dict[str, Any]) -> Any:
    if "value" in entry:
        return entry["value"]
    if entry.get("selected_option"):
        return entry["selected_option"].get("value")
    if "selected_options" in entry:
        return [option.get("value") for option in entry["selected_options"]]
    for key in ("selected_user", "selected_conversation", "selected_channel", "selected_date"):
        if key in entry:
            return entry[key]
    return None
