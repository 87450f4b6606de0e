"""The workspace the bot lives in: people, channels, user groups, messages and views."""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.slack.clock import SimClock
from sim.slack.ids import IdMinter, TsMinter
from sim.slack.records import Block, SimEphemeral, SimMessage, SimView


@dataclass
class SimUser:
    id: str
    name: str
    is_bot: bool = False

    @property
    def real_name(self) -> str:
        return self.name.replace(".", " ").replace("_", " ").title()


@dataclass
class SimChannel:
    id: str
    name: str
    members: set[str]
    bot_member: bool
    created: int
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None

    def can_see(self, user_id: str) -> bool:
        return user_id in self.members or (not self.is_private and not self.is_im)


@dataclass
class SimUsergroup:
    id: str
    handle: str
    users: list[str] = field(default_factory=list)


class Workspace:
    """One team's state. Plain data and lookups; the Web API methods enforce Slack's rules."""

    def __init__(self, team_id: str, clock: SimClock) -> None:
        self.team_id = team_id
        self.team_name = "Sim Workspace"
        self.team_domain = "sim-workspace"
        self.enterprise_id: str | None = None
        self.api_app_id = "A0SIM"
        self.bot_user_id = "U0SIMBOT"
        self.bot_id = "B0SIMBOT"
        self.clock = clock
        self.ids = IdMinter()
        self.ts = TsMinter(clock)
        self.users: dict[str, SimUser] = {}
        self.channels: dict[str, SimChannel] = {}
        self.usergroups: dict[str, SimUsergroup] = {}
        self.posted: dict[str, list[SimMessage]] = {}
        self.ephemerals: list[SimEphemeral] = []
        self.modal_stacks: dict[str, list[SimView]] = {}
        self.homes: dict[str, SimView] = {}
        self._dms: dict[str, str] = {}
        self.users[self.bot_user_id] = SimUser(self.bot_user_id, "collate-handoff-bot", True)

    def add_user(self, name: str, *, is_bot: bool = False) -> SimUser:
        user = SimUser(self.ids.next("U"), name, is_bot)
        self.users[user.id] = user
        return user

    def add_channel(
        self, name: str, members: list[str], *, bot_member: bool, is_private: bool
    ) -> SimChannel:
        channel = SimChannel(
            self.ids.next("C"),
            name.lstrip("#"),
            set(members),
            bot_member,
            int(self.clock.now()),
            is_private=is_private,
        )
        self.channels[channel.id] = channel
        return channel

    def open_dm(self, user_id: str) -> tuple[SimChannel, bool]:
        """The bot's DM with ``user_id`` (stable id), and whether it already existed."""
        existing = self._dms.get(user_id)
        if existing is not None:
            return self.channels[existing], True
        channel = SimChannel(
            self.ids.next("D"),
            user_id,
            {user_id},
            True,
            int(self.clock.now()),
            is_private=True,
            is_im=True,
            im_user=user_id,
        )
        self.channels[channel.id] = channel
        self._dms[user_id] = channel.id
        return channel, False

    def open_mpim(self, user_ids: list[str]) -> SimChannel:
        for channel in self.channels.values():
            if channel.is_mpim and channel.members == set(user_ids):
                return channel
        name = "mpdm-" + "--".join(self.users[user].name for user in user_ids) + "-1"
        channel = SimChannel(
            self.ids.next("G"), name, set(user_ids), True, int(self.clock.now()), True
        )
        channel.is_mpim = True
        self.channels[channel.id] = channel
        return channel

    def dm_channel_id(self, user_id: str) -> str | None:
        return self._dms.get(user_id)

    def channel_by_ref(self, ref: str) -> SimChannel | None:
        """A channel by id or name (``#name``), as ``chat.postMessage`` accepts either."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.lstrip("#")
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def channel(self, channel_id: str) -> SimChannel:
        channel = self.channels.get(channel_id)
        if channel is None:
            known = ", ".join(f"{c.id} ({c.name})" for c in self.channels.values()) or "none"
            raise KeyError(f"no channel {channel_id!r} in the simulated workspace; known: {known}")
        return channel

    def post(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        blocks: list[Block],
        *,
        thread_ts: str | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        reply_broadcast: bool = False,
    ) -> SimMessage:
        message = SimMessage(
            channel=channel_id,
            ts=self.ts.next(channel_id),
            thread_ts=thread_ts,
            text=text,
            blocks=blocks,
            user=user_id,
            bot_id=self.bot_id if user_id == self.bot_user_id else None,
            unfurl_links=unfurl_links,
            unfurl_media=unfurl_media,
            reply_broadcast=reply_broadcast,
        )
        self.posted.setdefault(channel_id, []).append(message)
        return message

    def find_message(self, channel_id: str, ts: str) -> SimMessage | None:
        return next((m for m in self.posted.get(channel_id, []) if m.ts == ts), None)

    def top_level(self, channel_id: str, *, include_deleted: bool = False) -> list[SimMessage]:
        return [
            m
            for m in self.posted.get(channel_id, [])
            if (not m.is_reply or m.reply_broadcast) and (include_deleted or not m.deleted)
        ]

    def replies(
        self, channel_id: str, thread_ts: str, *, include_deleted: bool = False
    ) -> list[SimMessage]:
        return [
            m
            for m in self.posted.get(channel_id, [])
            if m.thread_ts == thread_ts and (include_deleted or not m.deleted)
        ]

    def find_ephemeral(self, channel_id: str, ts: str, user_id: str) -> SimEphemeral | None:
        return next(
            (
                e
                for e in self.ephemerals
                if e.channel == channel_id and e.ts == ts and e.user == user_id and not e.deleted
            ),
            None,
        )

    def find_view(self, view_id: str) -> SimView | None:
        for stack in self.modal_stacks.values():
            for view in stack:
                if view.id == view_id:
                    return view
        return next((home for home in self.homes.values() if home.id == view_id), None)

    def live_views(self) -> list[SimView]:
        views = [view for stack in self.modal_stacks.values() for view in stack]
        return views + list(self.homes.values())
