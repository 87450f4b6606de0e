"""The baseline: a bare Bolt ``AsyncApp`` whose listeners only ack, served by Bolt's own server.

``python -m bench.barebolt default|pbr`` serves it on a loopback port, in Bolt's default mode or
with ``process_before_response=True``, and prints ``{"port": ..., "pid": ...}`` on stdout. Its
Web API client points at ``BENCH_SLACK_API_URL`` (the Slack simulator) for the one ``auth.test``
Bolt makes on the first request. ``SLACK_SIGNING_SECRET`` and ``SLACK_BOT_TOKEN`` as for the bot.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

EVERYTHING = re.compile(".*")


def bare_app(*, process_before_response: bool) -> AsyncApp:
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["BENCH_SLACK_API_URL"]
    )
    app = AsyncApp(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=process_before_response,
    )

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    app.action(EVERYTHING)(only_ack)
    app.view(EVERYTHING)(only_ack)
    return app


async def serve(mode: str) -> None:
    app = bare_app(process_before_response=mode == "pbr")
    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    sys.stdout.write(json.dumps({"port": port, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "default"
    if mode not in ("default", "pbr"):
        raise SystemExit("usage: python -m bench.barebolt default|pbr")
    asyncio.run(serve(mode))


if __name__ == "__main__":
    main()
