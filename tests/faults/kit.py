"""The fault suite's world: the product on loopback against a ``redis-server`` the test owns, with
relays (``Tap``) between the bot and each simulator, the watcher polling on its own, and an audit
that feeds the closing table.

A ``Stage`` is one world: the simulators, the Redis server, the taps, and the bot, either in this
process (``kit.stage()``) or as separate processes started with the real CLI
(``kit.stage(processes=True)`` then ``stage.start_process()``), which a test may SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.logs import EventFormatter
from bot.settings import Settings
from sim.collate import SimSettings
from sim.slack import SimMessage, SlackPerson, all_text
from tests.faults.botproc import BotProcess
from tests.faults.recorder import Recorder
from tests.faults.redis_server import RedisServer
from tests.faults.tap import Exchange, Hook, Matcher, Tap
from tests.harness import (
    BOT_TOKEN,
    COLLATE_KEY,
    SIGNING_SECRET,
    BotWorld,
    bot_world,
    eventually,
)

RECONCILE_DELAY_SECONDS = 30.0
"""Collate reconciles a closed handoff this long (simulated) after the close: tests move the
clock on to make it happen at the step they choose."""

TEARDOWN_SECONDS = 45.0
"""A test's teardown (bots drained and stopped, simulators and Redis stopped) ends within this."""

_case_numbers = itertools.count(1)


class LogCapture(logging.Handler):
    """Every record the bot's code logs in this process (the simulators' own are left out)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._formatter = EventFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("sim.", "tests.")):
            return
        self.records.append(record)

    def text(self) -> str:
        lines = []
        for record in self.records:
            with contextlib.suppress(Exception):
                lines.append(self._formatter.format(record))
            lines.append(record.getMessage() + " " + repr(record.__dict__))
        return "\n".join(lines)

    def lines(self) -> str:
        """The records as the bot's own log prints them (for reading after a failure)."""
        lines = []
        for record in self.records:
            with contextlib.suppress(Exception):
                lines.append(f"{record.created:.3f} " + self._formatter.format(record))
        return "\n".join(lines)

    def named(self, event: str) -> list[logging.LogRecord]:
        return [record for record in self.records if record.getMessage() == event]


@dataclass
class Offer:
    """One case the test put in Collate; the audit checks it got one card and one handoff."""

    auth: dict[str, Any]
    case_id: str

    @property
    def id(self) -> str:
        return str(self.auth["id"])


@dataclass
class Stage:
    kit: FaultKit
    world: BotWorld
    slack_tap: Tap
    collate_tap: Tap
    settings: Settings
    relay: Tap | None = None
    """Between the Slack simulator and the bot processes (subprocess stages only)."""
    processes: list[BotProcess] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    audited: bool = False
    _watcher: asyncio.Task[None] | None = None

    # People and cases -------------------------------------------------------------------------

    @property
    def slack(self) -> Any:
        return self.world.slack

    @property
    def collate(self) -> Any:
        return self.world.collate

    def person(self, name: str) -> SlackPerson:
        return self.world.people[name]

    def offer(self, *, review: bool = False, **case: Any) -> Offer:
        """A new offer in Collate, reconciled as approved once its handoff is completed."""
        case_id = f"CASE-F{next(_case_numbers):04d}"
        auth = self.world.collate.add_authorization(review=review, case_id=case_id, **case)
        self.world.collate.set_reconcile_result("completed:approved", auth["id"])
        offer = Offer(auth, case_id)
        self.offers.append(offer)
        return offer

    def cards(self, offer: Offer) -> list[SimMessage]:
        """Every top-level message in the handoff channel about ``offer`` (deleted ones too)."""
        messages = self.world.slack.messages(self.world.channel, include_deleted=True)
        return [message for message in messages if offer.case_id in all_text(message)]

    # The bot ----------------------------------------------------------------------------------

    def watch(self) -> None:
        """Run the watcher's own polling loop in this process, as ``run`` does."""
        assert self._watcher is None
        runtime = self.world.runtime
        self._watcher = asyncio.create_task(runtime.watcher.run(), name="fault-watcher")

    async def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
            self._watcher = None

    def process_env(self) -> dict[str, str]:
        """The environment ``collate-handoff-bot run`` reads, for this stage's settings."""
        settings = self.settings
        env = {
            "SLACK_BOT_TOKEN": settings.slack_bot_token.get_secret_value(),
            "SLACK_API_URL": settings.slack_api_url,
            "COLLATE_API_KEY": settings.collate_api_key.get_secret_value(),
            "COLLATE_BASE_URL": settings.collate_base_url,
            "HANDOFF_CHANNEL": settings.handoff_channel,
            "REDIS_URL": self.kit.redis.url,
            "REDIS_KEY_PREFIX": settings.redis_key_prefix,
            "POLL_INTERVAL_SECONDS": "0.2",
            "WATCHER_LEASE_SECONDS": "1",
            "LOG_LEVEL": "INFO",
        }
        if settings.slack_signing_secret is not None:
            env["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret.get_secret_value()
        for name in ("supervisor_channel", "operator_group", "supervisor_group"):
            value = getattr(settings, name)
            if value:
                env[name.upper()] = str(value)
        return env

    async def start_process(self, name: str | None = None) -> BotProcess:
        """Start one more bot process on this stage's Redis, and route Slack to every live one."""
        name = name or f"bot{len(self.processes) + 1}"
        log_path = self.kit.tmp / f"{name}.log"
        process = BotProcess(self.process_env(), log_path, name=name)
        self.processes.append(process)
        await process.start()
        self.route()
        return process

    def route(self) -> None:
        """Slack's deliveries go, in turn, to every bot process still running."""
        assert self.relay is not None, "a stage with processes=True has the relay"
        self.relay.point_at(*(process.root_url for process in self.processes if process.running))

    async def kill(self, process: BotProcess) -> None:
        self.kit.recorder.fault("sigkill")
        await process.kill()
        self.route()

    def kill_after(self, tap: Tap, matches: Matcher, process: BotProcess) -> Hook:
        """SIGKILL ``process`` the moment ``tap`` has the answer to a matching request, before
        the process gets it (Collate or Slack did its part; the bot never learns of it)."""

        async def kill(_: Exchange) -> None:
            await self.kill(process)

        return tap.on(matches, after=kill)

    async def record(self, offer: Offer) -> dict[str, str]:
        """The bot's card record for ``offer``, as Redis holds it now."""
        client = self.kit.redis.client()
        try:
            raw = await client.hgetall(f"{self.settings.redis_key_prefix}:card:{offer.id}")
        finally:
            await client.aclose()
        return {str(key): str(value) for key, value in raw.items()}

    async def idle(self, offer: Offer) -> None:
        """Wait until the bot is done with the case for now: its record owes Slack nothing and
        nobody holds the case's lock (so a fault injected next hits the next step only)."""
        client = self.kit.redis.client()
        prefix = self.settings.redis_key_prefix

        async def done() -> bool:
            record = await client.hgetall(f"{prefix}:card:{offer.id}")
            locked = await client.exists(f"{prefix}:lock:{offer.id}")
            return bool(record) and not record.get("pending") and not locked

        try:
            await eventually(done, within=10.0, what=f"the bot to be done with {offer.case_id}")
        finally:
            await client.aclose()

    def process_logs(self) -> str:
        return "\n".join(process.log() for process in self.processes)

    def logged(self, event: str) -> int:
        """How many log lines (this process's records and the bot processes' logs) are
        ``event``."""
        in_process = len(self.kit.logs.named(event))
        elsewhere = sum(1 for line in self.process_logs().splitlines() if event in line.split())
        return in_process + elsewhere

    # Faults -----------------------------------------------------------------------------------

    @asynccontextmanager
    async def redis_fault(self, kind: str) -> AsyncIterator[None]:
        self.kit.recorder.fault(f"redis {kind}")
        async with self.kit.redis.fault(kind):
            yield

    def redis_fault_after(
        self, tap: Tap, matches: Matcher, kind: str, *, hold: float = 2.0
    ) -> Hook:
        """The moment ``tap`` has the answer to a matching request, and before the bot gets it,
        Redis starts suffering ``kind``; it recovers ``hold`` seconds later."""

        async def strike(_: Exchange) -> None:
            self.kit.recorder.fault(f"redis {kind}")
            await self.kit.redis.begin(kind)
            self.kit.later(self.kit.redis.recover(kind), after=hold)

        return tap.on(matches, after=strike)

    async def tracked(self) -> set[str]:
        """The authorizations the bot still follows (its ``tracked`` set in Redis)."""
        client = self.kit.redis.client()
        try:
            members = await client.smembers(f"{self.settings.redis_key_prefix}:tracked")
        finally:
            await client.aclose()
        return {str(member) for member in members}

    def slack_fault(self, method: str, error: str, **options: Any) -> None:
        count = int(options.get("count", 1))
        self.kit.recorder.fault(f"slack {error}", count)
        self.world.slack.fail_next(method, error, **options)

    def collate_fault(self, kind: str, count: int = 1) -> None:
        self.kit.recorder.fault(f"collate {kind}", count)

    # The audit --------------------------------------------------------------------------------

    async def audit(self, *, completed: bool = True) -> None:
        """Count this stage's duplicate handoffs, lost cards, leaked secrets and late acks into
        the closing table, and fail the test on any of them."""
        self.audited = True
        duplicates, lost = self._count_cases()
        leaks = await self._leaks()
        recorder = self.kit.recorder
        recorder.leaked_secrets += len(leaks)
        recorder.problems.extend(f"{self.kit.test}: leaked {leak}" for leak in leaks)
        late = recorder.late_acks(self.kit.test)
        clean = not (duplicates or lost or leaks or late)
        if completed and clean:
            recorder.flows_completed += len(self.offers) or 1
        assert not duplicates, f"duplicate handoffs: {duplicates}"
        assert not lost, f"offers without exactly one card: {lost}"
        assert not leaks, f"secrets found where they must never be: {leaks}"
        assert not late, f"acks over 3 s: {late}"

    def _count_cases(self) -> tuple[dict[str, int], dict[str, int]]:
        duplicates: dict[str, int] = {}
        lost: dict[str, int] = {}
        for offer in self.offers:
            creates = self.world.collate.handoff_creates(offer.id)
            if creates > 1:
                duplicates[offer.case_id] = creates
            cards = len(self.cards(offer))
            if cards != 1:
                lost[offer.case_id] = cards
        recorder = self.kit.recorder
        recorder.duplicate_handoffs += sum(count - 1 for count in duplicates.values())
        recorder.lost_cards += len(lost)
        recorder.problems.extend(
            f"{self.kit.test}: {case} had {count} handoffs" for case, count in duplicates.items()
        )
        recorder.problems.extend(
            f"{self.kit.test}: {case} had {count} cards" for case, count in lost.items()
        )
        return duplicates, lost

    def audit_counts_only(self) -> None:
        """For a test that failed before its audit: count what the simulators can still tell."""
        if not self.audited:
            self.audited = True
            self._count_cases()

    async def _leaks(self) -> list[str]:
        secrets = {
            "grant URL": self.world.collate.base_url + "/runtime/access/",
            "Slack bot token": BOT_TOKEN,
            "signing secret": SIGNING_SECRET,
            "Collate key": COLLATE_KEY,
        }
        places = {
            "Redis": await self.kit.redis.dump(),
            "channel messages": self._channel_history(),
            "views": "\n".join(
                str(call.args.get("view", ""))
                for call in self.world.slack.calls
                if call.method.startswith("views.")
            ),
            "logs": self.kit.logs.text() + "\n" + self.process_logs(),
        }
        return [
            f"{secret} in {place}"
            for place, text in places.items()
            for secret, value in secrets.items()
            if value in text
        ]

    def _channel_history(self) -> str:
        """Every channel message (with its earlier versions, blocks and button values) and every
        ephemeral notice; DMs are left out, since the acceptor's DM is where the link belongs."""
        workspace = self.world.slack.workspace
        parts: list[str] = []
        for channel_id, messages in workspace.posted.items():
            channel = workspace.channels.get(channel_id)
            if channel is not None and channel.is_im:
                continue
            for message in messages:
                parts.append(message.text + str(message.blocks) + str(message.edits))
        for notice in workspace.ephemerals:
            parts.append(notice.text + str(notice.blocks) + str(notice.edits))
        return "\n".join(parts)


class FaultKit:
    """One test's fault tooling: its Redis server, its stages, its log capture."""

    def __init__(self, recorder: Recorder, tmp: Path, test: str) -> None:
        self.recorder = recorder
        self.tmp = tmp
        self.test = test
        self.redis = RedisServer(tmp / "redis")
        self.logs = LogCapture()
        self.stages: list[Stage] = []
        self._stack = AsyncExitStack()
        self._root_level = logging.NOTSET
        self._later: list[asyncio.Task[None]] = []

    def later(self, work: Coroutine[Any, Any, object], *, after: float) -> None:
        """Run ``work`` ``after`` seconds from now (a fault's end); teardown waits for it."""

        async def delayed() -> None:
            await asyncio.sleep(after)
            await work

        self._later.append(asyncio.create_task(delayed()))

    async def settle(self) -> None:
        """Wait until every fault scheduled to end has ended."""
        if self._later:
            await asyncio.gather(*self._later, return_exceptions=True)
            self._later.clear()

    async def open(self) -> None:
        await self.redis.start()
        root = logging.getLogger()
        self._root_level = root.level
        root.addHandler(self.logs)
        root.setLevel(logging.INFO)

    async def close(self) -> None:
        """Stop everything this test started, in a bounded time whatever state it is in."""
        try:
            async with asyncio.timeout(TEARDOWN_SECONDS):
                await self.settle()
                for stage in self.stages:
                    await stage.stop_watching()
                    for process in stage.processes:
                        await process.stop()
                    stage.audit_counts_only()
                await self.settle()
                await self.redis.heal()
                await self._stack.aclose()
        finally:
            for stage in self.stages:
                for process in stage.processes:
                    await process.kill()
            (self.tmp / "in-process.log").write_text(self.logs.lines())
            root = logging.getLogger()
            root.removeHandler(self.logs)
            root.setLevel(self._root_level)
            await self.redis.stop()

    async def stage(
        self,
        *,
        processes: bool = False,
        watch: bool = True,
        sim_settings: SimSettings | None = None,
        **world_options: Any,
    ) -> Stage:
        """A world on this kit's Redis. In-process, the watcher polls (unless ``watch=False``);
        with ``processes=True`` the in-process bot is stopped and bot processes are started with
        ``stage.start_process()``."""
        slack_tap = await self._tap()
        collate_tap = await self._tap()
        world = await self._stack.enter_async_context(
            bot_world(
                redis_url=self.redis.url,
                sim_settings=sim_settings
                or SimSettings(reconcile_delay_seconds=RECONCILE_DELAY_SECONDS),
                slack_api_url=slack_tap.url + "/api/",
                collate_base_url=collate_tap.url,
                **world_options,
            )
        )
        slack_tap.point_at(world.slack.api_url.removesuffix("api/"))
        collate_tap.point_at(world.collate.base_url)
        stage = Stage(self, world, slack_tap, collate_tap, world.settings)
        self.stages.append(stage)
        if processes:
            await world.stop_bot()
            stage.relay = await self._tap()
            world.slack.set_request_url(stage.relay.url + "/slack/events")
        elif watch:
            stage.watch()
        return stage

    async def _tap(self) -> Tap:
        tap = await Tap().start()
        self._stack.push_async_callback(tap.stop)
        return tap
