"""Benchmark 1: click to ack — how soon a person's click is answered, beside bare Bolt.

Three servers get the same signed interaction bodies: the bot (HTTP mode), and a bare Bolt
``AsyncApp`` whose listeners only ack, once in Bolt's default mode and once with
``process_before_response=True``. The bodies are real: people in the Slack simulator click the
bot's cards and DMs and submit its modal, the benchmark keeps what Slack would have sent, and the
load generator sends it, freshly signed, in bursts of 1, 10 or 50 at once. For the bot every click
is live: an accept accepts a real offer, a new link mints a real grant, a submit closes a real
handoff, and that work runs in the bot's background while the rest of the burst is answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.report import Figure, Section
from bench.stats import Runs, percentile, ratio
from bench.world import (
    BotProcess,
    Capture,
    LoadGen,
    Process,
    Simulators,
    authorization_of,
    clear_prefix,
    eventually,
    has_action,
    new_prefix,
    start_baseline,
)
from blocks import forms
from blocks.ids import ActionId, ActionRef, CallbackId
from sim.collate import SimSettings
from sim.slack import AppResponse, SlackPerson

LEVELS = (1, 10, 50)
KINDS = ("accept", "new link", "modal submit", "link button (ack only)")
ACK_ONLY = "link button (ack only)"
TARGETS = ("bot", "Bolt default", "Bolt pbr")
PEOPLE = 50
WARM_UP = 50
PAUSE_SECONDS = 0.005
GOAL_RATIO = 1.3
GOAL_P99_AT_50_MS = 100.0


@dataclass(frozen=True)
class Plan:
    runs: int
    bursts: dict[int, int]
    """Bursts per run at each concurrency level."""

    @property
    def clicks_per_run(self) -> int:
        return sum(level * count for level, count in self.bursts.items())


FULL = Plan(runs=3, bursts={1: 60, 10: 8, 50: 4})
QUICK = Plan(runs=1, bursts={1: 20, 10: 3, 50: 2})


@dataclass
class Handoff:
    person: SlackPerson
    authorization_id: str
    card_ts: str
    dm_channel: str = ""
    dm_ts: str = ""


Samples = dict[tuple[str, int, str], list[list[float]]]
"""(kind, level, target) → one list of milliseconds per run."""


@dataclass
class Bench:
    plan: Plan
    sims: Simulators
    capture: Capture
    bot: BotProcess
    loadgen: LoadGen
    urls: dict[str, str]
    samples: Samples = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    turn: int = 0

    async def captured(self, actions: list[Callable[[], Awaitable[AppResponse]]]) -> list[str]:
        async with self.capture.capturing(self.sims) as bodies:
            for act in actions:
                await act()
        assert len(bodies) == len(actions), "every click reaches the capture"
        return list(bodies)

    async def fire(self, kind: str, level: int, run: int, bodies: list[str]) -> None:
        """The same burst to every server, in an order that turns from burst to burst."""
        order = TARGETS[self.turn % 3 :] + TARGETS[: self.turn % 3]
        self.turn += 1
        for target in order:
            ms, statuses = await self.loadgen.burst(self.urls[target], bodies)
            bad = sum(1 for status in statuses if status != 200)
            if bad:
                self.failures[target] = self.failures.get(target, 0) + bad
            series = self.samples.setdefault((kind, level, target), [])
            while len(series) <= run:
                series.append([])
            series[run].extend(ms)
            if target == "bot":
                await self.bot.idle()
            await asyncio.sleep(PAUSE_SECONDS)


async def run(plan: Plan) -> Section:
    started = time.monotonic()
    sims = await Simulators.start(
        people=PEOPLE, sim_settings=SimSettings(reconcile_delay_seconds=3600)
    )
    capture = Capture()
    await capture.start()
    prefix = new_prefix()
    processes: list[Process] = []
    bot = await BotProcess.start("click-bot", sims.bot_settings(prefix))
    try:
        for mode in ("default", "pbr"):
            processes.append(await start_baseline(mode, sims))
        loadgen = await LoadGen.start()
        urls = {
            "bot": bot.url,
            "Bolt default": _events_url(processes[0]),
            "Bolt pbr": _events_url(processes[1]),
        }
        sims.deliver_to(bot.url)
        bench = Bench(plan, sims, capture, bot, loadgen, urls)
        try:
            await _measure(bench)
        finally:
            await loadgen.stop()
        baseline_rss = {process.name: _rss_kib(process.pid) for process in processes}
        bot_rss = (await bot.stats()).get("VmRSS", 0)
    finally:
        for process in processes:
            await process.stop()
        await bot.stop()
        await capture.stop()
        await sims.stop()
        await clear_prefix(prefix)
    section = _section(bench, baseline_rss, bot_rss)
    section.seconds = time.monotonic() - started
    return section


def _events_url(process: Process) -> str:
    return f"http://127.0.0.1:{process.ready['port']}/slack/events"


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


async def _measure(bench: Bench) -> None:
    sims, plan = bench.sims, bench.plan
    total = WARM_UP + plan.runs * plan.clicks_per_run
    for number in range(total):
        sims.collate.add_authorization(review=number % 2 == 0, case_id=f"CLICK-{number:05d}")
    await bench.bot.cycle()
    offered = [m for m in sims.slack.messages(sims.channel) if has_action(m, ActionId.ACCEPT)]
    assert len(offered) == total, f"{len(offered)} cards for {total} offers"
    queue = list(offered)
    people = sims.people

    warm = [queue.pop(0) for _ in range(WARM_UP)]
    bodies = await bench.captured(
        [
            _click(people[i % PEOPLE], sims.channel, card.ts, ActionId.ACCEPT)
            for i, card in enumerate(warm)
        ]
    )
    for target in TARGETS:
        await bench.loadgen.burst(bench.urls[target], bodies)
        await bench.loadgen.burst(bench.urls[target], bodies[:1])
    await bench.bot.idle()

    for run_index in range(plan.runs):
        handoffs: list[Handoff] = []
        for level in LEVELS:
            for _ in range(plan.bursts[level]):
                chunk = [queue.pop(0) for _ in range(level)]
                clickers = [people[(len(handoffs) + i) % PEOPLE] for i in range(level)]
                bodies = await bench.captured(
                    [
                        _click(person, sims.channel, card.ts, ActionId.ACCEPT)
                        for person, card in zip(clickers, chunk, strict=True)
                    ]
                )
                await bench.fire("accept", level, run_index, bodies)
                for person, card in zip(clickers, chunk, strict=True):
                    authorization_id = authorization_of(card) or ""
                    handoffs.append(Handoff(person, authorization_id, card.ts))
        accepted = _find_dms(sims, handoffs)
        bench.failures["accept did not go through"] = bench.failures.get(
            "accept did not go through", 0
        ) + (len(handoffs) - len(accepted))
        await _dm_clicks(bench, run_index, accepted, ActionId.NEW_LINK, "new link")
        await _dm_clicks(bench, run_index, accepted, ActionId.OPEN_LINK, ACK_ONLY)
        await _submits(bench, run_index, accepted)


def _click(
    person: SlackPerson, channel: str, ts: str, action: ActionId
) -> Callable[[], Awaitable[AppResponse]]:
    async def act() -> AppResponse:
        return await person.click(channel, ts, action.value)

    return act


def _find_dms(sims: Simulators, handoffs: list[Handoff]) -> list[Handoff]:
    """The accepted handoffs, each with the DM that carries its link."""
    found: list[Handoff] = []
    for handoff in handoffs:
        dm_channel = sims.slack.dm_channel_id(handoff.person.id)
        if not dm_channel:
            continue
        for message in sims.slack.messages(dm_channel):
            if authorization_of(message) == handoff.authorization_id and has_action(
                message, ActionId.NEW_LINK
            ):
                handoff.dm_channel, handoff.dm_ts = dm_channel, message.ts
                found.append(handoff)
                break
    return found


async def _dm_clicks(
    bench: Bench, run_index: int, accepted: list[Handoff], action: ActionId, kind: str
) -> None:
    """Clicks on the acceptors' DMs: a different handoff for each click of a burst."""
    cursor = 0
    for level in LEVELS:
        for _ in range(bench.plan.bursts[level]):
            chunk = [accepted[(cursor + i) % len(accepted)] for i in range(level)]
            cursor += level
            bodies = await bench.captured(
                [_click(h.person, h.dm_channel, h.dm_ts, action) for h in chunk]
            )
            await bench.fire(kind, level, run_index, bodies)


async def _submits(bench: Bench, run_index: int, accepted: list[Handoff]) -> None:
    """Each submit closes a handoff whose modal its acceptor opened through the bot."""
    pool: dict[str, list[Handoff]] = {}
    for handoff in accepted:
        pool.setdefault(handoff.person.id, []).append(handoff)
    sims = bench.sims
    for level in sorted(LEVELS, reverse=True):
        for _ in range(bench.plan.bursts[level]):
            acceptors = sorted(pool, key=lambda person: len(pool[person]), reverse=True)[:level]
            if len(acceptors) < level or not all(pool[person] for person in acceptors):
                bench.failures["submit bursts short of handoffs"] = (
                    bench.failures.get("submit bursts short of handoffs", 0) + 1
                )
                return
            chunk = [pool[person].pop() for person in acceptors]
            for handoff in chunk:
                await handoff.person.click(sims.channel, handoff.card_ts, ActionId.COMPLETE.value)
            await bench.bot.idle()
            views = [await _complete_modal(sims, handoff) for handoff in chunk]
            values = _complete_values()
            bodies = await bench.captured(
                [
                    _submit(h.person, view_id, values)
                    for h, view_id in zip(chunk, views, strict=True)
                ]
            )
            await bench.fire("modal submit", level, run_index, bodies)


async def _complete_modal(sims: Simulators, handoff: Handoff) -> str:
    def open_modal() -> str | None:
        stack = sims.slack.views(handoff.person.id)
        if not stack or stack[-1].callback_id != CallbackId.COMPLETE.value:
            return None
        ref = ActionRef.decode(stack[-1].private_metadata)
        return stack[-1].id if ref.authorization_id == handoff.authorization_id else None

    view_id: str = await eventually(open_modal, within=10, what="the complete modal")
    return view_id


def _complete_values() -> dict[str, Any]:
    return {
        forms.COMPLETE_OUTCOME_BLOCK: {forms.COMPLETE_OUTCOME_ACTION: "submitted"},
        forms.COMPLETE_REFERENCE_BLOCK: {forms.COMPLETE_REFERENCE_ACTION: "REF-1"},
    }


def _submit(
    person: SlackPerson, view_id: str, values: dict[str, Any]
) -> Callable[[], Awaitable[AppResponse]]:
    async def act() -> AppResponse:
        return await person.submit_view(view_id, values)

    return act


# Reporting -------------------------------------------------------------------------------------


def _per_run(samples: Samples, key: tuple[str, int, str], q: float) -> list[float]:
    return [percentile(run, q) for run in samples.get(key, []) if run]


def _section(bench: Bench, baseline_rss: dict[str, int], bot_rss: int) -> Section:
    plan = bench.plan
    counts = ", ".join(
        f"{plan.bursts[level]} burst{'s' if plan.bursts[level] > 1 else ''} of {level}"
        for level in LEVELS
    )
    runs = f"{plan.runs} run{'s' if plan.runs > 1 else ''}"
    section = Section(
        "1",
        "Click to ack",
        [
            "Time from the load generator handing a signed interaction request to its HTTP "
            "client to reading the whole HTTP 200, over loopback. Each burst sends its requests "
            "at once on keep-alive connections; the bot is waited on until its background work "
            "is done before the next burst, so every burst starts from a quiet bot. "
            f"{runs}; per run and per kind: {counts} "
            f"({plan.clicks_per_run} requests per server). Figures are the median over runs of "
            "each run's percentile, with [min–max over runs]; the ratio is the bot's p99 over the "
            "faster baseline's p99 in the same run.",
            "Servers: the bot (`bench.botproc`: `build_runtime` + `Runtime.start`, HTTP mode, "
            "watcher not polling during the bursts, LOG_LEVEL=INFO to a file), and a bare "
            "`AsyncApp` served by Bolt's own aiohttp server whose action and view listeners only "
            "`ack()` (`bench.barebolt`), in Bolt's default mode and with "
            "`process_before_response=True` (pbr). Each runs in its own process, as does the "
            "load generator; the simulators run in the bench process and serve the bot's "
            "background work while the bursts run.",
            "Kinds: *accept* (a card's Accept: the bot then accepts the offer in Collate, edits "
            "the card and sends the DM), *new link* (the DM's New link: a new grant, the DM "
            "edited), *modal submit* (the complete modal: the handoff is closed), and *link "
            "button (ack only)* (the DM's link button, which the bot only acks: no background "
            "work), shown to separate the cost of the bot's request path from that of the work "
            "it starts.",
        ],
        [
            "Kind",
            "Concurrent",
            "Bot p50",
            "Bot p99",
            "Bolt default p50 / p99",
            "Bolt pbr p50 / p99",
            "Bot p99 ÷ faster p99",
            "Goal",
        ],
    )
    ratios_by: dict[tuple[str, int], Runs] = {}
    for kind in KINDS:
        for level in LEVELS:
            bot50 = Runs.of(_per_run(bench.samples, (kind, level, "bot"), 50))
            bot99 = _per_run(bench.samples, (kind, level, "bot"), 99)
            default = [_per_run(bench.samples, (kind, level, "Bolt default"), q) for q in (50, 99)]
            pbr = [_per_run(bench.samples, (kind, level, "Bolt pbr"), q) for q in (50, 99)]
            faster = [min(a, b) for a, b in zip(default[1], pbr[1], strict=True)]
            ratios = Runs.of([ratio(b, f) for b, f in zip(bot99, faster, strict=True)])
            ratios_by[(kind, level)] = ratios
            bot99_runs = Runs.of(bot99)
            met = ratios.median <= GOAL_RATIO
            goal = f"≤ {GOAL_RATIO}×"
            if level == 50:
                met = met and bot99_runs.median < GOAL_P99_AT_50_MS
                goal += f" and < {GOAL_P99_AT_50_MS:.0f} ms"
            section.rows.append(
                [
                    kind,
                    str(level),
                    bot50.show(" ms"),
                    bot99_runs.show(" ms"),
                    f"{Runs.of(default[0]).show()} / {Runs.of(default[1]).show(' ms')}",
                    f"{Runs.of(pbr[0]).show()} / {Runs.of(pbr[1]).show(' ms')}",
                    ratios.show("×", 2),
                    goal,
                ]
            )
            section.figures.append(
                Figure(
                    f"Click→ack p99, {kind}, {level} concurrent",
                    bot99_runs.show(" ms"),
                    f"faster bare Bolt {Runs.of(faster).show(' ms')}",
                    ratios.show("×", 2),
                    goal,
                    met,
                    runs,
                )
            )
    failures = {name: count for name, count in bench.failures.items() if count}
    section.notes.append(
        "Non-200 answers or lost work: "
        + (", ".join(f"{name}: {count}" for name, count in failures.items()) or "none")
        + "."
    )
    rss = ", ".join(f"{name} {kib / 1024:.0f} MiB" for name, kib in baseline_rss.items())
    section.notes.append(f"RSS after the runs: bot {bot_rss / 1024:.0f} MiB; {rss}.")
    missed = [f for f in section.figures if f.met is False]
    if missed:
        bot_p50 = Runs.of(_per_run(bench.samples, (ACK_ONLY, 50, "bot"), 50)).median
        pbr_p50 = Runs.of(_per_run(bench.samples, (ACK_ONLY, 50, "Bolt pbr"), 50)).median
        section.notes.append(
            "Likely cause of the misses. The link button starts no work, yet at 50 at once its "
            f"median answer takes {ratio(bot_p50, pbr_p50):.1f}× the pbr baseline's: in a burst "
            "each request waits for the CPU the ones before it use, and the bot's request path "
            "costs more than bare Bolt's: its global middleware before the listener (workspace "
            "pin, payload shape check, event dedupe, each with Bolt's argument injection) and "
            "any Redis round trip made before the ack (§5 counts them). Clicks that "
            "start work add the background work of the burst's earlier clicks (Redis, Collate "
            "and Slack calls, Block Kit), which runs on the same event loop between the answers "
            "to the later requests, on two cores shared with the simulators serving it. Short "
            "runs make the p99 of a single burst noisy: compare the spread."
        )
    return section
