"""Fixtures of the fault suite, and its closing table.

Every test here is marked ``faults`` and gets a ``kit``: its own ``redis-server`` on a free
loopback port, the stages (worlds) it builds, and a log capture; all of it is stopped in the
fixture's teardown. Every person action (click, select, submit, close, event) is timed from send
to the bot's HTTP answer. At the end of the session, when fault tests ran, the terminal summary
prints the closing table: faults injected, flows completed, duplicate handoffs, lost cards,
leaked secrets and acks over 3 s.
"""

from __future__ import annotations

import faulthandler
import functools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sim.slack import AppResponse, SlackPerson, SlackSimulator
from tests.faults.kit import FaultKit
from tests.faults.recorder import RECORDER, Recorder
from tests.faults.redis_server import redis_server_binary

WATCHDOG_SECONDS = 240.0
"""No fault test, teardown included, may take longer than this (each bounds itself far lower)."""
_TIMED_PERSON_ACTIONS = ("click", "select", "click_in_view", "select_in_view", "submit_view")
_TIMED_SIMULATOR_ACTIONS = ("send_event", "resend_event")


@pytest.fixture
def recorder(request: pytest.FixtureRequest) -> Recorder:
    RECORDER.tests_run += 1
    RECORDER.current_test = request.node.name
    return RECORDER


def _timed(
    original: Callable[..., Awaitable[Any]], what: str, recorder: Recorder
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(original)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        answer = await original(*args, **kwargs)
        if isinstance(answer, AppResponse):
            recorder.ack(what, time.monotonic() - started, answer.status)
        return answer

    return timed


@pytest.fixture(autouse=True)
def timed_acks(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Time every delivery a person (or Slack) makes to the bot, however the test makes it."""
    for name in _TIMED_PERSON_ACTIONS:
        monkeypatch.setattr(SlackPerson, name, _timed(getattr(SlackPerson, name), name, recorder))
    for name in _TIMED_SIMULATOR_ACTIONS:
        original = getattr(SlackSimulator, name)
        monkeypatch.setattr(SlackSimulator, name, _timed(original, name, recorder))
    return recorder


@pytest.fixture
async def kit(recorder: Recorder, tmp_path: Path) -> AsyncIterator[FaultKit]:
    if redis_server_binary() is None:
        message = "the fault suite needs the redis-server binary (apt-get install redis-server)"
        if os.environ.get("HANDOFF_BOT_REQUIRE_REDIS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    faults = FaultKit(recorder, tmp_path, recorder.current_test)
    # NOTE: the last resort against a hang the asyncio timeouts cannot end (a blocked event
    # loop): print every thread's stack and end the run, rather than hold CI until its limit.
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    await faults.open()
    try:
        yield faults
    finally:
        try:
            await faults.close()
        finally:
            faulthandler.cancel_dump_traceback_later()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if RECORDER.tests_run == 0:
        return
    terminalreporter.write_sep("=", "fault suite: closing table")
    for line in RECORDER.table():
        terminalreporter.write_line(line)
