"""The load generator: fires signed bursts of interaction requests and times each one.

``python -m bench.loadgen`` reads one JSON command per line on stdin and answers one JSON line on
stdout. A command is ``{"url": ..., "bodies": [...]}``: every body is signed as Slack signs it
(``SLACK_SIGNING_SECRET``), then all of them are sent at once, each on its own keep-alive
connection, and the answer is ``{"ms": [...], "status": [...]}``: for each request the time from
handing it to the HTTP client to reading the whole response. Signing happens before the clock
starts. ``{"quit": true}`` ends it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp
from slack_sdk.signature import SignatureVerifier

FORM = "application/x-www-form-urlencoded"
LINE_LIMIT = 64 * 1024 * 1024


class LoadGenerator:
    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LoadGenerator:
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        self._session = aiohttp.ClientSession(connector=connector)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()

    def _headers(self, body: str) -> dict[str, str]:
        stamp = str(int(time.time()))
        signature = self._verifier.generate_signature(timestamp=stamp, body=body)
        assert signature is not None
        return {
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
        }

    async def _one(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[float, int]:
        assert self._session is not None
        started = time.perf_counter()
        async with self._session.post(url, data=body, headers=headers) as response:
            await response.read()
            status = response.status
        return (time.perf_counter() - started) * 1000, status

    async def burst(self, url: str, bodies: list[str]) -> dict[str, Any]:
        signed = [(body.encode(), self._headers(body)) for body in bodies]
        results = await asyncio.gather(*(self._one(url, raw, hdrs) for raw, hdrs in signed))
        return {"ms": [ms for ms, _ in results], "status": [status for _, status in results]}


async def run() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with LoadGenerator(os.environ["SLACK_SIGNING_SECRET"]) as generator:
        while line := await reader.readline():
            command = json.loads(line)
            if command.get("quit"):
                break
            answer = await generator.burst(command["url"], command["bodies"])
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
