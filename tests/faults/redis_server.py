"""A real ``redis-server`` that a fault test owns: started on a free loopback port, and made to
go down, hang, refuse writes or run out of memory on request.

It keeps an append-only file (``appendfsync always``), so a server shut down with ``SHUTDOWN
NOSAVE`` comes back with every write it acknowledged, as a production Redis with AOF would. Never
the shared server on 6379: that one is not ours to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from redis.asyncio import Redis

FAULT_KINDS = ("down", "hung", "paused", "oom")
"""``down``: SHUTDOWN NOSAVE, started again later; ``hung``: SIGSTOP, then SIGCONT;
``paused``: CLIENT PAUSE … WRITE, then CLIENT UNPAUSE; ``oom``: CONFIG SET maxmemory 1."""

START_TIMEOUT_SECONDS = 10.0
PAUSE_MILLISECONDS = 60_000
"""Long enough never to end by itself during a test; the fault's exit unpauses."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """One ``redis-server`` process on ``127.0.0.1:port``, with its data in ``directory``."""

    def __init__(self, directory: Path) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self._binary = binary
        self.directory = directory
        self.port = free_port()
        self._process: asyncio.subprocess.Process | None = None
        self._stopped = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def client(self) -> Redis:
        """A control connection with short timeouts (the tests' own, never the bot's)."""
        return Redis(
            host="127.0.0.1",
            port=self.port,
            decode_responses=True,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
        )

    async def start(self) -> None:
        """Start (or start again, on the same port and data) and wait until it answers."""
        if self._process is not None and self._process.returncode is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        arguments = [
            self._binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--protected-mode",
            "yes",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(self.directory),
            "--logfile",
            str(self.directory / "redis.log"),
            "--maxmemory-policy",
            "noeviction",
            "--daemonize",
            "no",
        ]
        self._process = await asyncio.create_subprocess_exec(
            *arguments,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self._stopped = False
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if await self._answers():
                return
            if self._process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            await asyncio.sleep(0.02)

    async def _answers(self) -> bool:
        client = self.client()
        try:
            return bool(await client.ping())
        except Exception:
            return False
        finally:
            await client.aclose()

    async def stop(self) -> None:
        """End the process for good (teardown): it is resumed first if it was stopped."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            if self._stopped:
                os.kill(process.pid, signal.SIGCONT)
                self._stopped = False
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                process.kill()
                await asyncio.wait_for(process.wait(), 5.0)
        self._process = None

    # Faults ------------------------------------------------------------------------------------

    async def go_down(self) -> None:
        """``SHUTDOWN NOSAVE``: the server exits; what the AOF holds survives."""
        client = self.client()
        try:
            with contextlib.suppress(Exception):
                await client.execute_command("SHUTDOWN", "NOSAVE")
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()
        if self._process is not None:
            await asyncio.wait_for(self._process.wait(), 10.0)

    def hang(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGSTOP)
        self._stopped = True

    def resume(self) -> None:
        if self._process is not None and self._stopped:
            os.kill(self._process.pid, signal.SIGCONT)
        self._stopped = False

    async def _command(self, *arguments: str) -> None:
        client = self.client()
        try:
            await client.execute_command(*arguments)
        finally:
            await client.aclose()

    async def pause_writes(self) -> None:
        await self._command("CLIENT", "PAUSE", str(PAUSE_MILLISECONDS), "WRITE")

    async def unpause(self) -> None:
        await self._command("CLIENT", "UNPAUSE")

    async def fill_memory(self) -> None:
        """Every write is refused with ``OOM command not allowed`` (maxmemory below use)."""
        await self._command("CONFIG", "SET", "maxmemory", "1")

    async def free_memory(self) -> None:
        await self._command("CONFIG", "SET", "maxmemory", "0")

    @asynccontextmanager
    async def fault(self, kind: str) -> AsyncIterator[None]:
        """Redis suffers ``kind`` (one of ``FAULT_KINDS``) inside the block, and is itself again
        when the block ends, however it ends."""
        await self.begin(kind)
        try:
            yield
        finally:
            await self.recover(kind)

    async def begin(self, kind: str) -> None:
        """Start suffering ``kind`` until ``recover(kind)``."""
        if kind == "down":
            await self.go_down()
        elif kind == "hung":
            self.hang()
        elif kind == "paused":
            await self.pause_writes()
        elif kind == "oom":
            await self.fill_memory()
        else:
            raise ValueError(f"unknown Redis fault {kind!r}")

    async def recover(self, kind: str) -> None:
        if kind == "down":
            await self.start()
        elif kind == "hung":
            self.resume()
        elif kind == "paused":
            await self.unpause()
        elif kind == "oom":
            await self.free_memory()

    async def heal(self) -> None:
        """Undo whatever fault may still be on (a teardown after a failed test)."""
        self.resume()
        if self._process is None or self._process.returncode is not None:
            await self.start()
        for arguments in (("CLIENT", "UNPAUSE"), ("CONFIG", "SET", "maxmemory", "0")):
            with contextlib.suppress(Exception):
                await self._command(*arguments)

    async def dump(self) -> str:
        """Every key and value in the server, as one string (for leak checks)."""
        client = self.client()
        parts: list[str] = []
        try:
            async for key in client.scan_iter(count=500):
                kind = await client.type(key)
                if kind == "hash":
                    parts.append(f"{key}={await client.hgetall(key)}")
                elif kind == "set":
                    parts.append(f"{key}={await client.smembers(key)}")
                elif kind == "string":
                    parts.append(f"{key}={await client.get(key)}")
                else:
                    parts.append(f"{key}=<{kind}>")
        finally:
            await client.aclose()
        return "\n".join(parts)
