"""``python -m bench``: run every benchmark, print the summary table, write BENCHMARKS.md.

Needs a Redis server on loopback (``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/0``);
everything else (the simulators, the bot, the baselines) it starts itself. ``--quick`` runs
smaller versions (for a smoke check; its figures are not the recorded ones), ``--only`` picks
benchmarks by name, ``--runs`` repeats the click and burst benchmarks more times.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from bench import burst, click, cost, failover, footprint, offers
from bench.report import Section, markdown, plain_table
from bench.stats import machine
from bench.world import REDIS_URL, ROOT

NAMES = ("click", "offers", "burst", "cost", "footprint", "failover")


def _runners(quick: bool, runs: int | None) -> dict[str, Callable[[], Awaitable[Section]]]:
    click_plan = click.QUICK if quick else click.FULL
    burst_plan = burst.QUICK if quick else burst.FULL
    if runs is not None:
        click_plan = dataclasses.replace(click_plan, runs=runs)
        burst_plan = dataclasses.replace(burst_plan, runs=runs)
    return {
        "cost": lambda: cost.run(cost.QUICK if quick else cost.FULL),
        "click": lambda: click.run(click_plan),
        "offers": lambda: offers.run(offers.QUICK if quick else offers.FULL),
        "burst": lambda: burst.run(burst_plan),
        "footprint": lambda: footprint.run(footprint.QUICK if quick else footprint.FULL),
        "failover": lambda: failover.run(failover.QUICK if quick else failover.FULL),
    }


async def _redis_version() -> str:
    redis = Redis.from_url(REDIS_URL, decode_responses=True, socket_connect_timeout=2)
    try:
        info = await redis.info("server")
        return str(info.get("redis_version", "unknown"))
    finally:
        await redis.aclose()


async def _main(arguments: argparse.Namespace) -> str | None:
    try:
        redis_version = await _redis_version()
    except Exception as error:
        sys.stderr.write(
            f"bench: no Redis server answers at {REDIS_URL} ({type(error).__name__}).\n"
            "Start one on loopback, e.g. redis-server --bind 127.0.0.1 --port 6379 --save ''\n"
        )
        return None
    chosen = arguments.only or list(NAMES)
    runners = _runners(arguments.quick, arguments.runs)
    sections: list[Section] = []
    began = time.monotonic()
    for name in chosen:
        sys.stderr.write(f"bench: {name} …\n")
        section = await runners[name]()
        sys.stderr.write(f"bench: {name} done in {section.seconds:.0f} s\n")
        sections.append(section)
    sections.sort(key=lambda section: section.number)
    total = time.monotonic() - began
    header = [
        "Written by `.venv/bin/python -m bench"
        + (" --quick" if arguments.quick else "")
        + (f" --runs {arguments.runs}" if arguments.runs else "")
        + (f" --only {' '.join(chosen)}" if arguments.only else "")
        + f"` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, in {total / 60:.1f} minutes. "
        "Do not edit by hand: run it again.",
        "",
        f"**Machine:** {machine(redis_version)}.",
        "",
        f"**Code:** {arguments.revision}.",
        "",
        "**How to read it.** Each figure says how many runs it comes from; a figure is the "
        "median over the runs with the spread [min–max over runs] after it (no brackets: one "
        "run, or every run gave the same number). Where a baseline exists it was measured in the "
        "same run, and the ratio is taken run by run. Every process talks over loopback only. "
        "Figures that miss their goal say MISSES; the section says what is the likely cause.",
    ]
    print(plain_table(sections))
    return markdown(sections, header=header)


def _revision() -> str:
    """The commit the figures were measured on, and whether the tree had changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"git {commit}" + (" with uncommitted changes" if changes else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke check")
    parser.add_argument("--only", nargs="+", choices=NAMES, help="run only these benchmarks")
    parser.add_argument("--runs", type=int, help="runs of the click and burst benchmarks")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"), help="where to write")
    parser.add_argument("--no-write", action="store_true", help="print only")
    arguments = parser.parse_args(argv)
    arguments.revision = _revision()
    text = asyncio.run(_main(arguments))
    if text is None:
        return 2
    if not arguments.no_write:
        output = Path(arguments.output)
        output.write_text(text, encoding="utf-8")
        print(f"\nwrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
