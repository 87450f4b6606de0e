"""The bot as a separate process, started with its real CLI and environment settings, so a test
can kill it with SIGKILL at any moment and start another one on the same Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

from tests.faults.redis_server import free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0


class BotProcess:
    """``python -m tests.faults.loopback_bot run`` with ``env``; its log goes to ``log_path``."""

    def __init__(self, env: dict[str, str], log_path: Path, *, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.log_path = log_path
        self._process: asyncio.subprocess.Process | None = None

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> BotProcess:
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SLACK_", "COLLATE_", "REDIS_", "HANDOFF_CHANNEL"))
        }
        environment.update(self.env)
        environment["PYTHONUNBUFFERED"] = "1"
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.faults.loopback_bot",
                "run",
                cwd=REPO,
                env=environment,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        await self._wait_until_healthy()
        return self

    async def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        timeout = aiohttp.ClientTimeout(total=1.0)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                assert self._process is not None
                if self._process.returncode is not None:
                    raise RuntimeError(
                        f"bot {self.name} exited with {self._process.returncode}: {self.log_tail()}"
                    )
                try:
                    async with session.get(self.root_url + "/healthz") as response:
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"bot {self.name} did not come up: {self.log_tail()}")
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no drain, no lease release; whatever was in flight is lost."""
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(self._process.wait(), STOP_TIMEOUT_SECONDS)

    async def stop(self) -> None:
        """SIGTERM (the bot's graceful stop), then SIGKILL if it does not go in time."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])
