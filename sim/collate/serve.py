"""``collate-handoff-bot sandbox``: the simulator as a long-running server with a few offers."""

from __future__ import annotations

import asyncio
import logging
import signal

from sim.collate.server import CollateSimulator

logger = logging.getLogger(__name__)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
RECORD_LIMIT = 1000


def run_sandbox(host: str, port: int, api_key: str, seed_offers: int = 2) -> None:
    """Serve until SIGINT or SIGTERM. Blocks; runs its own event loop."""
    asyncio.run(_serve(host, port, api_key, seed_offers))


async def _serve(host: str, port: int, api_key: str, seed_offers: int) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    sim = CollateSimulator(api_key=api_key, host=host, port=port, record_limit=RECORD_LIMIT)
    base_url = await sim.start()
    try:
        seed(sim, seed_offers)
        logger.info("collate sandbox listening at %s", base_url)
        if host not in LOOPBACK_HOSTS:
            logger.warning("sandbox.exposed: /_sim controls need no key; keep it off the internet")
        await stopping.wait()
    finally:
        await sim.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def seed(sim: CollateSimulator, offers: int) -> None:
    """Open offers behind review snapshots, plus one case already with the payer for contrast."""
    for _ in range(offers):
        sim.add_authorization()
    if offers:
        sim.add_authorization(status="waiting_on_payer")
