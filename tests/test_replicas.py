"""Several bot processes in HTTP mode sharing one Redis: any replica serves any click, one polls.

Each replica is a real ``collate-handoff-bot run`` process (settings from its environment, its own
polling loop), and they share one Redis server and key prefix. Slack's requests reach them through
a load balancer on loopback that sends each request to the replica the test names (round robin
otherwise), and each replica reaches Collate through its own path on a loopback proxy, so the test
sees which process made which call: in particular, which one polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from blocks import forms
from blocks.card import decode_more_option
from blocks.ids import ActionId, CallbackId
from sim.collate import CollateSimulator, SimSettings
from sim.slack import SimMessage, SlackPerson, SlackSimulator, all_text
from tests.harness import BOT_TOKEN, COLLATE_KEY, DEFAULT_REDIS_URL, SIGNING_SECRET, eventually

pytestmark = pytest.mark.redis_server

LIST = "/v1/prior-authorizations"
POLL_SECONDS = 0.2
LEASE_SECONDS = 2.0
PASSTHROUGH = ("content-type", "x-request-id", "retry-after", "location")


async def shared_redis_url() -> str:
    """Replicas are separate processes: they need a real Redis server to share."""
    url = os.environ.get("HANDOFF_BOT_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    probe = Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        await probe.ping()
    except Exception:
        if os.environ.get("HANDOFF_BOT_REQUIRE_REDIS") == "1":
            pytest.fail(f"a real Redis server is required and none answers at {url}")
        pytest.skip(f"replicas need a real Redis server; none answers at {url}")
    finally:
        await probe.aclose()
    return url


class Server:
    """A small aiohttp server on a free loopback port."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(auto_decompress=False)
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def forward(self, request: web.Request, target: str) -> web.Response:
        assert self.session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with self.session.request(
            request.method,
            target,
            params=request.query,
            data=await request.read(),
            headers=headers,
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() in PASSTHROUGH}
            return web.Response(status=answer.status, body=body, headers=kept)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.session is not None:
            await self.session.close()


class LoadBalancer(Server):
    """``/slack/events`` to the replica named next in ``route``, else round robin."""

    def __init__(self) -> None:
        super().__init__()
        self.backends: dict[str, int] = {}
        self.route: list[str] = []
        self.served: list[str] = []
        self._turn = itertools.count()
        self.app.router.add_post("/slack/events", self._events)

    async def _events(self, request: web.Request) -> web.Response:
        if self.route:
            name = self.route.pop(0)
        else:
            names = sorted(self.backends)
            name = names[next(self._turn) % len(names)]
        self.served.append(name)
        return await self.forward(request, f"http://127.0.0.1:{self.backends[name]}/slack/events")


@dataclass(frozen=True)
class Seen:
    replica: str
    method: str
    path: str


class CollateProxy(Server):
    """``/<replica>/<path>`` to the Collate simulator's ``/<path>``, noting who asked."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self._upstream = upstream.rstrip("/")
        self.seen: list[Seen] = []
        self.app.router.add_route("*", "/{replica}/{path:.*}", self._forward)

    async def _forward(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        self.seen.append(Seen(request.match_info["replica"], request.method, path))
        return await self.forward(request, self._upstream + path)

    def listers(self, since: int = 0) -> list[str]:
        """Replicas that listed Collate, in order, from request number ``since`` on."""
        return [s.replica for s in self.seen[since:] if s.method == "GET" and s.path == LIST]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_command() -> list[str]:
    script = Path(sys.executable).with_name("collate-handoff-bot")
    if script.exists():
        return [str(script), "run"]
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "run"]


@dataclass
class Replica:
    name: str
    port: int
    process: asyncio.subprocess.Process

    async def ready(self) -> bool:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{self.port}/readyz") as answer,
            ):
                return answer.status == 200
        except aiohttp.ClientError:
            return False

    async def end(self, signum: int = signal.SIGTERM) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@dataclass
class Floor:
    """The product with several replicas, and what the test can see of it."""

    collate: CollateSimulator
    slack: SlackSimulator
    balancer: LoadBalancer
    proxy: CollateProxy
    redis: Redis
    prefix: str
    channel: str
    people: dict[str, SlackPerson]
    environment: dict[str, str]
    logs: Path
    replicas: dict[str, Replica] = field(default_factory=dict)

    async def start_replica(self, name: str) -> Replica:
        port = free_port()
        env = {
            **self.environment,
            "COLLATE_BASE_URL": f"{self.proxy.url}/{name}",
            "PORT": str(port),
        }
        with (self.logs / f"replica-{name}.log").open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *bot_command(), env=env, stdout=log, stderr=log
            )
        replica = Replica(name, port, process)
        await eventually(replica.ready, within=30, what=f"replica {name} to be ready")
        self.replicas[name] = replica
        self.balancer.backends[name] = port
        return replica

    async def kill(self, name: str) -> None:
        replica = self.replicas.pop(name)
        del self.balancer.backends[name]
        await replica.end(signal.SIGKILL)

    def cards(self) -> list[SimMessage]:
        return self.slack.messages(self.channel)

    def card_for(self, case_id: str) -> SimMessage:
        found = [card for card in self.cards() if case_id in all_text(card)]
        assert len(found) == 1, f"{len(found)} cards for {case_id}"
        return found[0]

    def dm_messages(self, person: SlackPerson) -> list[SimMessage]:
        channel = self.slack.dm_channel_id(person.id)
        return self.slack.messages(channel) if channel else []

    async def lease_holder(self) -> str | None:
        holder = await self.redis.get(f"{self.prefix}:lease:watcher")
        return None if holder is None else str(holder)


@asynccontextmanager
async def floor(tmp_path: Path, replicas: int) -> AsyncIterator[Floor]:
    redis_url = await shared_redis_url()
    collate = CollateSimulator(
        api_key=COLLATE_KEY, settings=SimSettings(reconcile_delay_seconds=0.2)
    )
    slack = SlackSimulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN)
    collate_url = await collate.start()
    slack_url = await slack.start()
    people = {name: slack.add_user(name) for name in ("maria", "lee", "sam", "ana")}
    channel = slack.add_channel("prior-auth-handoffs", members=[p.id for p in people.values()])
    balancer, proxy = LoadBalancer(), CollateProxy(collate_url)
    await balancer.start()
    await proxy.start()
    slack.set_request_url(f"{balancer.url}/slack/events")
    prefix = "r" + uuid.uuid4().hex[:10]
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_url,
        "COLLATE_API_KEY": COLLATE_KEY,
        "HANDOFF_CHANNEL": channel,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "POLL_INTERVAL_SECONDS": str(POLL_SECONDS),
        "WATCHER_LEASE_SECONDS": str(LEASE_SECONDS),
        "LOG_LEVEL": "INFO",
    }
    redis = Redis.from_url(redis_url, decode_responses=True)
    world = Floor(
        collate, slack, balancer, proxy, redis, prefix, channel, people, environment, tmp_path
    )
    try:
        await asyncio.gather(*(world.start_replica(chr(ord("a") + n)) for n in range(replicas)))
        yield world
    finally:
        await asyncio.gather(*(replica.end() for replica in world.replicas.values()))
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await balancer.stop()
        await proxy.stop()
        await slack.stop()
        await collate.stop()


def action_ids(message: SimMessage) -> set[str]:
    found = set()
    for block in message.blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if isinstance(element, dict) and "action_id" in element:
                found.add(str(element["action_id"]))
    return found


def link_urls(message: SimMessage) -> list[str]:
    urls = []
    for block in message.blocks:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("type") == "button" and "url" in element:
                urls.append(str(element["url"]))
    return urls


async def whole_handoff(world: Floor, person: SlackPerson, case_id: str, route: list[str]) -> None:
    """Accept, new link, complete button, submit: each click to the replica ``route`` names."""
    world.balancer.route = list(route)
    card = world.card_for(case_id)
    assert (await person.click(world.channel, card.ts, ActionId.ACCEPT.value)).status == 200
    await eventually(
        lambda: ActionId.COMPLETE.value in action_ids(world.card_for(case_id)),
        what=f"{case_id} accepted",
    )
    dm = await eventually(
        lambda: next((m for m in world.dm_messages(person) if link_urls(m)), None),
        what="the DM with the link",
    )
    first_url = link_urls(dm)[0]
    assert (await person.click(dm.channel, dm.ts, ActionId.NEW_LINK.value)).status == 200
    await eventually(
        lambda: link_urls(world.slack.message(dm.channel, dm.ts)) not in ([], [first_url]),
        what="a new link in the same DM",
    )
    assert (await person.click(world.channel, card.ts, ActionId.COMPLETE.value)).status == 200
    modal = await eventually(lambda: world.slack.views(person.id), what="the complete modal")
    assert modal[-1].callback_id == CallbackId.COMPLETE.value
    values = {
        forms.COMPLETE_OUTCOME_BLOCK: {forms.COMPLETE_OUTCOME_ACTION: "submitted"},
        forms.COMPLETE_REFERENCE_BLOCK: {forms.COMPLETE_REFERENCE_ACTION: f"REF-{case_id}"},
    }
    answer = await person.submit_view(modal[-1].id, values)
    assert answer.view_outcome == "closed"
    await eventually(
        lambda: (
            f"REF-{case_id}" in all_text(world.card_for(case_id))
            and not link_urls(world.slack.message(dm.channel, dm.ts))
        ),
        what=f"{case_id} reported, the link gone from the DM",
    )


async def test_every_flow_works_whichever_replica_gets_each_click(tmp_path: Path) -> None:
    async with floor(tmp_path, replicas=2) as world:
        maria, lee = world.people["maria"], world.people["lee"]
        first = world.collate.add_authorization(review=True, case_id="CASE-7001")
        second = world.collate.add_authorization(review=False, case_id="CASE-7002")
        for auth in (first, second):
            world.collate.set_reconcile_result("completed:approved", auth["id"])
        await eventually(lambda: len(world.cards()) == 2, what="both cards")

        await whole_handoff(world, maria, "CASE-7001", ["a", "b", "a", "b"])
        await whole_handoff(world, lee, "CASE-7002", ["b", "a", "b", "a"])
        assert world.balancer.served == ["a", "b", "a", "b", "b", "a", "b", "a"]

        for auth, case_id in ((first, "CASE-7001"), (second, "CASE-7002")):
            assert world.collate.handoff_creates(auth["id"]) == 1
            world.collate.advance(1.0)
            await eventually(
                lambda case_id=case_id: "Approved" in all_text(world.card_for(case_id)),
                within=15,
                what=f"{case_id} settled by whichever replica polls",
            )
        callers = {seen.replica for seen in world.proxy.seen if seen.method == "POST"}
        assert callers == {"a", "b"}, "both replicas wrote to Collate for the clicks they got"


def more_option(card: SimMessage, action: ActionId) -> str:
    """The value of ``action`` in the card's overflow menu."""
    for block in card.blocks:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id") == ActionId.MORE.value:
                for option in element["options"]:
                    if decode_more_option(option["value"])[0] is action:
                        return str(option["value"])
    raise AssertionError(f"the card offers no {action.value} in its overflow")


async def test_a_revoke_and_the_new_offer_after_it_work_across_replicas(tmp_path: Path) -> None:
    async with floor(tmp_path, replicas=2) as world:
        lee = world.people["lee"]
        auth = world.collate.add_authorization(review=False, case_id="CASE-7004")
        await eventually(lambda: len(world.cards()) == 1, what="the card")
        card = world.card_for("CASE-7004")

        world.balancer.route = ["b", "a", "b"]
        await lee.click(world.channel, card.ts, ActionId.ACCEPT.value)
        await eventually(
            lambda: ActionId.MORE.value in action_ids(world.card_for("CASE-7004")),
            what="the accepted card with its overflow menu",
        )
        card = world.card_for("CASE-7004")
        option = more_option(card, ActionId.REVOKE)
        await lee.select(world.channel, card.ts, ActionId.MORE.value, option)
        modal = await eventually(lambda: world.slack.views(lee.id), what="the revoke modal")
        assert modal[-1].callback_id == CallbackId.REVOKE.value
        reason = {forms.REVOKE_REASON_BLOCK: {forms.REVOKE_REASON_ACTION: "case_changed"}}
        assert (await lee.submit_view(modal[-1].id, reason)).view_outcome == "closed"
        assert world.balancer.served == ["b", "a", "b"]

        # Collate reconciles a revoked handoff into a new offer: whichever replica polls posts
        # its card, once.
        world.collate.advance(1.0)
        await eventually(
            lambda: len([c for c in world.cards() if "CASE-7004" in all_text(c)]) == 2,
            within=15,
            what="a new card for the new offer",
        )
        old, new = [c for c in world.cards() if "CASE-7004" in all_text(c)]
        assert "Revoked" in all_text(world.slack.message(world.channel, old.ts))
        assert ActionId.ACCEPT.value in action_ids(new)
        assert world.collate.handoff_creates(auth["id"]) == 1
        assert len([r for r in world.collate.requests if r.path.endswith("/revoke")]) == 1


async def test_simultaneous_accepts_on_two_replicas_make_exactly_one_handoff(
    tmp_path: Path,
) -> None:
    async with floor(tmp_path, replicas=2) as world:
        sam, ana = world.people["sam"], world.people["ana"]
        auth = world.collate.add_authorization(review=False, case_id="CASE-7003")
        await eventually(lambda: len(world.cards()) == 1, what="the card")
        card = world.card_for("CASE-7003")

        world.balancer.route = ["a", "b"]
        answers = await asyncio.gather(
            sam.click(world.channel, card.ts, ActionId.ACCEPT.value),
            ana.click(world.channel, card.ts, ActionId.ACCEPT.value),
        )
        assert [a.status for a in answers] == [200, 200]
        assert sorted(world.balancer.served) == ["a", "b"]
        accepted = await eventually(
            lambda: (
                (c := world.card_for("CASE-7003"))
                and ActionId.COMPLETE.value in action_ids(c)
                and c
            ),
            what="the accepted card",
        )
        winner = sam if f"<@{sam.id}>" in all_text(accepted) else ana
        loser = ana if winner is sam else sam
        await eventually(
            lambda: world.slack.ephemerals(user=loser.id), what="the other person to be told"
        )
        await eventually(lambda: world.dm_messages(winner), what="the link in the winner's DM")
        assert world.collate.handoff_creates(auth["id"]) == 1
        assert not world.dm_messages(loser)


async def test_one_replica_polls_and_another_takes_over_when_it_is_killed(
    tmp_path: Path,
) -> None:
    async with floor(tmp_path, replicas=3) as world:
        await eventually(lambda: world.proxy.listers(), within=30, what="a replica to poll")
        leader = world.proxy.listers()[0]
        holder = await world.lease_holder()
        assert holder is not None
        before = [
            world.collate.add_authorization(review=False, case_id=f"CASE-71{n:02d}")["id"]
            for n in range(3)
        ]
        await eventually(lambda: len(world.cards()) == 3, what="the first cards")
        await eventually(lambda: len(world.proxy.listers()) >= 10, what="ten polls by the leader")
        assert set(world.proxy.listers()) == {leader}, "only the lease holder polls"

        killed_at = len(world.proxy.seen)
        await world.kill(leader)
        during = [
            world.collate.add_authorization(review=False, case_id=f"CASE-72{n:02d}")["id"]
            for n in range(3)
        ]
        await eventually(
            lambda: world.proxy.listers(killed_at),
            within=4 * LEASE_SECONDS + 20,
            what="another replica to take the watcher over",
        )
        successor = world.proxy.listers(killed_at)[0]
        took_over_at = len(world.proxy.seen)
        await eventually(lambda: len(world.cards()) == 6, what="cards for the new offers")
        # NOTE: if the killed replica held an authorization's lock, the new leader's cycles
        # wait on it (up to 10 s each) until it expires, so only a few more polls are awaited.
        await eventually(
            lambda: len(world.proxy.listers(took_over_at)) >= 3,
            within=60,
            what="three polls after it",
        )

        assert successor != leader
        assert set(world.proxy.listers(killed_at)) == {successor}, "still exactly one poller"
        assert await world.lease_holder() not in (None, holder)
        for case_id in [f"CASE-7{batch}{n:02d}" for batch in (1, 2) for n in range(3)]:
            world.card_for(case_id)  # exactly one card each
        assert len(world.cards()) == len(before) + len(during), "no offer missed or doubled"
