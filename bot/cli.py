"""``collate-handoff-bot``: ``run`` the bot, play the ``demo``, or serve the ``sandbox``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING

from bot import logs
from bot.settings import SettingsError, load_settings

if TYPE_CHECKING:
    from bot.app import Runtime


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    command: str = arguments.command
    if command == "run":
        return _run()
    if command == "demo":
        return _demo()
    return _sandbox(arguments.host, arguments.port, arguments.api_key)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="collate-handoff-bot",
        description="Slack bot for Collate manual handoffs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (settings from the environment)")
    commands.add_parser("demo", help="play one whole handoff against local simulators")
    sandbox = commands.add_parser("sandbox", help="serve the Collate simulator for a trial")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--api-key", default="sandbox-key")
    return parser


def _run() -> int:
    from bot.app import build_runtime

    try:
        settings = load_settings()
        logs.configure(settings.log_level)
        runtime = build_runtime(settings)
    except SettingsError as error:
        sys.stderr.write(f"{error}\n")
        return 2
    asyncio.run(_serve(runtime))
    return 0


async def _serve(runtime: Runtime) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # NOTE: as PID 1 in a container, SIGTERM is ignored unless a handler is installed.
        loop.add_signal_handler(signum, stop.set)
    await runtime.start()
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runtime.stop()


def _demo() -> int:
    from bot.demo import play

    logs.configure("WARNING")
    return asyncio.run(play(sys.stdout))


def _sandbox(host: str, port: int, api_key: str) -> int:
    from sim.collate.serve import run_sandbox

    logs.configure("INFO")
    run_sandbox(host, port, api_key)
    return 0
