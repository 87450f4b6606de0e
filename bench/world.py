"""The pieces every benchmark builds on: simulators here, bots and baselines in processes.

The Collate and Slack simulators run in the bench process, so the benchmarks can read every call
they answered and when. The bot runs as ``bench.botproc`` (the real ``Runtime`` from the same
settings ``collate-handoff-bot run`` reads), a baseline as ``bench.barebolt``, and requests are
timed by ``bench.loadgen``: three processes, so no timer shares an event loop with a server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from blocks.ids import ActionId, ActionRef, InvalidActionRef
from sim.collate import CollateSimulator, SimSettings
from sim.slack import SimCall, SimMessage, SlackPerson, SlackSimulator

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "build" / "bench"
# Credentials the simulators accept; nothing real.
SIGNING_SECRET = "bench-signing-secret-0123456789"  # noqa: S105
BOT_TOKEN = "xoxb-bench-token-0123456789"  # noqa: S105
APP_TOKEN = "xapp-bench-token-0123456789"  # noqa: S105
COLLATE_KEY = "bench-collate-key-0123456789"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
START_TIMEOUT_SECONDS = 60.0
_KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


def child_environment(settings: dict[str, str]) -> dict[str, str]:
    """A clean environment: nothing of ours leaks in (a stray SLACK_APP_TOKEN would switch the
    bot to Socket Mode), only what a child process needs plus ``settings``."""
    env = {name: os.environ[name] for name in _KEPT_ENVIRONMENT if name in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


async def clear_prefix(prefix: str) -> None:
    """Delete every key a bot wrote under ``prefix``."""
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
    finally:
        await redis.aclose()


def new_prefix() -> str:
    return "bench" + uuid.uuid4().hex[:8]


# The simulators -------------------------------------------------------------------------------


@dataclass
class Simulators:
    """Collate and Slack on loopback, in this process, with a team of people and channels."""

    collate: CollateSimulator
    slack: SlackSimulator
    collate_url: str
    slack_url: str
    people: list[SlackPerson]
    channels: list[str]
    request_url: str = ""

    @classmethod
    async def start(
        cls,
        *,
        people: int = 3,
        channels: int = 1,
        sim_settings: SimSettings | None = None,
        record_limit: int | None = None,
    ) -> Simulators:
        collate = CollateSimulator(
            api_key=COLLATE_KEY, settings=sim_settings, record_limit=record_limit
        )
        slack = SlackSimulator(
            signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN
        )
        collate_url = await collate.start()
        slack_url = await slack.start()
        team = [slack.add_user(f"nurse{number:02d}") for number in range(people)]
        members = [person.id for person in team]
        rooms = [
            slack.add_channel(f"handoffs-{number:02d}", members=members)
            for number in range(channels)
        ]
        return cls(collate, slack, collate_url, slack_url, team, rooms)

    @property
    def channel(self) -> str:
        return self.channels[0]

    def deliver_to(self, url: str) -> None:
        """Where people's clicks go (a bot, or a load balancer in front of several)."""
        self.request_url = url
        self.slack.set_request_url(url)

    def bot_settings(self, prefix: str, **overrides: str) -> dict[str, str]:
        """The bot's environment for these simulators, HTTP mode, polling off by default.

        Posting is unpaced (the simulator's channels are not throttled unless a benchmark says
        so); the burst benchmark sets the product's default pacing itself."""
        settings = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack_url,
            "COLLATE_API_KEY": COLLATE_KEY,
            "COLLATE_BASE_URL": self.collate_url,
            "HANDOFF_CHANNEL": self.channel,
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": prefix,
            "LOG_LEVEL": "INFO",
            "SLACK_POST_SPACING_SECONDS": "0",
        }
        settings.update(overrides)
        return settings

    async def stop(self) -> None:
        await self.slack.stop()
        await self.collate.stop()


# What people see -----------------------------------------------------------------------------


def elements(message: SimMessage) -> Iterable[dict[str, Any]]:
    for block in message.blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if isinstance(element, dict):
                yield element


def authorization_of(message: SimMessage) -> str | None:
    """The authorization a card or DM is about, read from its buttons' values."""
    for element in elements(message):
        value = element.get("value")
        if isinstance(value, str):
            with contextlib.suppress(InvalidActionRef):
                return ActionRef.decode(value).authorization_id
        for option in element.get("options", []):
            raw = option.get("value") if isinstance(option, dict) else None
            if isinstance(raw, str) and raw.startswith("{"):
                with contextlib.suppress(InvalidActionRef):
                    return ActionRef.decode(raw).authorization_id
    return None


def has_action(message: SimMessage, action: ActionId) -> bool:
    return any(element.get("action_id") == action.value for element in elements(message))


def shows(
    slack: SlackSimulator, channel: str, ts: str, action: ActionId, *, present: bool = True
) -> Callable[[], bool]:
    """A condition for ``eventually``: message ``ts`` shows (or no longer shows) a button."""

    def check() -> bool:
        return has_action(slack.message(channel, ts), action) is present

    return check


def cards_by_authorization(slack: SlackSimulator, channels: Iterable[str]) -> dict[str, list[str]]:
    """Authorization id → the ts of every top-level card posted for it, across ``channels``."""
    found: dict[str, list[str]] = {}
    for channel in channels:
        for message in slack.messages(channel):
            authorization_id = authorization_of(message)
            if authorization_id is not None:
                found.setdefault(authorization_id, []).append(message.ts)
    return found


def posted_cards(slack: SlackSimulator) -> list[SimCall]:
    """Successful top-level ``chat.postMessage`` calls to channels (not DMs, not replies)."""
    return [
        call
        for call in slack.calls
        if call.method == "chat.postMessage"
        and call.ok
        and not call.args.get("thread_ts")
        and str(call.response.get("channel", "")).startswith("C")
    ]


# Capturing what a person sends -----------------------------------------------------------------


class Capture:
    """A stand-in request URL that keeps each interaction body and answers an empty 200.

    The Slack simulator builds and signs each click exactly as Slack would; the benchmark keeps
    the body and later sends it, freshly signed, to the bot and to the baselines alike.
    """

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/capture", self._keep)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/capture"

    async def _keep(self, request: web.Request) -> web.Response:
        self.bodies.append((await request.read()).decode())
        return web.Response(status=200)

    @contextlib.asynccontextmanager
    async def capturing(self, sims: Simulators) -> AsyncIterator[list[str]]:
        """Inside, people's clicks land here; the list fills with their bodies, in order."""
        kept: list[str] = []
        self.bodies = kept
        previous = sims.request_url
        sims.slack.set_request_url(self.url)
        try:
            yield kept
        finally:
            sims.slack.set_request_url(previous)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


# Processes -------------------------------------------------------------------------------------


@dataclass
class Process:
    """A child process that prints one JSON line (its ports) when it is ready."""

    name: str
    process: asyncio.subprocess.Process
    ready: dict[str, Any]
    log_path: Path

    @classmethod
    async def start(
        cls, name: str, arguments: list[str], env: dict[str, str], *, stdin: bool = False
    ) -> Process:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log_path = LOG_DIR / f"{name}.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *arguments,
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            raise RuntimeError(f"{name} did not start; see {log_path}") from None
        if not line:
            await process.wait()
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{name} exited with {process.returncode}: {tail}")
        return cls(name, process, json.loads(line), log_path)

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signum)

    async def stop(self, *, grace_seconds: float = 15.0) -> None:
        if self.process.returncode is None:
            self.signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace_seconds)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@dataclass
class BotProcess:
    """``bench.botproc``: the bot, and its control port."""

    process: Process
    session: aiohttp.ClientSession = field(repr=False)

    @classmethod
    async def start(cls, name: str, settings: dict[str, str], *, watch: bool = False) -> BotProcess:
        env = child_environment({**settings, "BENCH_WATCH": "1" if watch else "0"})
        process = await Process.start(name, [sys.executable, "-m", "bench.botproc"], env)
        timeout = aiohttp.ClientTimeout(total=900)
        return cls(process, aiohttp.ClientSession(timeout=timeout))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.process.ready['port']}/slack/events"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.process.ready['port']}"

    async def _control(self, method: str, path: str) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.process.ready['control']}{path}"
        async with self.session.request(method, url) as response:
            response.raise_for_status()
            answer: dict[str, Any] = await response.json()
            return answer

    async def cycle(self) -> dict[str, Any]:
        return await self._control("POST", "/cycle")

    async def idle(self) -> None:
        await self._control("POST", "/idle")

    async def stats(self) -> dict[str, Any]:
        return await self._control("GET", "/stats")

    async def reset(self) -> None:
        await self._control("POST", "/reset")

    async def stop(self) -> None:
        if self.process.process.returncode is None:
            with contextlib.suppress(aiohttp.ClientError):
                await self._control("POST", "/quit")
        await self.process.stop()
        await self.session.close()


async def start_baseline(mode: str, sims: Simulators) -> Process:
    env = child_environment(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "BENCH_SLACK_API_URL": sims.slack_url,
        }
    )
    return await Process.start(
        f"bare-bolt-{mode}", [sys.executable, "-m", "bench.barebolt", mode], env
    )


class LoadGen:
    """``bench.loadgen``, driven over its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls) -> LoadGen:
        env = child_environment({"SLACK_SIGNING_SECRET": SIGNING_SECRET})
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with (LOG_DIR / "loadgen.log").open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.loadgen",
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                limit=64 * 1024 * 1024,
            )
        return cls(process)

    async def burst(self, url: str, bodies: list[str]) -> tuple[list[float], list[int]]:
        """Send ``bodies`` at once to ``url``; each one's milliseconds and HTTP status."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        async with self._lock:
            command = json.dumps({"url": url, "bodies": bodies}) + "\n"
            self._process.stdin.write(command.encode())
            await self._process.stdin.drain()
            line = await self._process.stdout.readline()
        if not line:
            raise RuntimeError("the load generator stopped; see build/bench/loadgen.log")
        answer = json.loads(line)
        return [float(ms) for ms in answer["ms"]], [int(status) for status in answer["status"]]

    async def stop(self) -> None:
        if self._process.stdin is not None and self._process.returncode is None:
            self._process.stdin.write(b'{"quit": true}\n')
            with contextlib.suppress(ConnectionError):
                await self._process.stdin.drain()
        try:
            await asyncio.wait_for(self._process.wait(), 10)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()


async def eventually(
    condition: Callable[[], Any], *, within: float, what: str, every: float = 0.01
) -> Any:
    """Poll ``condition`` (sync or async) until it is truthy; raise after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise TimeoutError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(every)
