"""Work that runs after Slack has its ack: tracked, so shutdown can wait for it.

The Bolt app runs with ``process_before_response=True``: a listener's answer goes back to Slack
as soon as the listener returns, without Bolt's 10 ms ack poll (slack-platform.md §7). Listeners
therefore ack, hand the slow part to ``Background.spawn`` and return at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class Background:
    """A set of running tasks; each one's failure is logged, never lost."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    def spawn(self, work: Coroutine[Any, Any, object], *, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "background.failed", exc_info=task.exception(), extra={"action_id": task.get_name()}
            )

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout_seconds: float) -> None:
        """Wait for running work to finish; cancel what is still running after the timeout."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            logger.warning("background.cancelled_on_shutdown", extra={"followed": len(pending)})
