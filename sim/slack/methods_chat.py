"""``chat.*`` and ``conversations.*``: messages in channels and DMs."""

from __future__ import annotations

from typing import Any

from sim.slack.args import Args
from sim.slack.blockkit import parse_message_blocks, run_checker, with_block_ids
from sim.slack.contract import SlackError
from sim.slack.objects import conversation_object, message_object, updated_message_object
from sim.slack.records import Block, SimEphemeral, SimMessage
from sim.slack.state import Method, SimState
from sim.slack.workspace import SimChannel, Workspace

MAX_GROUP_DM_USERS = 8


def post_message(state: SimState, args: Args) -> dict[str, Any]:
    ws = state.workspace
    channel = _postable_channel(ws, args.required("channel"))
    text, blocks = _content(state, args, previous=None)
    message = ws.post(
        channel.id,
        ws.bot_user_id,
        text,
        blocks,
        thread_ts=_thread_root(ws, channel.id, args.text("thread_ts")),
        unfurl_links=args.flag("unfurl_links"),
        unfurl_media=args.flag("unfurl_media"),
        reply_broadcast=bool(args.flag("reply_broadcast")),
    )
    return {"channel": channel.id, "ts": message.ts, "message": message_object(ws, message)}


def update_message(state: SimState, args: Args) -> dict[str, Any]:
    ws = state.workspace
    channel = _existing_channel(ws, args.required("channel"))
    message = _bot_message(ws, channel.id, args.required("ts"), "cant_update_message")
    text, blocks = _content(state, args, previous=message)
    message.edits.append((message.text, message.blocks))
    message.text, message.blocks = text, blocks
    return {
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": updated_message_object(ws, message),
    }


def delete_message(state: SimState, args: Args) -> dict[str, Any]:
    ws = state.workspace
    channel = _existing_channel(ws, args.required("channel"))
    message = _bot_message(ws, channel.id, args.required("ts"), "cant_delete_message")
    message.deleted = True
    return {"channel": channel.id, "ts": message.ts}


def post_ephemeral(state: SimState, args: Args) -> dict[str, Any]:
    ws = state.workspace
    channel = _existing_channel(ws, args.required("channel"))
    if not channel.bot_member:
        raise SlackError("not_in_channel")
    user_id = args.required("user")
    if user_id not in channel.members:
        raise SlackError("user_not_in_channel")
    text, blocks = _content(state, args, previous=None)
    thread_ts = _thread_root(ws, channel.id, args.text("thread_ts"))
    ephemeral = SimEphemeral(channel.id, user_id, ws.ts.next(channel.id), thread_ts, text, blocks)
    ws.ephemerals.append(ephemeral)
    return {"message_ts": ephemeral.ts}


def get_permalink(state: SimState, args: Args) -> dict[str, Any]:
    ws = state.workspace
    channel = _existing_channel(ws, args.required("channel"))
    message = ws.find_message(channel.id, args.required("message_ts"))
    if message is None or message.deleted:
        raise SlackError("message_not_found")
    archive = f"https://{ws.team_domain}.slack.com/archives/{channel.id}"
    link = f"{archive}/p{message.ts.replace('.', '')}"
    if message.thread_ts is not None:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


def open_conversation(state: SimState, args: Args) -> dict[str, Any]:
    ws = state.workspace
    existing_id = args.text("channel")
    if existing_id:
        channel = ws.channels.get(existing_id)
        if channel is None or not (channel.is_im or channel.is_mpim):
            raise SlackError("channel_not_found")
        return {"channel": {"id": channel.id}}
    channel, already_open = _open_for_users(ws, args.user_list("users"))
    body: dict[str, Any] = {"channel": {"id": channel.id}}
    if args.flag("return_im"):
        body["channel"] = conversation_object(ws, channel)
    if already_open:
        body.update(no_op=True, already_open=True)
    return body


def conversation_info(state: SimState, args: Args) -> dict[str, Any]:
    ws = state.workspace
    channel = _existing_channel(ws, args.required("channel"))
    num_members = bool(args.flag("include_num_members"))
    return {"channel": conversation_object(ws, channel, num_members=num_members)}


def _open_for_users(ws: Workspace, user_ids: list[str]) -> tuple[SimChannel, bool]:
    others = [user for user in user_ids if user != ws.bot_user_id]
    if not user_ids:
        raise SlackError("users_list_not_supplied")
    if not others:
        raise SlackError("not_enough_users")
    if len(others) > MAX_GROUP_DM_USERS:
        raise SlackError("too_many_users")
    if any(user not in ws.users for user in others):
        raise SlackError("user_not_found")
    if len(others) == 1:
        return ws.open_dm(others[0])
    return ws.open_mpim(others), False


def _content(
    state: SimState, args: Args, *, previous: SimMessage | None
) -> tuple[str, list[Block]]:
    """The message's text and blocks after this call; omitted ones keep their old value."""
    markdown_text = args.text("markdown_text")
    if markdown_text is not None and (args.present("text") or args.present("blocks")):
        raise SlackError("markdown_text_conflict")
    blocks = parse_message_blocks(args.raw("blocks"))
    text = args.text("text")
    if markdown_text is not None:
        text, blocks = markdown_text, [{"type": "markdown", "text": markdown_text}]
    if previous is not None:
        text = previous.text if text is None else text
        blocks = previous.blocks if blocks is None else blocks
    if not text and not blocks:
        raise SlackError("no_text")
    run_checker(state.block_checker, "message", {"blocks": blocks or []})
    return text or "", with_block_ids(blocks or [], state.workspace.ids)


def _postable_channel(ws: Workspace, ref: str) -> SimChannel:
    if ref in ws.users and ref != ws.bot_user_id:
        return ws.open_dm(ref)[0]
    channel = ws.channel_by_ref(ref)
    if channel is None or (channel.is_private and not channel.bot_member):
        raise SlackError("channel_not_found")
    if not channel.bot_member:
        raise SlackError("not_in_channel")
    return channel


def _existing_channel(ws: Workspace, channel_id: str) -> SimChannel:
    channel = ws.channels.get(channel_id)
    if channel is None or (channel.is_private and not channel.bot_member):
        raise SlackError("channel_not_found")
    return channel


def _bot_message(ws: Workspace, channel_id: str, ts: str, not_ours: str) -> SimMessage:
    message = ws.find_message(channel_id, ts)
    if message is None or message.deleted:
        raise SlackError("message_not_found")
    if message.user != ws.bot_user_id:
        raise SlackError(not_ours)
    return message


def _thread_root(ws: Workspace, channel_id: str, thread_ts: str | None) -> str | None:
    # NOTE: a reply's ts as thread_ts lands in the parent's thread, which is where Slack puts it.
    if not thread_ts:
        return None
    target = ws.find_message(channel_id, thread_ts)
    if target is not None and target.thread_ts is not None:
        return target.thread_ts
    return thread_ts


METHODS: dict[str, Method] = {
    "chat.postMessage": post_message,
    "chat.update": update_message,
    "chat.delete": delete_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
    "conversations.open": open_conversation,
    "conversations.info": conversation_info,
}
