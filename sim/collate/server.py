"""``CollateSimulator``: the Collate API on a loopback port, with controls for tests and demos."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict
from types import TracebackType
from typing import Any

from aiohttp import web

from sim.collate import control_routes, render
from sim.collate.clock import SimClock
from sim.collate.faults import FaultPlan
from sim.collate.gateway import Gateway
from sim.collate.lifecycle import SimState
from sim.collate.recording import RecordedRequest
from sim.collate.routes import CollateApi
from sim.collate.settings import SimSettings, validate_reconcile_result
from sim.collate.state import Authorization

logger = logging.getLogger(__name__)
TICK_SECONDS = 0.05


class CollateSimulator:
    """A faithful stand-in for Collate's prior-authorization API (docs/collate-contract.md).

    It serves the ``/v1`` endpoints, the grant URLs and ``/health`` over real HTTP, keeps its
    own state, and moves cases along as Collate would: grants expire, idle handoffs are
    abandoned and closed handoffs are reconciled, on a clock that tests can fast-forward::

        sim = CollateSimulator(api_key="sim-key")
        base_url = await sim.start()
        auth = sim.add_authorization()          # an offer, behind a review snapshot
        ...                                     # the code under test talks HTTP to base_url
        sim.advance(5)                          # reconciliation falls due without sleeping
        await sim.stop()

    The same controls are served under ``/_sim`` (see ``SimControl``) for other processes.
    Control methods raise ``LookupError`` for unknown ids, ``ValueError`` for bad arguments and
    ``SimControlError`` (a ``ValueError``) for actions the current state does not allow.
    """

    def __init__(
        self,
        api_key: str = "sim-key",
        settings: SimSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        public_url: str | None = None,
        record_limit: int | None = None,
    ) -> None:
        """``public_url`` replaces the bound address in grant URLs (e.g. behind a proxy);
        ``record_limit`` keeps only the newest requests in ``requests`` (for long runs)."""
        self.requests: list[RecordedRequest] = []
        self._host = host
        self._port = port
        self._public_url = public_url.rstrip("/") if public_url else None
        self._bound_url: str | None = None
        self._clock = SimClock()
        self._state = SimState(settings or SimSettings(), self._clock)
        self._faults = FaultPlan()
        self._gateway = Gateway(self._state, self._faults, api_key, self.requests, record_limit)
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None

    # Running

    async def start(self) -> str:
        """Listen, and return the base URL (``http://127.0.0.1:PORT``, no trailing slash)."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        app = web.Application(middlewares=[self._gateway.middleware])
        CollateApi(self._state, lambda: self.base_url).register(app.router)
        control_routes.register(app.router, self)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._bound_url = _url(self._host, self._runner.addresses[0][1])
        self._ticker = asyncio.create_task(self._tick_forever())
        logger.debug("collate_sim.started", extra={"port": self._runner.addresses[0][1]})
        return self.base_url

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> CollateSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        url = self._public_url or self._bound_url
        if url is None:
            raise RuntimeError("the simulator has not been started")
        return url

    @property
    def settings(self) -> SimSettings:
        return self._state.settings

    @settings.setter
    def settings(self, value: SimSettings) -> None:
        value.validate()
        self._state.settings = value

    # Cases

    def add_authorization(
        self,
        *,
        status: str = "requires_action",
        next_action: str | None = "complete_payer_interaction",
        review: bool = True,
        case_id: str | None = None,
        payer_id: str | None = None,
        summary: dict[str, Any] | None = None,
        warnings: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A new case, as E2 would show it. ``next_action`` only applies to ``requires_action``."""
        self._state.run_due()
        auth = self._state.add(
            status=status,
            next_action=next_action,
            review=review,
            case_id=case_id,
            payer_id=payer_id,
            summary=summary,
            warnings=warnings,
            metadata=metadata,
        )
        return render.authorization(auth)

    def offer_handoff(self, auth_id: str, *, review: bool = True) -> dict[str, Any]:
        """L1: a ``complete_payer_interaction`` offer, with a new snapshot if ``review``."""
        auth = self._due_authorization(auth_id)
        self._state.offer(auth, review=review)
        return render.authorization(auth)

    def set_status(
        self,
        auth_id: str,
        status: str,
        *,
        next_action: str | None = None,
        outcome: str | None = None,
    ) -> dict[str, Any]:
        """Move a case without a handoff (``outcome`` for ``completed``, default ``approved``)."""
        auth = self._due_authorization(auth_id)
        self._state.set_status(auth, status, next_action, outcome)
        return render.authorization(auth)

    def touch(self, auth_id: str) -> dict[str, Any]:
        """Collate changes the case in a way the bot does not show: only the version moves."""
        auth = self._due_authorization(auth_id)
        auth.bump(self._clock.now())
        return render.authorization(auth)

    def replace_review_snapshot(self, auth_id: str) -> str:
        """Issue a new current snapshot; the old one becomes stale. Returns the new id."""
        return self._state.replace_snapshot(self._due_authorization(auth_id))

    def set_reconcile_result(self, result: str, auth_id: str | None = None) -> None:
        """For one case, or for all cases without their own. Read when reconciliation is due."""
        validate_reconcile_result(result)
        if auth_id is None:
            self.settings.reconcile_result = result
        else:
            self._due_authorization(auth_id).reconcile_override = result

    def expire_grants(self, auth_id: str) -> dict[str, Any]:
        auth = self._due_authorization(auth_id)
        self._state.expire_grants(auth)
        return render.authorization(auth)

    def lose_channel(self, auth_id: str) -> dict[str, Any]:
        """L6: the active handoff closes with ``interaction_lost_unrecoverable``."""
        auth = self._due_authorization(auth_id)
        self._state.lose_channel(auth)
        return render.authorization(auth)

    def cancel_authorization(self, auth_id: str) -> dict[str, Any]:
        """L7: ``canceled``; an active handoff closes with ``result = canceled``."""
        auth = self._due_authorization(auth_id)
        self._state.cancel(auth)
        return render.authorization(auth)

    def abandon_handoff(self, auth_id: str) -> dict[str, Any]:
        """L5 now: the active handoff closes with ``result = expired``."""
        auth = self._due_authorization(auth_id)
        self._state.abandon(auth)
        return render.authorization(auth)

    # Faults and time

    def fail_next(
        self,
        count: int,
        status: int,
        *,
        retry_after_seconds: float | None = None,
        retryable: bool = True,
        paths: str | None = None,
    ) -> None:
        """The next ``count`` ``/v1`` calls (whose path contains ``paths``) fail with ``status``."""
        self._faults.fail_next(
            count, status, retry_after_seconds=retry_after_seconds, retryable=retryable, paths=paths
        )

    def set_latency(self, ms: float) -> None:
        self._faults.set_latency(ms)

    def reset_next(
        self, count: int, *, after_processing: bool = False, paths: str | None = None
    ) -> None:
        """Drop the next ``count`` ``/v1`` connections unanswered, optionally after processing."""
        self._faults.reset_next(count, after_processing=after_processing, paths=paths)

    def clear_faults(self) -> None:
        self._faults.clear()

    def advance(self, seconds: float) -> None:
        self._clock.advance(seconds)
        self._state.run_due()

    def now(self) -> float:
        """The simulated time, in seconds since the epoch."""
        return self._clock.now()

    # Reads

    def authorization(self, auth_id: str) -> dict[str, Any]:
        return render.authorization(self._due_authorization(auth_id))

    def handoff(self, auth_id: str, handoff_id: str) -> dict[str, Any]:
        self._state.run_due()
        _, record = self._state.handoff(auth_id, handoff_id)
        return render.handoff(record)

    def handoff_creates(self, auth_id: str) -> int:
        return self._due_authorization(auth_id).handoff_creates

    def closes(self, auth_id: str) -> int:
        return self._due_authorization(auth_id).closes

    def close_report(self, auth_id: str, handoff_id: str) -> dict[str, Any] | None:
        """What the operator reported on close (outcome, reason, notes); never in the API."""
        _, record = self._state.handoff(auth_id, handoff_id)
        return asdict(record.close_report) if record.close_report else None

    def grant_opens(self, auth_id: str) -> int:
        """How many times a grant URL of this case was opened successfully."""
        grants = self._state.grants.values()
        return sum(grant.opens for grant in grants if grant.authorization_id == auth_id)

    def _due_authorization(self, auth_id: str) -> Authorization:
        self._state.run_due()
        return self._state.authorization(auth_id)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                self._state.run_due()
            except Exception:
                logger.exception("collate_sim.tick_failed")


def _url(host: str, port: int) -> str:
    if ":" in host:
        return f"http://[{host}]:{port}"
    return f"http://{host}:{port}"
