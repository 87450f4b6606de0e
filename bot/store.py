"""The bot's state in Redis: card records, claims, locks, the watcher lease and event dedupe.

What is kept: ids, states, versions, the shown snapshot id, Slack channel and ts, who accepted,
times, and the operator's enum report with its reference number. Never grant URLs, review
summaries, notes or tokens. Every key lives under one prefix; a record expires once its case is
final.

Keys (``p`` = ``REDIS_KEY_PREFIX``):

- ``p:card:<authorization id>`` hash: the current card of that authorization (``CardRecord``)
- ``p:tracked`` set: authorizations the watcher follows until their case is final
- ``p:claim:<authorization id>:<generation>``: who is accepting that offer (``SET NX``)
- ``p:lock:<authorization id>``: serializes record writes and card edits across replicas
- ``p:lease:watcher``: which replica polls Collate
- ``p:event:<event id>``: Slack events already handled
- ``p:group:<user group id>`` set: cached members of a Slack user group (plus a marker member)
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import MISSING, asdict, dataclass, fields, replace
from typing import Any, Self, cast

from redis.asyncio import Redis

from blocks.model import CardPhase

logger = logging.getLogger(__name__)

FINAL_RECORD_TTL_SECONDS = 7 * 24 * 3600
CLAIM_TTL_SECONDS = 24 * 3600
EVENT_TTL_SECONDS = 3600
LOCK_TTL_SECONDS = 15.0
"""A lock outlives no holder by more than this; a click waits a little longer than it, so a dead
replica's lock delays a person's click (who is told "working on it") but never refuses it."""
_GROUP_MARKER = "*"
"""Stored with a group's members so that an empty group is still a cached answer."""

_RELEASE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class LockTimeout(Exception):
    """Another replica held an authorization's lock for longer than we may wait."""


@dataclass(frozen=True)
class CardRecord:
    """The bot's memory of one authorization's current card."""

    authorization_id: str
    generation: int
    phase: CardPhase
    version: int
    channel: str
    ts: str = ""
    post_failed: bool = False
    """Slack refused to post the card (so no card exists yet): the watcher posts it again."""
    offered_at: float = 0.0
    snapshot_id: str = ""
    review_updated: bool = False
    handoff_id: str = ""
    acceptor: str = ""
    accepted_at: float = 0.0
    final_submit_capable: bool = False
    dm_channel: str = ""
    dm_ts: str = ""
    dm_has_link: bool = False
    grant_expires_at: float = 0.0
    handoff_result: str = ""
    report_kind: str = ""
    report_outcome: str = ""
    report_reference: str = ""
    report_reason: str = ""
    closed_by: str = ""
    predecessor_channel: str = ""
    predecessor_ts: str = ""
    successor_ts: str = ""
    settled_at: float = 0.0
    final: bool = False
    """The case is over for this card: once nothing is ``pending``, polling stops and it expires."""
    pending: str = ""
    """Slack deliveries this record still owes (``bot.publishing.Delivery``), comma-separated."""

    def to_redis(self) -> dict[str, str]:
        """The fields that differ from their defaults (the rest read back as defaults)."""
        defaults = _DEFAULTS
        return {
            name: _encode(value)
            for name, value in asdict(self).items()
            if name not in defaults or defaults[name] != value
        }

    @classmethod
    def from_redis(cls, raw: Mapping[str, str]) -> Self:
        values: dict[str, Any] = {}
        for spec in fields(cls):
            if spec.name in raw:
                values[spec.name] = _decode(spec.type, raw[spec.name])
        return cls(**values)

    def evolve(self, **changes: Any) -> CardRecord:
        return replace(self, **changes)


_DEFAULTS = {spec.name: spec.default for spec in fields(CardRecord) if spec.default is not MISSING}


def _encode(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _decode(type_name: object, raw: str) -> object:
    decoders: dict[str, Any] = {
        "int": int,
        "float": float,
        "bool": lambda text: text == "1",
        "CardPhase": CardPhase,
    }
    decoder = decoders.get(str(type_name))
    return decoder(raw) if decoder else raw


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Store:
    """Typed access to the bot's Redis keys. One instance per process, shared by all tasks."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, *parts: str) -> str:
        return ":".join((self._prefix, *parts))

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def load(self, authorization_id: str) -> CardRecord | None:
        raw = await self._redis.hgetall(self._key("card", authorization_id))
        return CardRecord.from_redis({_text(k): _text(v) for k, v in raw.items()}) if raw else None

    async def save(self, record: CardRecord) -> None:
        """Replace the whole record (``DEL`` clears any expiry); a final record that owes nothing
        stops being followed and expires."""
        key = self._key("card", record.authorization_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=cast(Mapping[Any, Any], record.to_redis()))
            if record.final and not record.pending:
                pipe.expire(key, FINAL_RECORD_TTL_SECONDS)
                pipe.srem(self._key("tracked"), record.authorization_id)
            else:
                pipe.sadd(self._key("tracked"), record.authorization_id)
            await pipe.execute()

    async def tracked(self) -> set[str]:
        return {_text(member) for member in await self._redis.smembers(self._key("tracked"))}

    async def claim(self, record: CardRecord, user_id: str) -> str:
        """Claim the record's offer for a person; return who holds the claim now."""
        key = self._key("claim", record.authorization_id, str(record.generation))
        if await self._redis.set(key, user_id, nx=True, ex=CLAIM_TTL_SECONDS):
            return user_id
        holder = await self._redis.get(key)
        return _text(holder) if holder else user_id

    async def claim_holder(self, record: CardRecord) -> str | None:
        holder = await self._redis.get(
            self._key("claim", record.authorization_id, str(record.generation))
        )
        return _text(holder) if holder else None

    async def release_claim(self, record: CardRecord, user_id: str) -> None:
        """Give up a claim whose accept did not go through, so someone else may try."""
        key = self._key("claim", record.authorization_id, str(record.generation))
        await self._redis.eval(_RELEASE_IF_OWNER, 1, key, user_id)

    @asynccontextmanager
    async def locked(
        self, authorization_id: str, *, wait_seconds: float = LOCK_TTL_SECONDS + 1
    ) -> AsyncIterator[None]:
        """Hold the authorization's lock: one writer at a time for its record and its card."""
        key = self._key("lock", authorization_id)
        token = secrets.token_hex(8)
        deadline = time.monotonic() + wait_seconds
        while not await self._redis.set(key, token, nx=True, px=int(LOCK_TTL_SECONDS * 1000)):
            if time.monotonic() > deadline:
                raise LockTimeout(authorization_id)
            await asyncio.sleep(0.02)
        try:
            yield
        finally:
            await self._redis.eval(_RELEASE_IF_OWNER, 1, key, token)

    async def hold_watcher_lease(self, holder: str, lease_seconds: float) -> bool:
        """Take or renew the polling lease; ``False`` when another replica holds it."""
        key = self._key("lease", "watcher")
        lease_ms = str(int(lease_seconds * 1000))
        renewed = await self._redis.eval(_RENEW_IF_OWNER, 1, key, holder, lease_ms)
        if renewed:
            return True
        return bool(await self._redis.set(key, holder, nx=True, px=int(lease_ms)))

    async def release_watcher_lease(self, holder: str) -> None:
        await self._redis.eval(_RELEASE_IF_OWNER, 1, self._key("lease", "watcher"), holder)

    async def cached_group(self, group_id: str) -> frozenset[str] | None:
        """Cached members of a user group, or ``None`` when not cached (or expired)."""
        members = {
            _text(member) for member in await self._redis.smembers(self._key("group", group_id))
        }
        if _GROUP_MARKER not in members:
            return None
        return frozenset(members - {_GROUP_MARKER})

    async def cache_group(
        self, group_id: str, members: frozenset[str], *, ttl_seconds: float
    ) -> None:
        key = self._key("group", group_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.sadd(key, _GROUP_MARKER, *members)
            pipe.pexpire(key, int(ttl_seconds * 1000))
            await pipe.execute()

    async def forget_group(self, group_id: str) -> None:
        await self._redis.delete(self._key("group", group_id))

    async def first_sight_of_event(self, event_id: str) -> bool:
        """``True`` the first time an event id is seen by any replica."""
        key = self._key("event", event_id)
        return bool(await self._redis.set(key, "1", nx=True, ex=EVENT_TTL_SECONDS))
