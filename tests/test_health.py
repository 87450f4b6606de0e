"""``/healthz`` says the process is up; ``/readyz`` says what it depends on answers."""

from __future__ import annotations

import httpx

from tests.harness import bot_world


async def test_ready_when_redis_slack_and_collate_answer_and_not_otherwise() -> None:
    async with (
        bot_world() as world,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{world.runtime.port}") as http,
    ):
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"redis": "ok", "slack": "ok", "collate": "ok"}

        await world.collate.stop()
        not_ready = await http.get("/readyz")

        assert not_ready.status_code == 503
        assert not_ready.json()["collate"].startswith("failing")
        assert not_ready.json()["redis"] == "ok"
        assert (await http.get("/healthz")).status_code == 200
