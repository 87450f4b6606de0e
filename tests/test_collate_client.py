"""The Collate client over real HTTP against the project's simulator.

A few answers no faithful simulator gives (a body missing a required field, an HTML error page,
a cursor that never ends) come from a plain function behind ``httpx.MockTransport`` instead.
Retry sleeps are recorded, never slept.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot.collate
from bot.collate import (
    Authorization,
    AuthorizationNotFound,
    AuthorizationStatus,
    BadRequest,
    CollateApiError,
    CollateClient,
    CollateError,
    CollateProtocolError,
    CollateTransportError,
    Forbidden,
    HandoffNotFound,
    HandoffState,
    IdempotencyKeyReused,
    ManualHandoff,
    ManualHandoffNotAllowed,
    NotActionable,
    RateLimited,
    RetryPolicy,
    ReviewStale,
    ServiceUnavailable,
    Unauthorized,
    VersionConflict,
)
from bot.collate import errors as collate_errors
from sim.collate import CollateSimulator, RecordedRequest, SimSettings

API_KEY = "sim-key-3f9a1c"
HANDOFF_PATH = "/v1/prior-authorizations/{id}/manual-handoffs"


class RecordedSleep:
    """Stands in for ``asyncio.sleep``: remembers each wait and returns at once."""

    def __init__(self) -> None:
        self.durations: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.durations.append(seconds)


@pytest.fixture
async def sim() -> AsyncIterator[CollateSimulator]:
    simulator = CollateSimulator(api_key=API_KEY, settings=SimSettings(reconcile_delay_seconds=0.2))
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def sleeps() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
async def collate(sim: CollateSimulator, sleeps: RecordedSleep) -> AsyncIterator[CollateClient]:
    async with CollateClient(sim.base_url, API_KEY, sleep=sleeps) as client:
        yield client


async def accept_offer(
    collate: CollateClient, sim: CollateSimulator
) -> tuple[Authorization, ManualHandoff]:
    """A fresh offer behind a review, accepted: the authorization as re-read, and the handoff."""
    offer = sim.add_authorization()
    authorization = await collate.get_authorization(offer["id"])
    handoff = await collate.create_handoff(
        authorization, accepted_review_snapshot_id=authorization.required_review_snapshot_id
    )
    return await collate.get_authorization(offer["id"]), handoff


def calls(sim: CollateSimulator, method: str, path_end: str = "") -> list[RecordedRequest]:
    return [
        request
        for request in sim.requests
        if request.method == method and request.path.endswith(path_end)
    ]


# The happy path


async def test_an_offer_goes_from_list_to_reconciled(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    offer = sim.add_authorization()

    listed = await collate.list_requiring_action()
    assert [authorization.id for authorization in listed] == [offer["id"]]
    authorization = await collate.get_authorization(offer["id"])
    assert authorization.offers_manual_handoff
    snapshot = authorization.current_review_snapshot
    assert snapshot is not None
    assert snapshot.id == authorization.required_review_snapshot_id

    handoff = await collate.create_handoff(authorization, accepted_review_snapshot_id=snapshot.id)
    assert handoff.state is HandoffState.ACTIVE
    assert handoff.prior_authorization_id == authorization.id
    grant = await collate.create_access_grant(authorization.id, handoff.id)
    assert grant.url.get_secret_value().startswith(sim.base_url)
    accepted = await collate.get_authorization(authorization.id)
    assert accepted.active_manual_handoff is not None
    assert accepted.active_manual_handoff.id == handoff.id

    closed = await collate.complete(
        accepted, handoff, reported_outcome="submitted", observed_reference_number="ABC123"
    )
    assert closed.manual_handoff_id == handoff.id
    assert closed.state is HandoffState.CLOSING
    assert closed.result == "completed_reported"
    assert closed.authorization.status is AuthorizationStatus.PROCESSING
    assert closed.reconciliation.state == "pending"

    sim.advance(1)
    reconciled = await collate.get_authorization(authorization.id)
    assert reconciled.status is AuthorizationStatus.WAITING_ON_PAYER
    assert reconciled.submission is not None
    assert reconciled.submission.payer_receipt is not None
    assert reconciled.submission.payer_receipt.reference_number == "ABC123"
    assert (await collate.get_handoff(authorization.id, handoff.id)).state is HandoffState.CLOSED


async def test_writes_carry_if_match_and_one_fresh_idempotency_key_per_command(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    authorization, handoff = await accept_offer(collate, sim)
    await collate.create_access_grant(authorization.id, handoff.id)
    await collate.revoke(authorization, handoff, reason="user_closed_task", notes="done")

    create, grant, revoke = calls(sim, "POST")
    assert create.headers["if-match"] == f'"{authorization.version - 1}"'
    assert "if-match" not in grant.headers
    assert revoke.headers["if-match"] == f'"{authorization.version}"'
    keys = [request.headers["idempotency-key"] for request in (create, grant, revoke)]
    assert len(set(keys)) == 3
    assert grant.body is None
    assert revoke.body == {"reason": "user_closed_task", "notes": "done"}
    assert all("authorization" in request.headers for request in sim.requests)


async def test_the_close_bodies_use_each_endpoints_field_names(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    authorization, handoff = await accept_offer(collate, sim)

    await collate.unable_to_complete(
        authorization, handoff, reason="credential_or_mfa_issue", operator_notes="MFA loop"
    )

    (unable,) = calls(sim, "POST", "/unable-to-complete")
    assert unable.body == {"reason": "credential_or_mfa_issue", "operatorNotes": "MFA loop"}


async def test_an_offer_without_review_is_accepted_with_an_empty_body(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    offer = sim.add_authorization(review=False)
    authorization = await collate.get_authorization(offer["id"])
    assert authorization.required_review_snapshot_id is None

    handoff = await collate.create_handoff(authorization, accepted_review_snapshot_id=None)

    assert handoff.state is HandoffState.ACTIVE
    assert calls(sim, "POST")[0].body == {}


async def test_health_needs_no_key(sim: CollateSimulator, collate: CollateClient) -> None:
    assert await collate.health()

    (probe,) = calls(sim, "GET", "/health")
    assert "authorization" not in probe.headers


async def test_health_reports_an_unreachable_server_without_raising() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    async with CollateClient(f"http://127.0.0.1:{port}", API_KEY) as client:
        assert not await client.health()


async def test_unknown_fields_are_tolerated_and_answers_never_kept(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    offer = sim.add_authorization()
    assert "answers" in offer
    assert "providerNpi" in offer

    authorization = await collate.get_authorization(offer["id"])

    assert "answers" not in json.dumps(authorization.model_dump(mode="json"))


# Listing


async def test_the_list_follows_every_page(sim: CollateSimulator, collate: CollateClient) -> None:
    offers = [sim.add_authorization()["id"] for _ in range(7)]

    listed = await collate.list_requiring_action(page_size=3)

    assert sorted(authorization.id for authorization in listed) == sorted(offers)
    pages = calls(sim, "GET", "/v1/prior-authorizations")
    assert len(pages) == 3
    assert all(page.query["status"] == "requires_action" for page in pages)
    assert all(page.query["limit"] == "3" for page in pages)
    assert "cursor" not in pages[0].query
    assert all(page.query["cursor"] for page in pages[1:])


async def test_the_list_keeps_only_requires_action_when_the_server_ignores_the_filter(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    sim.settings.list_honours_status_filter = False
    offer = sim.add_authorization()["id"]
    other_action = sim.add_authorization(next_action="resolve_requirements")["id"]
    sim.add_authorization(status="processing")
    sim.add_authorization(status="waiting_on_payer")
    finished = sim.add_authorization()["id"]
    sim.set_status(finished, "completed", outcome="approved")

    listed = await collate.list_requiring_action(page_size=2)

    assert sorted(item.id for item in listed) == sorted([offer, other_action])
    assert [item.id for item in listed if item.offers_manual_handoff] == [offer]


async def test_a_page_size_outside_the_contract_is_refused(collate: CollateClient) -> None:
    for page_size in (0, 101):
        with pytest.raises(ValueError, match="page_size"):
            await collate.list_requiring_action(page_size=page_size)


# Every documented error, typed


async def test_a_wrong_key_is_unauthorized(sim: CollateSimulator) -> None:
    offer = sim.add_authorization()

    async with CollateClient(sim.base_url, "not-the-key") as client:
        with pytest.raises(Unauthorized) as raised:
            await client.get_authorization(offer["id"])

    error = raised.value
    assert (error.code, error.http_status, error.retryable) == ("unauthorized", 401, False)
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert error.request_id in str(error)
    assert "not-the-key" not in str(error) + repr(error)


async def test_a_forbidden_key_is_forbidden_and_not_retried(
    sim: CollateSimulator, collate: CollateClient, sleeps: RecordedSleep
) -> None:
    offer = sim.add_authorization()
    sim.fail_next(1, 403, retryable=False)

    with pytest.raises(Forbidden) as raised:
        await collate.get_authorization(offer["id"])

    assert (raised.value.code, raised.value.http_status) == ("forbidden", 403)
    assert sleeps.durations == []


async def test_an_unknown_authorization_is_not_found(collate: CollateClient) -> None:
    with pytest.raises(AuthorizationNotFound) as raised:
        await collate.get_authorization("auth_missing")

    assert (raised.value.code, raised.value.http_status) == ("prior_authorization_not_found", 404)


async def test_an_unknown_handoff_is_not_found(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    offer = sim.add_authorization()

    with pytest.raises(HandoffNotFound) as raised:
        await collate.get_handoff(offer["id"], "mhand_missing")

    assert (raised.value.code, raised.value.http_status) == ("manual_handoff_not_found", 404)


async def test_a_stale_version_is_a_conflict_with_both_versions_and_is_not_retried(
    sim: CollateSimulator, collate: CollateClient, sleeps: RecordedSleep
) -> None:
    offer = sim.add_authorization()
    authorization = await collate.get_authorization(offer["id"])
    snapshot_id = authorization.required_review_snapshot_id
    await collate.create_handoff(authorization, accepted_review_snapshot_id=snapshot_id)

    with pytest.raises(VersionConflict) as raised:
        await collate.create_handoff(authorization, accepted_review_snapshot_id=snapshot_id)

    conflict = raised.value
    assert (conflict.code, conflict.http_status, conflict.retryable) == (
        "version_conflict",
        409,
        False,
    )
    assert conflict.expected_version == authorization.version
    assert conflict.actual_version == authorization.version + 1
    assert len(calls(sim, "POST")) == 2
    assert sleeps.durations == []


async def test_accepting_a_replaced_snapshot_is_review_stale(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    offer = sim.add_authorization()
    seen = (await collate.get_authorization(offer["id"])).required_review_snapshot_id
    sim.replace_review_snapshot(offer["id"])
    authorization = await collate.get_authorization(offer["id"])

    with pytest.raises(ReviewStale) as raised:
        await collate.create_handoff(authorization, accepted_review_snapshot_id=seen)

    assert (raised.value.code, raised.value.http_status) == ("review_stale", 409)


async def test_accepting_without_the_required_review_is_review_stale(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    authorization = await collate.get_authorization(sim.add_authorization()["id"])

    with pytest.raises(ReviewStale):
        await collate.create_handoff(authorization, accepted_review_snapshot_id=None)


async def test_accepting_while_collate_is_processing_is_not_allowed(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    authorization = await collate.get_authorization(
        sim.add_authorization(status="processing")["id"]
    )
    assert not authorization.offers_manual_handoff

    with pytest.raises(ManualHandoffNotAllowed) as raised:
        await collate.create_handoff(authorization, accepted_review_snapshot_id=None)

    assert (raised.value.code, raised.value.http_status) == ("manual_handoff_not_allowed", 409)


async def test_a_grant_for_a_closed_handoff_is_not_actionable(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    authorization, handoff = await accept_offer(collate, sim)
    await collate.revoke(authorization, handoff, reason="user_closed_task")

    with pytest.raises(NotActionable) as raised:
        await collate.create_access_grant(authorization.id, handoff.id)

    assert (raised.value.code, raised.value.http_status) == (
        "prior_authorization_not_actionable",
        409,
    )


async def test_an_unknown_outcome_is_a_bad_request(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    authorization, handoff = await accept_offer(collate, sim)

    with pytest.raises(BadRequest) as raised:
        await collate.complete(authorization, handoff, reported_outcome="went_fine")

    assert (raised.value.code, raised.value.http_status) == ("bad_request", 400)


class PinnedIdempotencyKey(httpx.AsyncBaseTransport):
    """Real HTTP, but every keyed request carries one fixed key, as a buggy client would."""

    def __init__(self) -> None:
        self._http = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "Idempotency-Key" in request.headers:
            request.headers["Idempotency-Key"] = "pinned-key"
        return await self._http.handle_async_request(request)

    async def aclose(self) -> None:
        await self._http.aclose()


async def test_one_key_for_two_different_bodies_is_idempotency_key_reused(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    authorization, handoff = await accept_offer(collate, sim)

    async with CollateClient(sim.base_url, API_KEY, transport=PinnedIdempotencyKey()) as pinned:
        await pinned.complete(authorization, handoff, reported_outcome="submitted")
        with pytest.raises(IdempotencyKeyReused) as raised:
            await pinned.complete(authorization, handoff, reported_outcome="decision_observed")

    assert (raised.value.code, raised.value.http_status) == ("idempotency_key_reused", 409)


# Retries


async def test_a_429_waits_retry_after_and_then_succeeds(
    sim: CollateSimulator, collate: CollateClient, sleeps: RecordedSleep
) -> None:
    offer = sim.add_authorization()
    sim.fail_next(2, 429, retry_after_seconds=3)

    authorization = await collate.get_authorization(offer["id"])

    assert authorization.id == offer["id"]
    assert sleeps.durations == [3.0, 3.0]
    assert [request.status for request in calls(sim, "GET", offer["id"])] == [429, 429, 200]


async def test_a_retry_after_over_the_limit_gives_up_at_once(
    sim: CollateSimulator, collate: CollateClient, sleeps: RecordedSleep
) -> None:
    offer = sim.add_authorization()
    sim.fail_next(1, 429, retry_after_seconds=61)

    with pytest.raises(RateLimited) as raised:
        await collate.get_authorization(offer["id"])

    assert raised.value.retry_after_seconds == 61
    assert raised.value.http_status == 429
    assert sleeps.durations == []
    assert len(calls(sim, "GET", offer["id"])) == 1


async def test_a_retryable_5xx_repeats_the_post_with_the_same_key(
    sim: CollateSimulator, collate: CollateClient, sleeps: RecordedSleep
) -> None:
    authorization = await collate.get_authorization(sim.add_authorization()["id"])
    sim.fail_next(2, 503, paths="/manual-handoffs")

    handoff = await collate.create_handoff(
        authorization, accepted_review_snapshot_id=authorization.required_review_snapshot_id
    )

    attempts = calls(sim, "POST", "/manual-handoffs")
    assert [request.status for request in attempts] == [503, 503, 200]
    assert len({request.headers["idempotency-key"] for request in attempts}) == 1
    assert handoff.state is HandoffState.ACTIVE
    assert len(sleeps.durations) == 2
    assert 0 <= sleeps.durations[0] <= 0.5
    assert 0 <= sleeps.durations[1] <= 1.0


async def test_a_5xx_that_is_not_retryable_is_raised_at_once(
    sim: CollateSimulator, collate: CollateClient, sleeps: RecordedSleep
) -> None:
    offer = sim.add_authorization()
    sim.fail_next(1, 500, retryable=False)

    with pytest.raises(ServiceUnavailable) as raised:
        await collate.get_authorization(offer["id"])

    assert (raised.value.code, raised.value.retryable) == ("internal_error", False)
    assert sleeps.durations == []


async def test_the_retry_budget_is_four_retries(
    sim: CollateSimulator, collate: CollateClient, sleeps: RecordedSleep
) -> None:
    offer = sim.add_authorization()
    sim.fail_next(10, 500)

    with pytest.raises(ServiceUnavailable) as raised:
        await collate.get_authorization(offer["id"])

    assert raised.value.retryable
    assert len(calls(sim, "GET", offer["id"])) == 5
    assert len(sleeps.durations) == 4
    for retry, slept in enumerate(sleeps.durations):
        assert 0 <= slept <= 0.5 * 2**retry


async def test_a_dropped_connection_is_retried(
    sim: CollateSimulator, collate: CollateClient, sleeps: RecordedSleep
) -> None:
    offer = sim.add_authorization()
    sim.reset_next(1)

    authorization = await collate.get_authorization(offer["id"])

    assert authorization.id == offer["id"]
    assert len(sleeps.durations) == 1


async def test_a_post_lost_after_processing_is_replayed_not_repeated(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    authorization = await collate.get_authorization(sim.add_authorization()["id"])
    sim.reset_next(1, after_processing=True, paths="/manual-handoffs")

    handoff = await collate.create_handoff(
        authorization, accepted_review_snapshot_id=authorization.required_review_snapshot_id
    )

    assert handoff.state is HandoffState.ACTIVE
    assert sim.handoff_creates(authorization.id) == 1
    first, second = calls(sim, "POST", "/manual-handoffs")
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


async def test_a_timeout_is_a_transport_error_after_its_retries(
    sim: CollateSimulator, sleeps: RecordedSleep
) -> None:
    offer = sim.add_authorization()
    sim.set_latency(200)

    async with CollateClient(
        sim.base_url, API_KEY, timeout_seconds=0.05, max_retries=1, sleep=sleeps
    ) as client:
        with pytest.raises(CollateTransportError) as raised:
            await client.get_authorization(offer["id"])

    assert (raised.value.code, raised.value.retryable) == ("timeout", True)
    assert len(sleeps.durations) == 1
    sim.set_latency(0)


# Decision D1: which version goes into If-Match on a close


async def test_handoff_mode_sends_the_handoffs_version_on_close(
    sim: CollateSimulator, sleeps: RecordedSleep
) -> None:
    sim.settings.if_match_version = "handoff"

    async with CollateClient(
        sim.base_url, API_KEY, if_match_version="handoff", sleep=sleeps
    ) as client:
        authorization, handoff = await accept_offer(client, sim)
        closed = await client.complete(authorization, handoff, reported_outcome="submitted")

    assert closed.result == "completed_reported"
    create, complete = calls(sim, "POST")
    assert create.headers["if-match"] == f'"{authorization.version - 1}"'
    assert complete.headers["if-match"] == f'"{handoff.version}"'


async def test_authorization_mode_conflicts_with_a_server_in_handoff_mode(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    sim.settings.if_match_version = "handoff"
    authorization, handoff = await accept_offer(collate, sim)
    assert authorization.version != handoff.version

    with pytest.raises(VersionConflict) as raised:
        await collate.complete(authorization, handoff, reported_outcome="submitted")

    assert raised.value.expected_version == authorization.version
    assert raised.value.actual_version == handoff.version


async def test_a_close_refuses_a_handoff_of_another_authorization(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    _, handoff = await accept_offer(collate, sim)
    other = await collate.get_authorization(sim.add_authorization()["id"])
    sent = len(sim.requests)

    with pytest.raises(ValueError, match="another authorization"):
        await collate.revoke(other, handoff, reason="user_closed_task")

    assert len(sim.requests) == sent


# What the client logs, and what it never shows


async def test_logs_name_the_call_and_never_the_grant_url_or_key(
    sim: CollateSimulator, collate: CollateClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    authorization, handoff = await accept_offer(collate, sim)
    sim.fail_next(1, 503, paths="/access-grants")

    grant = await collate.create_access_grant(authorization.id, handoff.id)

    url = grant.url.get_secret_value()
    assert url not in repr(grant) + str(grant)
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert url not in text
        assert API_KEY not in text
    requests = [record for record in caplog.records if record.getMessage() == "collate.request"]
    minted = [record for record in requests if record.__dict__["path"].endswith("access-grants")]
    assert [record.__dict__["status"] for record in minted] == [503, 200]
    assert [record.__dict__["attempt"] for record in minted] == [1, 2]
    assert minted[0].__dict__["error_code"] == "service_unavailable"
    assert minted[1].__dict__["request_id"].startswith("req_")
    assert minted[1].__dict__["path"] == f"{HANDOFF_PATH}/{{id}}/access-grants"
    assert minted[1].__dict__["method"] == "POST"
    (retry,) = [record for record in caplog.records if record.getMessage() == "collate.retry"]
    assert retry.__dict__["attempt"] == 2


async def test_error_text_carries_code_status_and_request_id_but_no_body(
    sim: CollateSimulator, collate: CollateClient
) -> None:
    with pytest.raises(AuthorizationNotFound) as raised:
        await collate.get_authorization("auth_missing")

    text = str(raised.value)
    assert "prior_authorization_not_found" in text
    assert "HTTP 404" in text
    assert f"requestId {raised.value.request_id}" in text
    assert "GET /v1/prior-authorizations/{id}" in text
    assert raised.value.message
    assert raised.value.message not in text


# Answers no simulator gives: a plain function behind httpx.MockTransport


Handler = Callable[[httpx.Request], httpx.Response]


def fake_collate(handler: Handler, sleeps: RecordedSleep, **options: Any) -> CollateClient:
    return CollateClient(
        "https://collate.test",
        API_KEY,
        transport=httpx.MockTransport(handler),
        sleep=sleeps,
        **options,
    )


def envelope(code: str, *, retryable: bool = False, **details: Any) -> dict[str, Any]:
    error = {"code": code, "message": "Said by Collate.", "retryable": retryable}
    return {"error": {**error, "details": details, "issues": []}, "requestId": "req_fake"}


def minimal_authorization(**changes: Any) -> dict[str, Any]:
    return {"id": "auth_1", "version": 4, "status": "requires_action", **changes}


async def test_a_missing_required_field_is_named_without_the_body(sleeps: RecordedSleep) -> None:
    body = minimal_authorization(metadata={"externalCaseId": "Jane Patient"})
    del body["version"]

    async with fake_collate(lambda _: httpx.Response(200, json=body), sleeps) as client:
        with pytest.raises(CollateProtocolError) as raised:
            await client.get_authorization("auth_1")

    assert raised.value.field_path == "authorization.version"
    assert "missing required field authorization.version" in str(raised.value)
    assert "Jane Patient" not in str(raised.value)
    assert sleeps.durations == []


async def test_a_handoff_missing_its_state_is_named(sleeps: RecordedSleep) -> None:
    body = {"id": "mhand_1", "version": 1, "priorAuthorizationId": "auth_1"}

    async with fake_collate(lambda _: httpx.Response(200, json=body), sleeps) as client:
        with pytest.raises(CollateProtocolError) as raised:
            await client.get_handoff("auth_1", "mhand_1")

    assert raised.value.field_path == "handoff.state"


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "bad_request", BadRequest),
        (401, "unauthorized", Unauthorized),
        (403, "forbidden", Forbidden),
        (403, "insufficient_permissions", Forbidden),
        (404, "prior_authorization_not_found", AuthorizationNotFound),
        (404, "manual_handoff_not_found", HandoffNotFound),
        (409, "version_conflict", VersionConflict),
        (409, "manual_handoff_not_allowed", ManualHandoffNotAllowed),
        (409, "review_stale", ReviewStale),
        (409, "prior_authorization_not_actionable", NotActionable),
        (409, "idempotency_key_reused", IdempotencyKeyReused),
        (409, "requirements_not_satisfied", CollateApiError),
        (418, "brand_new_code", CollateApiError),
        (500, "internal_error", ServiceUnavailable),
        (502, "bad_gateway", ServiceUnavailable),
    ],
)
async def test_every_documented_code_raises_its_own_class(
    sleeps: RecordedSleep, status: int, code: str, expected: type[CollateError]
) -> None:
    body = envelope(code, expectedVersion=3, actualVersion=4)

    async with fake_collate(lambda _: httpx.Response(status, json=body), sleeps) as client:
        with pytest.raises(CollateApiError) as raised:
            await client.get_authorization("auth_1")

    assert type(raised.value) is expected
    assert (raised.value.code, raised.value.http_status) == (code, status)
    assert raised.value.request_id == "req_fake"
    assert raised.value.details == {"expectedVersion": 3, "actualVersion": 4}
    assert raised.value.message == "Said by Collate."


async def test_a_2xx_that_is_not_json_is_a_protocol_error(sleeps: RecordedSleep) -> None:
    answer = httpx.Response(200, text="<html>portal</html>")

    async with fake_collate(lambda _: answer, sleeps) as client:
        with pytest.raises(CollateProtocolError) as raised:
            await client.get_authorization("auth_1")

    assert raised.value.http_status == 200
    assert "portal" not in str(raised.value)


async def test_a_4xx_without_the_envelope_is_a_protocol_error(sleeps: RecordedSleep) -> None:
    async with fake_collate(lambda _: httpx.Response(404, text="Not Found"), sleeps) as client:
        with pytest.raises(CollateProtocolError) as raised:
            await client.get_authorization("auth_1")

    assert raised.value.http_status == 404


async def test_a_gateway_5xx_without_the_envelope_is_not_retried(sleeps: RecordedSleep) -> None:
    async with fake_collate(lambda _: httpx.Response(502, text="Bad Gateway"), sleeps) as client:
        with pytest.raises(ServiceUnavailable) as raised:
            await client.get_authorization("auth_1")

    assert (raised.value.code, raised.value.retryable) == ("http_502", False)
    assert sleeps.durations == []


async def test_a_429_without_retry_after_backs_off(sleeps: RecordedSleep) -> None:
    answers = iter([httpx.Response(429, json=envelope("rate_limited"))])

    def throttle_once(_: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json=minimal_authorization()))

    async with fake_collate(throttle_once, sleeps) as client:
        await client.get_authorization("auth_1")

    assert len(sleeps.durations) == 1
    assert 0 <= sleeps.durations[0] <= 0.5


async def test_a_retry_after_date_is_read_as_seconds(sleeps: RecordedSleep) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    answers = iter([httpx.Response(429, headers={"Retry-After": later})])

    def throttle_once(_: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json=minimal_authorization()))

    async with fake_collate(throttle_once, sleeps) as client:
        await client.get_authorization("auth_1")

    (slept,) = sleeps.durations
    assert 25 <= slept <= 30


async def test_connect_failures_are_retried_with_one_key_then_raised(
    sleeps: RecordedSleep,
) -> None:
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    async with fake_collate(refuse, sleeps, max_retries=2) as client:
        with pytest.raises(CollateTransportError) as raised:
            await client.create_access_grant("auth_1", "mhand_1")

    assert (raised.value.code, raised.value.retryable) == ("transport_error", True)
    assert len(seen) == 3
    assert len({request.headers["Idempotency-Key"] for request in seen}) == 1
    assert len(sleeps.durations) == 2


async def test_a_cursor_that_repeats_is_a_protocol_error(sleeps: RecordedSleep) -> None:
    page = {"data": [minimal_authorization()], "pagination": {"nextCursor": "again"}}

    async with fake_collate(lambda _: httpx.Response(200, json=page), sleeps) as client:
        with pytest.raises(CollateProtocolError, match="nextCursor"):
            await client.list_requiring_action()


async def test_ids_are_escaped_and_the_key_is_a_bearer_token(sleeps: RecordedSleep) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=minimal_authorization())

    async with fake_collate(answer, sleeps) as client:
        await client.get_authorization("auth/../1?x")
        with pytest.raises(ValueError, match="non-empty"):
            await client.get_authorization("")

    (request,) = seen
    assert request.url.raw_path == b"/v1/prior-authorizations/auth%2F..%2F1%3Fx"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"


async def test_the_client_never_shows_its_key() -> None:
    client = CollateClient("https://collate.test", API_KEY)

    assert API_KEY not in repr(client) + str(client) + repr(vars(client))
    await client.aclose()


def test_the_client_refuses_an_unknown_if_match_mode() -> None:
    with pytest.raises(ValueError, match="if_match_version"):
        CollateClient("https://collate.test", API_KEY, if_match_version="both")  # type: ignore[arg-type]


# The retry budget on its own


@given(retries_done=st.integers(min_value=0, max_value=50))
def test_backoff_is_full_jitter_under_an_eight_second_cap(retries_done: int) -> None:
    delay = RetryPolicy().backoff_seconds(retries_done)

    assert 0 <= delay <= min(8.0, 0.5 * 2**retries_done)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (CollateTransportError("timeout", retryable=True), True),
        (ServiceUnavailable("internal_error", http_status=500, retryable=True), True),
        (ServiceUnavailable("internal_error", http_status=500, retryable=False), False),
        (RateLimited("rate_limited", http_status=429, retry_after_seconds=60), True),
        (RateLimited("rate_limited", http_status=429, retry_after_seconds=60.5), False),
        (VersionConflict("version_conflict", http_status=409, retryable=True), False),
        (BadRequest("bad_request", http_status=400), False),
        (CollateProtocolError("protocol_error"), False),
    ],
)
def test_only_unknown_outcomes_are_retried(error: CollateError, retried: bool) -> None:
    policy = RetryPolicy()

    assert (policy.delay_before_retry(error, 0) is not None) is retried
    assert policy.delay_before_retry(error, 4) is None


def test_every_error_class_is_exported() -> None:
    defined = {
        name
        for name, value in vars(collate_errors).items()
        if isinstance(value, type) and issubclass(value, CollateError)
    }

    assert defined <= set(bot.collate.__all__)
    assert all(hasattr(bot.collate, name) for name in bot.collate.__all__)
