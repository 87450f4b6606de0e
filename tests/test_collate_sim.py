"""The Collate simulator against docs/collate-contract.md, over real HTTP with plain httpx."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sim.collate import CollateSimulator, SimControl, SimControlError, SimControlFailed, SimSettings

KEY = "sim-key"
ROOT = Path(__file__).resolve().parent.parent
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

Json = dict[str, Any]


@pytest.fixture
async def sim() -> AsyncIterator[CollateSimulator]:
    simulator = CollateSimulator(api_key=KEY, settings=SimSettings())
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def api(sim: CollateSimulator) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=sim.base_url, headers=headers) as client:
        yield client


def auth_path(auth_id: str) -> str:
    return f"/v1/prior-authorizations/{auth_id}"


def handoff_path(auth_id: str, handoff_id: str) -> str:
    return f"{auth_path(auth_id)}/manual-handoffs/{handoff_id}"


def if_match(version: int | str) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def snapshot_body(auth: Json) -> Json:
    return {"acceptedReviewSnapshotId": auth["nextAction"]["covers"]["reviewSnapshotId"]}


async def read(api: httpx.AsyncClient, auth_id: str) -> Json:
    response = await api.get(auth_path(auth_id))
    assert response.status_code == 200
    body: Json = response.json()
    return body


async def accept(api: httpx.AsyncClient, auth: Json, **headers: str) -> Json:
    response = await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs",
        headers={**if_match(auth["version"]), **headers},
        json=snapshot_body(auth) if auth["nextAction"]["covers"].get("reviewSnapshotId") else {},
    )
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def accepted(
    sim: CollateSimulator, api: httpx.AsyncClient, **kwargs: Any
) -> tuple[Json, Json]:
    """A new case with an active handoff: the authorization as read after accepting, and it."""
    auth = sim.add_authorization(**kwargs)
    handoff = await accept(api, auth)
    return await read(api, auth["id"]), handoff


async def close(
    api: httpx.AsyncClient, auth: Json, handoff: Json, endpoint: str, body: Json, **headers: str
) -> httpx.Response:
    return await api.post(
        f"{handoff_path(auth['id'], handoff['id'])}/{endpoint}",
        headers={**if_match(auth["version"]), **headers},
        json=body,
    )


async def complete(
    api: httpx.AsyncClient, auth: Json, handoff: Json, outcome: str = "submitted"
) -> Json:
    response = await close(api, auth, handoff, "complete", {"reportedOutcome": outcome})
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def mint(api: httpx.AsyncClient, auth_id: str, handoff_id: str) -> httpx.Response:
    return await api.post(f"{handoff_path(auth_id, handoff_id)}/access-grants")


def assert_error(response: httpx.Response, status: int, code: str) -> Json:
    """The §6 envelope, with a fresh requestId that the X-Request-Id header repeats."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "requestId"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["retryable"], bool)
    assert isinstance(error["details"], dict)
    assert isinstance(error["issues"], list)
    assert body["requestId"].startswith("req_")
    assert response.headers["X-Request-Id"] == body["requestId"]
    result: Json = error
    return result


def issue_fields(error: Json) -> list[str]:
    return [issue["field"] for issue in error["issues"]]


def parse_time(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


# E10, authentication, envelope


async def test_health_answers_ok_without_a_key(sim: CollateSimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-key", f"Basic {KEY}", KEY, "Bearer", f"Bearer {KEY}x"],
)
async def test_v1_without_the_right_bearer_key_is_unauthorized(
    sim: CollateSimulator, authorization: str | None
) -> None:
    auth = sim.add_authorization()
    headers = {} if authorization is None else {"Authorization": authorization}
    async with httpx.AsyncClient(base_url=sim.base_url, headers=headers) as client:
        response = await client.get(auth_path(auth["id"]))
    assert_error(response, 401, "unauthorized")


async def test_every_error_gets_a_fresh_request_id(api: httpx.AsyncClient) -> None:
    first = await api.get(auth_path("auth_missing"))
    second = await api.get(auth_path("auth_missing"))
    assert_error(first, 404, "prior_authorization_not_found")
    assert_error(second, 404, "prior_authorization_not_found")
    assert first.json()["requestId"] != second.json()["requestId"]


async def test_successes_carry_a_request_id_header_too(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    response = await api.get(auth_path(sim.add_authorization()["id"]))
    assert response.headers["X-Request-Id"].startswith("req_")


async def test_unknown_paths_answer_with_the_envelope(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/v1/not-an-endpoint"), 404, "not_found")


# E2 and the Authorization object


async def test_an_offer_reads_as_the_contract_example(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    created = sim.add_authorization(case_id="CASE-2291", payer_id="payer_aetna")
    auth = await read(api, created["id"])

    assert auth == created
    assert auth["id"].startswith("auth_")
    assert auth["version"] >= 1
    assert auth["status"] == "requires_action"
    assert auth["outcome"] is None
    assert auth["payer"] == {"id": "payer_aetna", "displayName": "Aetna"}
    assert auth["request"]["serviceCode"] == {"system": "cpt", "code": "72148"}
    assert auth["metadata"]["externalCaseId"] == "CASE-2291"
    assert auth["activeManualHandoff"] is None
    assert auth["nextAction"]["type"] == "complete_payer_interaction"
    assert auth["nextAction"]["resolution"] == {"kind": "manual_handoff"}
    snapshot = auth["submission"]["reviewSnapshot"]
    assert snapshot["id"].startswith("rev_")
    assert auth["nextAction"]["covers"]["reviewSnapshotId"] == snapshot["id"]
    assert snapshot["status"] == "current"
    assert snapshot["kind"] == "final_payer_submission"
    assert set(snapshot["covers"]) == {
        "priorAuthorizationVersion",
        "requirementsVersion",
        "answersVersion",
        "attachmentsVersion",
    }
    assert (
        snapshot["transparency"]["liveSessionEndpoint"] == f"{auth_path(auth['id'])}/live-session"
    )
    for stamp in (auth["createdAt"], auth["updatedAt"], snapshot["generatedAt"]):
        assert TIMESTAMP.match(stamp)
    assert auth["completedAt"] is None
    assert auth["canceledAt"] is None


async def test_review_summaries_are_nested_and_carry_patient_like_data(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = await read(api, sim.add_authorization()["id"])
    snapshot = auth["submission"]["reviewSnapshot"]
    summary = snapshot["summary"]

    assert set(summary["patient"]) == {"name", "dateOfBirth", "memberId"}
    assert isinstance(summary["diagnoses"], list)
    assert isinstance(summary["diagnoses"][0], dict)
    values = [
        value for part in summary.values() if isinstance(part, dict) for value in part.values()
    ]
    assert None in values
    assert any(isinstance(value, bool) for value in values)
    assert all(set(warning) == {"code", "message"} for warning in snapshot["warnings"])
    assert snapshot["answers"]["item"]
    assert auth["answers"]["patient"]["dateOfBirth"]


async def test_case_ids_payers_and_overrides(sim: CollateSimulator) -> None:
    first = sim.add_authorization()
    second = sim.add_authorization()
    custom = sim.add_authorization(
        summary={"plan": {"tier": None}}, warnings=[], metadata={"team": "infusion"}
    )

    assert re.fullmatch(r"CASE-\d+", first["metadata"]["externalCaseId"])
    assert first["metadata"]["externalCaseId"] != second["metadata"]["externalCaseId"]
    assert first["payer"]["id"] != second["payer"]["id"]
    assert custom["submission"]["reviewSnapshot"]["summary"] == {"plan": {"tier": None}}
    assert custom["submission"]["reviewSnapshot"]["warnings"] == []
    assert custom["metadata"] == {"team": "infusion"}
    with pytest.raises(ValueError, match="unknown payer"):
        sim.add_authorization(payer_id="payer_nobody")


async def test_unknown_authorization_is_not_found_everywhere(api: httpx.AsyncClient) -> None:
    path = auth_path("auth_unknown")
    calls = [
        api.get(path),
        api.get(f"{path}/live-session"),
        api.post(f"{path}/manual-handoffs", headers=if_match(1), json={}),
        api.get(f"{path}/manual-handoffs/mhand_x"),
        api.post(f"{path}/manual-handoffs/mhand_x/access-grants"),
        api.post(f"{path}/manual-handoffs/mhand_x/complete", json={}),
    ]
    for response in await asyncio.gather(*calls):
        assert_error(response, 404, "prior_authorization_not_found")


# E3 create (accept)


async def test_accept_creates_an_active_handoff_and_bumps_the_version(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    handoff = await accept(api, auth)
    after = await read(api, auth["id"])

    assert handoff["id"].startswith("mhand_")
    assert handoff["state"] == "active"
    assert handoff["version"] == 1
    assert handoff["priorAuthorizationId"] == auth["id"]
    assert handoff["result"] is None
    assert handoff["accessAvailable"] is True
    assert isinstance(handoff["finalSubmitCapable"], bool)
    assert TIMESTAMP.match(handoff["activatedAt"])
    assert handoff["closedAt"] is None
    assert after["version"] == auth["version"] + 1
    assert after["status"] == "requires_action"
    assert after["nextAction"]["type"] == "complete_payer_interaction"
    assert after["activeManualHandoff"] == {"id": handoff["id"], "state": "active"}
    assert sim.handoff_creates(auth["id"]) == 1


async def test_accept_with_the_current_version_returns_the_active_handoff(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    again = await accept(api, after)

    assert again["id"] == handoff["id"]
    assert sim.handoff_creates(after["id"]) == 1
    assert (await read(api, after["id"]))["version"] == after["version"]


async def test_a_second_accept_with_the_old_version_conflicts(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    await accept(api, auth)
    response = await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs",
        headers=if_match(auth["version"]),
        json=snapshot_body(auth),
    )
    error = assert_error(response, 409, "version_conflict")
    assert error["details"] == {
        "expectedVersion": auth["version"],
        "actualVersion": auth["version"] + 1,
    }
    assert sim.handoff_creates(auth["id"]) == 1


@pytest.mark.parametrize("value", [None, "7", '"seven"', '"7', 'W/"7"', '"-1"', '"1.0"', "*"])
async def test_if_match_must_be_a_quoted_integer(
    sim: CollateSimulator, api: httpx.AsyncClient, value: str | None
) -> None:
    auth = sim.add_authorization()
    headers = {} if value is None else {"If-Match": value}
    response = await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs", headers=headers, json=snapshot_body(auth)
    )
    error = assert_error(response, 400, "bad_request")
    assert issue_fields(error) == ["If-Match"]


@pytest.mark.parametrize(
    ("setup", "next_action"),
    [
        ("processing", None),
        ("requires_action", "resolve_requirements"),
        ("requires_action", "approve_submission"),
        ("waiting_on_payer", None),
        ("completed", None),
        ("canceled", None),
    ],
)
async def test_nothing_to_accept_is_manual_handoff_not_allowed(
    sim: CollateSimulator, api: httpx.AsyncClient, setup: str, next_action: str | None
) -> None:
    auth = sim.add_authorization(status=setup, next_action=next_action, review=False)
    response = await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs", headers=if_match(auth["version"]), json={}
    )
    assert_error(response, 409, "manual_handoff_not_allowed")


async def test_accept_without_the_reviewed_snapshot_is_review_stale(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    response = await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs", headers=if_match(auth["version"]), json={}
    )
    assert_error(response, 409, "review_stale")


async def test_a_replaced_snapshot_is_stale(sim: CollateSimulator, api: httpx.AsyncClient) -> None:
    auth = sim.add_authorization()
    new_id = sim.replace_review_snapshot(auth["id"])
    current = await read(api, auth["id"])

    assert new_id != snapshot_body(auth)["acceptedReviewSnapshotId"]
    assert current["version"] == auth["version"] + 1
    assert current["nextAction"]["covers"]["reviewSnapshotId"] == new_id
    assert current["submission"]["reviewSnapshot"]["id"] == new_id
    response = await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs",
        headers=if_match(current["version"]),
        json=snapshot_body(auth),
    )
    assert_error(response, 409, "review_stale")
    assert (await accept(api, current))["state"] == "active"


async def test_without_a_review_no_id_is_needed_but_a_supplied_one_is_checked(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization(review=False)
    assert "reviewSnapshotId" not in auth["nextAction"]["covers"]
    assert auth["submission"]["reviewSnapshot"] is None

    path = f"{auth_path(auth['id'])}/manual-handoffs"
    wrong = await api.post(
        path, headers=if_match(auth["version"]), json={"acceptedReviewSnapshotId": "rev_made_up"}
    )
    assert_error(wrong, 409, "review_stale")
    created = await api.post(path, headers=if_match(auth["version"]), json={})
    assert created.status_code == 200


async def test_accept_order_of_checks(sim: CollateSimulator, api: httpx.AsyncClient) -> None:
    """auth → 404 → idempotency → If-Match syntax → version → active → not allowed → review."""
    processing = sim.add_authorization(status="processing")
    path = f"{auth_path(processing['id'])}/manual-handoffs"

    missing = await api.post(f"{auth_path('auth_nope')}/manual-handoffs", json={})
    assert_error(missing, 404, "prior_authorization_not_found")
    stale = await api.post(path, headers=if_match(processing["version"] + 5), json={})
    assert_error(stale, 409, "version_conflict")
    not_allowed = await api.post(path, headers=if_match(processing["version"]), json={})
    assert_error(not_allowed, 409, "manual_handoff_not_allowed")

    after, handoff = await accepted(sim, api)
    stale_while_active = await api.post(
        f"{auth_path(after['id'])}/manual-handoffs", headers=if_match(1), json={}
    )
    assert_error(stale_while_active, 409, "version_conflict")
    without_review = await api.post(
        f"{auth_path(after['id'])}/manual-handoffs", headers=if_match(after["version"]), json={}
    )
    assert without_review.json()["id"] == handoff["id"]


async def test_accept_body_must_be_an_object_with_a_string_id(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    path = f"{auth_path(auth['id'])}/manual-handoffs"
    not_json = await api.post(path, headers=if_match(auth["version"]), content=b"{oops")
    assert_error(not_json, 400, "bad_request")
    wrong_type = await api.post(
        path, headers=if_match(auth["version"]), json={"acceptedReviewSnapshotId": 5}
    )
    assert issue_fields(assert_error(wrong_type, 400, "bad_request")) == [
        "acceptedReviewSnapshotId"
    ]


# Idempotency (§7, D2)


async def test_same_key_and_body_replays_the_first_response(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    first = await accept(api, auth, **{"Idempotency-Key": "key-1"})
    replay = await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs",
        headers={**if_match(auth["version"]), "Idempotency-Key": "key-1"},
        json=snapshot_body(auth),
    )

    assert replay.status_code == 200
    assert replay.json() == first
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert sim.handoff_creates(auth["id"]) == 1


async def test_replay_comes_before_if_match_checks(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    first = await accept(api, auth, **{"Idempotency-Key": "key-2"})
    replay = await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs",
        headers={"Idempotency-Key": "key-2"},
        json=snapshot_body(auth),
    )
    assert replay.json() == first


async def test_same_key_with_another_body_is_idempotency_key_reused(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    await accept(api, auth, **{"Idempotency-Key": "key-3"})
    response = await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs",
        headers={**if_match(auth["version"]), "Idempotency-Key": "key-3"},
        json={"acceptedReviewSnapshotId": "rev_other"},
    )
    assert_error(response, 409, "idempotency_key_reused")


async def test_body_equality_ignores_key_order_and_spacing(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    headers = {**if_match(after["version"]), "Idempotency-Key": "key-4"}
    path = f"{handoff_path(after['id'], handoff['id'])}/complete"
    first = await api.post(
        path, headers=headers, content=b'{"reportedOutcome":"submitted","operatorNotes":"x"}'
    )
    again = await api.post(
        path, headers=headers, content=b'{ "operatorNotes": "x", "reportedOutcome": "submitted" }'
    )
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert sim.closes(after["id"]) == 1


async def test_only_successes_are_remembered(sim: CollateSimulator, api: httpx.AsyncClient) -> None:
    auth = sim.add_authorization()
    path = f"{auth_path(auth['id'])}/manual-handoffs"
    failed = await api.post(path, headers={"Idempotency-Key": "key-5"}, json=snapshot_body(auth))
    assert_error(failed, 400, "bad_request")

    retried = await accept(api, auth, **{"Idempotency-Key": "key-5"})
    assert retried["state"] == "active"


async def test_keys_are_scoped_by_method_and_path(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    other_after, other_handoff = await accepted(sim, api)
    key = {"Idempotency-Key": "shared-key"}

    first = await api.post(f"{handoff_path(after['id'], handoff['id'])}/access-grants", headers=key)
    second = await api.post(
        f"{handoff_path(other_after['id'], other_handoff['id'])}/access-grants", headers=key
    )
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] != second.json()["id"]


async def test_a_replayed_grant_is_the_same_grant(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    path = f"{handoff_path(after['id'], handoff['id'])}/access-grants"
    first = await api.post(path, headers={"Idempotency-Key": "grant-key"})
    again = await api.post(path, headers={"Idempotency-Key": "grant-key"})
    fresh = await api.post(path)
    assert again.json() == first.json()
    assert fresh.json()["id"] != first.json()["id"]


# POST /v1/prior-authorizations (simulator setup only)


async def test_create_requires_an_idempotency_key(api: httpx.AsyncClient) -> None:
    body = {"policy": {"finalSubmission": {"mode": "human_approval"}}}
    response = await api.post("/v1/prior-authorizations", json=body)
    assert issue_fields(assert_error(response, 400, "bad_request")) == ["Idempotency-Key"]


async def test_create_requires_a_final_submission_policy(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/prior-authorizations", headers={"Idempotency-Key": "c-1"}, json={"payerId": "x"}
    )
    assert_error(response, 400, "final_submission_policy_required")


async def test_create_offers_a_handoff_and_replays(api: httpx.AsyncClient) -> None:
    body = {
        "payerId": "payer_cigna",
        "policy": {"finalSubmission": {"mode": "human_approval"}},
        "metadata": {"externalCaseId": "CASE-7001"},
    }
    headers = {"Idempotency-Key": "c-2"}
    first = await api.post("/v1/prior-authorizations", headers=headers, json=body)
    again = await api.post("/v1/prior-authorizations", headers=headers, json=body)

    assert first.status_code == 200
    created = first.json()
    assert created["payer"]["displayName"] == "Cigna"
    assert created["metadata"] == {"externalCaseId": "CASE-7001"}
    assert created["nextAction"]["type"] == "complete_payer_interaction"
    assert again.json()["id"] == created["id"]
    unknown = await api.post(
        "/v1/prior-authorizations",
        headers={"Idempotency-Key": "c-3"},
        json={**body, "payerId": "payer_nobody"},
    )
    assert_error(unknown, 404, "payer_not_found")


# E4 get handoff


async def test_get_handoff_and_unknown_handoff(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    found = await api.get(handoff_path(after["id"], handoff["id"]))
    assert found.json() == handoff == sim.handoff(after["id"], handoff["id"])

    for response in await asyncio.gather(
        api.get(handoff_path(after["id"], "mhand_unknown")),
        mint(api, after["id"], "mhand_unknown"),
        api.post(
            f"{handoff_path(after['id'], 'mhand_unknown')}/revoke",
            headers=if_match(after["version"]),
            json={"reason": "user_closed_task"},
        ),
    ):
        assert_error(response, 404, "manual_handoff_not_found")


# E5 grants and the grant URL


async def test_each_mint_is_a_new_grant_with_a_ten_minute_lifetime(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    before = time.time()
    first = (await mint(api, after["id"], handoff["id"])).json()
    second = (await mint(api, after["id"], handoff["id"])).json()

    assert set(first) == {"id", "url", "expiresAt"}
    assert first["id"].startswith("rag_")
    assert first["id"] != second["id"]
    assert first["url"] == f"{sim.base_url}/runtime/access/{first['id']}"
    assert 598 <= parse_time(first["expiresAt"]) - before <= 601
    assert (await read(api, after["id"]))["version"] == after["version"]


async def test_a_valid_grant_url_redirects_to_the_channel(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    grant = (await mint(api, after["id"], handoff["id"])).json()
    async with httpx.AsyncClient() as browser:
        redirect = await browser.get(grant["url"])
        page = await browser.get(grant["url"], follow_redirects=True)

    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith(sim.base_url)
    assert page.status_code == 200
    assert sim.grant_opens(after["id"]) == 2


async def test_a_grant_expires_after_its_lifetime(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    sim.settings.grant_ttl_seconds = 60
    after, handoff = await accepted(sim, api)
    grant = (await mint(api, after["id"], handoff["id"])).json()
    async with httpx.AsyncClient() as browser:
        sim.advance(59)
        assert (await browser.get(grant["url"])).status_code == 302
        sim.advance(1)
        assert_error(await browser.get(grant["url"]), 404, "access_grant_expired")


async def test_expire_grants_control(sim: CollateSimulator, api: httpx.AsyncClient) -> None:
    after, handoff = await accepted(sim, api)
    grant = (await mint(api, after["id"], handoff["id"])).json()
    sim.expire_grants(after["id"])
    async with httpx.AsyncClient() as browser:
        assert_error(await browser.get(grant["url"]), 404, "access_grant_expired")
    assert (await mint(api, after["id"], handoff["id"])).status_code == 200


async def test_closing_revokes_grants_and_unknown_grants_are_refused(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    grant = (await mint(api, after["id"], handoff["id"])).json()
    await complete(api, after, handoff)
    async with httpx.AsyncClient() as browser:
        assert_error(await browser.get(grant["url"]), 404, "access_grant_revoked")
        unknown = await browser.get(f"{sim.base_url}/runtime/access/rag_unknown")
        assert_error(unknown, 404, "access_grant_revoked")


async def test_a_grant_that_expired_before_the_close_stays_expired(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    grant = (await mint(api, after["id"], handoff["id"])).json()
    sim.advance(700)
    await complete(api, after, handoff)
    async with httpx.AsyncClient() as browser:
        assert_error(await browser.get(grant["url"]), 404, "access_grant_expired")


async def test_mint_on_a_closed_handoff_is_not_actionable(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    await complete(api, after, handoff)
    response = await mint(api, after["id"], handoff["id"])
    assert_error(response, 409, "prior_authorization_not_actionable")


async def test_mint_ignores_if_match(sim: CollateSimulator, api: httpx.AsyncClient) -> None:
    after, handoff = await accepted(sim, api)
    response = await api.post(
        f"{handoff_path(after['id'], handoff['id'])}/access-grants", headers=if_match("nonsense")
    )
    assert response.status_code == 200


# E6-E8 closes


@pytest.mark.parametrize(
    ("endpoint", "body", "result"),
    [
        (
            "complete",
            {"reportedOutcome": "submitted", "observedReferenceNumber": "ABC123"},
            "completed_reported",
        ),
        ("unable-to-complete", {"reason": "credential_or_mfa_issue"}, "unable_to_complete"),
        ("revoke", {"reason": "user_closed_task", "notes": None}, "revoked"),
    ],
)
async def test_a_close_answers_the_d7_shape_and_the_handoff_is_closed(
    sim: CollateSimulator, api: httpx.AsyncClient, endpoint: str, body: Json, result: str
) -> None:
    after, handoff = await accepted(sim, api)
    response = await close(api, after, handoff, endpoint, body)

    assert response.status_code == 200, response.text
    closed = response.json()
    assert closed["manualHandoffId"] == handoff["id"]
    assert closed["state"] == "closing"
    assert closed["result"] == result
    assert closed["authorization"] == {
        "id": after["id"],
        "version": after["version"] + 1,
        "status": "processing",
    }
    assert closed["reconciliation"]["id"].startswith("rec_")
    assert closed["reconciliation"]["state"] == "pending"

    read_back = (await api.get(handoff_path(after["id"], handoff["id"]))).json()
    assert read_back["state"] == "closed"
    assert read_back["result"] == result
    assert read_back["accessAvailable"] is False
    assert TIMESTAMP.match(read_back["closedAt"])
    auth = await read(api, after["id"])
    assert auth["status"] == "processing"
    assert auth["nextAction"] is None
    assert auth["activeManualHandoff"] is None
    assert auth["version"] == after["version"] + 1
    assert sim.closes(after["id"]) == 1


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("complete", {}, "reportedOutcome"),
        ("complete", {"reportedOutcome": "approved"}, "reportedOutcome"),
        (
            "complete",
            {"reportedOutcome": "submitted", "observedReferenceNumber": 7},
            "observedReferenceNumber",
        ),
        ("unable-to-complete", {}, "reason"),
        ("unable-to-complete", {"reason": "tired"}, "reason"),
        ("revoke", {}, "reason"),
        ("revoke", {"reason": ""}, "reason"),
        ("revoke", {"reason": "user_closed_task", "notes": 5}, "notes"),
    ],
)
async def test_close_bodies_are_validated(
    sim: CollateSimulator, api: httpx.AsyncClient, endpoint: str, body: Json, field: str
) -> None:
    after, handoff = await accepted(sim, api)
    error = assert_error(await close(api, after, handoff, endpoint, body), 400, "bad_request")
    assert issue_fields(error) == [field]
    assert all(set(issue) == {"field", "message"} for issue in error["issues"])
    assert sim.closes(after["id"]) == 0


async def test_revoke_reason_is_free_text(sim: CollateSimulator, api: httpx.AsyncClient) -> None:
    after, handoff = await accepted(sim, api)
    response = await close(api, after, handoff, "revoke", {"reason": "supervisor reassigned"})
    assert response.status_code == 200


async def test_notes_under_either_name_the_documented_one_wins(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    body = {"reportedOutcome": "submitted", "operatorNotes": "documented", "notes": "other"}
    assert (await close(api, after, handoff, "complete", body)).status_code == 200
    report = sim.close_report(after["id"], handoff["id"])
    assert report is not None
    assert report["notes"] == "documented"

    after, handoff = await accepted(sim, api)
    body = {"reason": "user_closed_task", "operatorNotes": "only the other name"}
    assert (await close(api, after, handoff, "revoke", body)).status_code == 200
    report = sim.close_report(after["id"], handoff["id"])
    assert report is not None
    assert report["notes"] == "only the other name"


async def test_close_order_of_checks(sim: CollateSimulator, api: httpx.AsyncClient) -> None:
    """404 → idempotency → If-Match syntax → body → version → not active → close."""
    after, handoff = await accepted(sim, api)
    path = f"{handoff_path(after['id'], handoff['id'])}/complete"

    syntax_first = await api.post(path, json={})
    assert issue_fields(assert_error(syntax_first, 400, "bad_request")) == ["If-Match"]
    body_before_version = await api.post(path, headers=if_match(1), json={})
    assert issue_fields(assert_error(body_before_version, 400, "bad_request")) == [
        "reportedOutcome"
    ]
    stale = await api.post(path, headers=if_match(1), json={"reportedOutcome": "submitted"})
    assert_error(stale, 409, "version_conflict")

    await complete(api, after, handoff)
    current = await read(api, after["id"])
    stale_after_close = await close(
        api, after, handoff, "complete", {"reportedOutcome": "submitted"}
    )
    assert_error(stale_after_close, 409, "version_conflict")
    not_active = await close(api, current, handoff, "revoke", {"reason": "user_closed_task"})
    assert_error(not_active, 409, "prior_authorization_not_actionable")


async def test_a_replayed_close_is_not_a_second_close(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    body = {"reportedOutcome": "submitted"}
    first = await close(api, after, handoff, "complete", body, **{"Idempotency-Key": "close-1"})
    again = await close(api, after, handoff, "complete", body, **{"Idempotency-Key": "close-1"})
    assert again.json() == first.json()
    assert sim.closes(after["id"]) == 1


async def test_if_match_can_carry_the_handoff_version(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    sim.settings.if_match_version = "handoff"
    auth = sim.add_authorization()
    handoff = await accept(api, auth)
    after = await read(api, auth["id"])
    path = f"{handoff_path(auth['id'], handoff['id'])}/complete"
    body = {"reportedOutcome": "submitted"}

    with_auth_version = await api.post(path, headers=if_match(after["version"]), json=body)
    error = assert_error(with_auth_version, 409, "version_conflict")
    assert error["details"] == {"expectedVersion": after["version"], "actualVersion": 1}
    with_handoff_version = await api.post(path, headers=if_match(handoff["version"]), json=body)
    assert with_handoff_version.status_code == 200
    closed = (await api.get(handoff_path(auth["id"], handoff["id"]))).json()
    assert closed["version"] > handoff["version"]


# Reconciliation (D7)


async def test_reconciliation_waits_for_the_delay(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    await complete(api, after, handoff)
    sim.advance(4.5)
    assert (await read(api, after["id"]))["status"] == "processing"
    sim.advance(1)
    auth = await read(api, after["id"])
    assert auth["status"] == "waiting_on_payer"
    assert auth["version"] == after["version"] + 2


async def test_reconciliation_runs_without_any_request(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    sim.settings.reconcile_delay_seconds = 0.05
    after, handoff = await accepted(sim, api)
    await complete(api, after, handoff)
    record = sim._state.authorizations[after["id"]]  # read without triggering due transitions
    for _ in range(40):
        if record.status != "processing":
            break
        await asyncio.sleep(0.025)
    assert record.status == "waiting_on_payer"


@pytest.mark.parametrize(
    ("reported", "status", "outcome", "next_action"),
    [
        ("submitted", "waiting_on_payer", None, None),
        ("decision_observed", "completed", "approved", None),
        ("not_required_observed", "completed", "not_required", None),
        ("follow_up_required_observed", "requires_action", None, "resolve_requirements"),
    ],
)
async def test_auto_reconciliation_follows_the_reported_outcome(
    sim: CollateSimulator,
    api: httpx.AsyncClient,
    reported: str,
    status: str,
    outcome: str | None,
    next_action: str | None,
) -> None:
    after, handoff = await accepted(sim, api)
    await complete(api, after, handoff, reported)
    sim.advance(5)
    auth = await read(api, after["id"])

    assert auth["status"] == status
    assert auth["outcome"] == outcome
    assert (auth["nextAction"] or {}).get("type") == next_action
    if status == "completed":
        assert TIMESTAMP.match(auth["completedAt"])
        assert auth["submission"]["decision"] is not None
    if next_action == "resolve_requirements":
        assert auth["nextAction"]["resolution"] == {"kind": "update_authorization"}


async def test_submitted_reconciles_with_the_observed_or_a_generated_reference(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    body = {"reportedOutcome": "submitted", "observedReferenceNumber": "ABC123"}
    assert (await close(api, after, handoff, "complete", body)).status_code == 200
    other_after, other_handoff = await accepted(sim, api)
    await complete(api, other_after, other_handoff)
    sim.advance(5)

    observed = (await read(api, after["id"]))["submission"]["payerReceipt"]
    generated = (await read(api, other_after["id"]))["submission"]["payerReceipt"]
    assert observed["referenceNumber"] == "ABC123"
    assert isinstance(generated["referenceNumber"], str)
    assert generated["referenceNumber"]


@pytest.mark.parametrize("ending", ["unable-to-complete", "revoke", "abandon", "lose_channel"])
async def test_auto_reconciliation_reoffers_after_other_endings(
    sim: CollateSimulator, api: httpx.AsyncClient, ending: str
) -> None:
    after, handoff = await accepted(sim, api)
    old_snapshot = after["submission"]["reviewSnapshot"]["id"]
    if ending == "unable-to-complete":
        await close(api, after, handoff, ending, {"reason": "channel_outage"})
    elif ending == "revoke":
        await close(api, after, handoff, ending, {"reason": "user_closed_task"})
    elif ending == "abandon":
        sim.abandon_handoff(after["id"])
    else:
        sim.lose_channel(after["id"])
    sim.advance(5)
    auth = await read(api, after["id"])

    assert auth["status"] == "requires_action"
    assert auth["nextAction"]["type"] == "complete_payer_interaction"
    assert auth["activeManualHandoff"] is None
    assert auth["nextAction"]["covers"]["reviewSnapshotId"] != old_snapshot
    stale = await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs",
        headers=if_match(auth["version"]),
        json={"acceptedReviewSnapshotId": old_snapshot},
    )
    assert_error(stale, 409, "review_stale")
    second = await accept(api, auth)
    assert second["id"] != handoff["id"]
    assert sim.handoff_creates(auth["id"]) == 2


@pytest.mark.parametrize(
    ("result", "status", "outcome", "next_action"),
    [
        ("waiting_on_payer", "waiting_on_payer", None, None),
        ("completed:denied", "completed", "denied", None),
        ("completed:modified", "completed", "modified", None),
        ("requires_action:approve_submission", "requires_action", None, "approve_submission"),
        (
            "requires_action:complete_payer_interaction",
            "requires_action",
            None,
            "complete_payer_interaction",
        ),
    ],
)
async def test_a_fixed_reconcile_result_wins_over_the_report(
    sim: CollateSimulator,
    api: httpx.AsyncClient,
    result: str,
    status: str,
    outcome: str | None,
    next_action: str | None,
) -> None:
    sim.set_reconcile_result(result)
    after, handoff = await accepted(sim, api)
    await complete(api, after, handoff, "decision_observed")
    sim.advance(5)
    auth = await read(api, after["id"])
    assert auth["status"] == status
    assert auth["outcome"] == outcome
    assert (auth["nextAction"] or {}).get("type") == next_action


async def test_a_per_case_reconcile_result_beats_the_global_one(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    sim.set_reconcile_result("completed:failed")
    special, special_handoff = await accepted(sim, api)
    ordinary, ordinary_handoff = await accepted(sim, api)
    sim.set_reconcile_result("completed:denied", special["id"])
    await complete(api, special, special_handoff)
    await complete(api, ordinary, ordinary_handoff)
    sim.advance(5)

    assert (await read(api, special["id"]))["outcome"] == "denied"
    assert (await read(api, ordinary["id"]))["outcome"] == "failed"
    with pytest.raises(ValueError, match="reconcile_result"):
        sim.set_reconcile_result("completed:maybe")


# Collate-side endings (D6): abandonment, channel loss, cancel


async def test_a_handoff_without_a_grant_for_thirty_minutes_expires(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    sim.advance(1799)
    assert (await api.get(handoff_path(after["id"], handoff["id"]))).json()["state"] == "active"
    sim.advance(1)
    expired = (await api.get(handoff_path(after["id"], handoff["id"]))).json()
    auth = await read(api, after["id"])

    assert expired["state"] == "closed"
    assert expired["result"] == "expired"
    assert auth["status"] == "processing"
    assert auth["activeManualHandoff"] is None
    assert auth["version"] == after["version"] + 1
    assert sim.closes(after["id"]) == 0


async def test_minting_keeps_the_handoff_alive(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    sim.settings.abandon_after_seconds = 100
    after, handoff = await accepted(sim, api)
    sim.advance(90)
    assert (await mint(api, after["id"], handoff["id"])).status_code == 200
    sim.advance(90)
    assert sim.handoff(after["id"], handoff["id"])["state"] == "active"
    sim.advance(11)
    assert sim.handoff(after["id"], handoff["id"])["result"] == "expired"


async def test_a_long_jump_abandons_and_then_reconciles(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, _handoff = await accepted(sim, api)
    sim.advance(1800 + 5)
    auth = await read(api, after["id"])
    assert auth["status"] == "requires_action"
    assert auth["nextAction"]["type"] == "complete_payer_interaction"
    assert auth["version"] == after["version"] + 2


async def test_channel_loss_closes_the_handoff_and_its_grants(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    grant = (await mint(api, after["id"], handoff["id"])).json()
    sim.lose_channel(after["id"])

    lost = (await api.get(handoff_path(after["id"], handoff["id"]))).json()
    assert lost["result"] == "interaction_lost_unrecoverable"
    assert lost["state"] == "closed"
    assert (await read(api, after["id"]))["status"] == "processing"
    async with httpx.AsyncClient() as browser:
        assert_error(await browser.get(grant["url"]), 404, "channel_session_lost")
    with pytest.raises(SimControlError):
        sim.lose_channel(after["id"])


async def test_cancel_closes_the_handoff_and_is_never_reconciled(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    grant = (await mint(api, after["id"], handoff["id"])).json()
    sim.cancel_authorization(after["id"])
    sim.advance(60)

    auth = await read(api, after["id"])
    assert auth["status"] == "canceled"
    assert TIMESTAMP.match(auth["canceledAt"])
    assert auth["nextAction"] is None
    assert auth["activeManualHandoff"] is None
    assert auth["version"] == after["version"] + 1
    canceled = (await api.get(handoff_path(after["id"], handoff["id"]))).json()
    assert canceled["result"] == "canceled"
    assert canceled["state"] == "closed"
    async with httpx.AsyncClient() as browser:
        assert_error(await browser.get(grant["url"]), 404, "access_grant_revoked")
    again = await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs", headers=if_match(auth["version"]), json={}
    )
    assert_error(again, 409, "manual_handoff_not_allowed")
    with pytest.raises(SimControlError):
        sim.cancel_authorization(after["id"])


async def test_cancel_without_a_handoff(sim: CollateSimulator) -> None:
    auth = sim.add_authorization(status="waiting_on_payer")
    canceled = sim.cancel_authorization(auth["id"])
    assert canceled["status"] == "canceled"
    assert canceled["version"] == auth["version"] + 1


# Control moves


async def test_offer_and_set_status_move_the_case_and_bump_the_version(
    sim: CollateSimulator,
) -> None:
    auth = sim.add_authorization(status="processing")
    assert auth["nextAction"] is None
    assert auth["submission"]["reviewSnapshot"] is None
    offered = sim.offer_handoff(auth["id"])
    assert offered["version"] == auth["version"] + 1
    assert offered["nextAction"]["covers"]["reviewSnapshotId"]
    withdrawn = sim.set_status(auth["id"], "requires_action", next_action="resolve_requirements")
    assert withdrawn["nextAction"]["type"] == "resolve_requirements"
    waiting = sim.set_status(auth["id"], "waiting_on_payer")
    assert waiting["submission"]["payerReceipt"]["referenceNumber"]
    done = sim.set_status(auth["id"], "completed", outcome="denied")
    assert (done["status"], done["outcome"]) == ("completed", "denied")
    assert done["version"] == auth["version"] + 4
    with pytest.raises(SimControlError):
        sim.set_status(auth["id"], "processing")
    with pytest.raises(ValueError, match="status"):
        sim.set_status(sim.add_authorization()["id"], "requires_input")


async def test_moves_are_refused_while_a_handoff_is_active(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, _ = await accepted(sim, api)
    with pytest.raises(SimControlError):
        sim.set_status(after["id"], "processing")
    with pytest.raises(SimControlError):
        sim.offer_handoff(after["id"])
    with pytest.raises(LookupError):
        sim.authorization("auth_unknown")


async def test_answers_cannot_change_while_a_handoff_is_active(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    path = f"{auth_path(auth['id'])}/answers"
    assert (await api.patch(path, json={"note": "before"})).status_code == 200
    current = await read(api, auth["id"])
    await accept(api, current)
    assert_error(
        await api.patch(path, json={"note": "during"}), 409, "prior_authorization_not_mutable"
    )


# E9 live session


async def test_live_session_is_typed_in_every_phase(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    path = f"{auth_path(auth['id'])}/live-session"
    offered = (await api.get(path)).json()
    assert offered["state"] == "not_live"
    assert offered["handoff"]["allowed"] is True

    handoff = await accept(api, auth)
    active = (await api.get(path)).json()
    assert active["state"] == "live"
    assert active["owner"] == {"type": "manual_handoff", "manualHandoffId": handoff["id"]}
    assert active["priorAuthorizationId"] == auth["id"]
    assert "read_only" in active["access"]["supportedModes"]

    current = await read(api, auth["id"])
    await complete(api, current, handoff)
    processing = (await api.get(path)).json()
    assert processing["owner"]["type"] == "automation"
    assert processing["handoff"] == {
        "allowed": False,
        "state": "unavailable",
        "reason": "automation_owns_processing",
        "manualHandoffId": None,
    }
    assert set(processing["safety"]) == {
        "irreversibleBoundaryState",
        "finalSubmitCapable",
        "requiresReviewApprovalForSubmit",
        "reviewSnapshotId",
    }


# E1 list (D4)


async def test_list_pages_through_every_case_with_opaque_cursors(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    ids = [sim.add_authorization()["id"] for _ in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        body = (await api.get("/v1/prior-authorizations", params=params)).json()
        assert set(body) == {"data", "pagination"}
        seen.extend(item["id"] for item in body["data"])
        pages += 1
        cursor = body["pagination"]["nextCursor"]
        if cursor is None:
            break
        assert "auth_" not in cursor
    assert seen == ids
    assert pages == 3


async def test_list_defaults_to_25(sim: CollateSimulator, api: httpx.AsyncClient) -> None:
    for _ in range(26):
        sim.add_authorization(review=False)
    body = (await api.get("/v1/prior-authorizations")).json()
    assert len(body["data"]) == 25
    assert body["pagination"]["nextCursor"] is not None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"status": "requires_input"}, "status"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJhZnRlciI6ICJhdXRoX2dvbmUifQ"}, "cursor"),
    ],
)
async def test_list_rejects_bad_queries(api: httpx.AsyncClient, params: Json, field: str) -> None:
    response = await api.get("/v1/prior-authorizations", params=params)
    assert issue_fields(assert_error(response, 400, "bad_request")) == [field]


async def test_list_accepts_the_limit_bounds(sim: CollateSimulator, api: httpx.AsyncClient) -> None:
    sim.add_authorization()
    for limit in ("1", "100"):
        assert (
            await api.get("/v1/prior-authorizations", params={"limit": limit})
        ).status_code == 200


async def test_list_filters_by_status_unless_told_to_ignore_it(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    offer = sim.add_authorization()["id"]
    sim.add_authorization(status="processing")
    sim.add_authorization(status="completed")
    params = {"status": "requires_action"}

    filtered = (await api.get("/v1/prior-authorizations", params=params)).json()["data"]
    assert [item["id"] for item in filtered] == [offer]
    sim.settings.list_honours_status_filter = False
    ignored = (await api.get("/v1/prior-authorizations", params=params)).json()["data"]
    assert {item["status"] for item in ignored} == {"requires_action", "processing", "completed"}


async def test_filtered_pages_continue_after_the_last_match(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    offers = []
    for _ in range(3):
        offers.append(sim.add_authorization()["id"])
        sim.add_authorization(status="processing")
    params: Json = {"status": "requires_action", "limit": 2}
    first = (await api.get("/v1/prior-authorizations", params=params)).json()
    params["cursor"] = first["pagination"]["nextCursor"]
    second = (await api.get("/v1/prior-authorizations", params=params)).json()
    assert [item["id"] for item in first["data"] + second["data"]] == offers
    assert second["pagination"]["nextCursor"] is None


# Faults (D9), dropped connections, latency


async def test_fail_next_throttles_with_retry_after(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    sim.fail_next(2, 429, retry_after_seconds=3)
    for _ in range(2):
        response = await api.get(auth_path(auth["id"]))
        error = assert_error(response, 429, "rate_limited")
        assert error["retryable"] is True
        assert response.headers["Retry-After"] == "3"
    assert (await api.get(auth_path(auth["id"]))).status_code == 200


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [(500, "internal_error", False), (503, "service_unavailable", True)],
)
async def test_fail_next_server_errors(
    sim: CollateSimulator, api: httpx.AsyncClient, status: int, code: str, retryable: bool
) -> None:
    sim.fail_next(1, status, retryable=retryable)
    error = assert_error(await api.get("/v1/prior-authorizations"), status, code)
    assert error["retryable"] is retryable


async def test_fail_next_can_target_paths_and_spares_health(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    after, handoff = await accepted(sim, api)
    sim.fail_next(1, 503, paths="/access-grants")
    assert (await api.get("/health")).status_code == 200
    assert (await api.get(auth_path(after["id"]))).status_code == 200
    assert_error(await mint(api, after["id"], handoff["id"]), 503, "service_unavailable")
    assert (await mint(api, after["id"], handoff["id"])).status_code == 200


async def test_injected_auth_failures_are_never_retryable(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    sim.fail_next(1, 403)
    error = assert_error(await api.get("/v1/prior-authorizations"), 403, "forbidden")
    assert error["retryable"] is False


async def test_a_failed_call_with_a_key_can_be_retried_with_it(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    sim.fail_next(1, 503)
    path = f"{auth_path(auth['id'])}/manual-handoffs"
    headers = {**if_match(auth["version"]), "Idempotency-Key": "retry-key"}
    assert (await api.post(path, headers=headers, json=snapshot_body(auth))).status_code == 503
    assert (await api.post(path, headers=headers, json=snapshot_body(auth))).status_code == 200
    assert sim.handoff_creates(auth["id"]) == 1


async def test_reset_next_drops_the_connection(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    sim.reset_next(1)
    with pytest.raises(httpx.TransportError):
        await api.get(auth_path(auth["id"]))
    assert (await api.get(auth_path(auth["id"]))).status_code == 200
    assert [entry.status for entry in sim.requests[-2:]] == [0, 200]


async def test_a_request_dropped_after_processing_replays_on_retry(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    sim.reset_next(1, after_processing=True)
    with pytest.raises(httpx.TransportError):
        await accept(api, auth, **{"Idempotency-Key": "lost-answer"})
    assert sim.handoff_creates(auth["id"]) == 1
    replay = await accept(api, auth, **{"Idempotency-Key": "lost-answer"})
    assert replay["state"] == "active"
    assert sim.handoff_creates(auth["id"]) == 1


async def test_latency_is_added_to_v1_only(sim: CollateSimulator, api: httpx.AsyncClient) -> None:
    sim.set_latency(150)
    started = time.monotonic()
    await api.get("/health")
    health_took = time.monotonic() - started
    started = time.monotonic()
    await api.get("/v1/prior-authorizations")
    list_took = time.monotonic() - started
    assert list_took >= 0.15
    assert health_took < list_took - 0.1


# Recording


async def test_requests_are_recorded_with_the_key_redacted(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    auth = sim.add_authorization()
    await api.post(
        f"{auth_path(auth['id'])}/manual-handoffs", json={"acceptedReviewSnapshotId": "x"}
    )
    await api.get("/v1/prior-authorizations", params={"limit": "5"})
    accept_call, list_call = sim.requests[-2:]

    assert accept_call.method == "POST"
    assert accept_call.path == f"{auth_path(auth['id'])}/manual-handoffs"
    assert accept_call.headers["authorization"] == "<redacted>"
    assert all(name == name.lower() for name in accept_call.headers)
    assert accept_call.body == {"acceptedReviewSnapshotId": "x"}
    assert (accept_call.status, accept_call.error_code) == (400, "bad_request")
    assert list_call.query == {"limit": "5"}
    assert (list_call.status, list_call.error_code, list_call.body) == (200, None, None)


async def test_a_record_limit_keeps_the_newest_requests() -> None:
    async with CollateSimulator(api_key=KEY, record_limit=2) as sim:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            for path in ("/health", "/v1/a", "/v1/b"):
                await client.get(path)
        assert [entry.path for entry in sim.requests] == ["/v1/a", "/v1/b"]


# Settings


def test_settings_defaults_and_validation() -> None:
    settings = SimSettings()
    assert settings.as_dict() == {
        "if_match_version": "authorization",
        "list_honours_status_filter": True,
        "grant_ttl_seconds": 600,
        "abandon_after_seconds": 1800,
        "reconcile_delay_seconds": 5.0,
        "reconcile_result": "auto",
    }
    for bad in (
        {"if_match_version": "etag"},
        {"reconcile_result": "completed:maybe"},
        {"grant_ttl_seconds": -1},
        {"list_honours_status_filter": "yes"},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            SimSettings(**bad)
    with pytest.raises(ValueError, match="unknown settings"):
        settings.update({"ttl": 1})


# The /_sim control surface


async def test_sim_control_drives_the_simulator_over_http(sim: CollateSimulator) -> None:
    async with SimControl(sim.base_url) as control:
        auth = await control.add_authorization(case_id="CASE-3001", payer_id="payer_humana")
        assert auth["metadata"]["externalCaseId"] == "CASE-3001"
        assert (await control.authorization(auth["id"])) == sim.authorization(auth["id"])
        new_snapshot = await control.replace_review_snapshot(auth["id"])
        assert (
            sim.authorization(auth["id"])["nextAction"]["covers"]["reviewSnapshotId"]
            == new_snapshot
        )
        moved = await control.set_status(auth["id"], "processing")
        assert moved["status"] == "processing"
        offered = await control.offer_handoff(auth["id"], review=False)
        assert offered["submission"]["reviewSnapshot"] is None
        assert await control.handoff_creates(auth["id"]) == 0
        assert await control.closes(auth["id"]) == 0

        settings = await control.update_settings(
            grant_ttl_seconds=30, reconcile_result="waiting_on_payer"
        )
        assert settings["grant_ttl_seconds"] == 30
        assert sim.settings.reconcile_result == "waiting_on_payer"
        assert (await control.settings())["grant_ttl_seconds"] == 30
        await control.set_reconcile_result("completed:approved", auth["id"])
        assert sim.settings.reconcile_result == "waiting_on_payer"


async def test_sim_control_faults_time_and_requests(
    sim: CollateSimulator, api: httpx.AsyncClient
) -> None:
    async with SimControl(sim.base_url) as control:
        auth = await control.add_authorization()
        handoff = await accept(api, auth)
        await control.fail_next(1, 429, retry_after_seconds=1)
        assert (await api.get(auth_path(auth["id"]))).status_code == 429
        await control.reset_next(1)
        with pytest.raises(httpx.TransportError):
            await api.get(auth_path(auth["id"]))
        await control.set_latency(0)
        await control.advance(1800)
        assert (await control.handoff(auth["id"], handoff["id"]))["result"] == "expired"

        recorded = await control.requests()
        assert [entry.status for entry in recorded[-2:]] == [429, 0]
        assert not any(entry.path.startswith("/_sim") for entry in recorded)
        await control.clear_requests()
        assert sim.requests == []


async def test_sim_control_closing_actions(sim: CollateSimulator, api: httpx.AsyncClient) -> None:
    async with SimControl(sim.base_url) as control:
        first, _ = await accepted(sim, api)
        assert (await control.lose_channel(first["id"]))["status"] == "processing"
        second, _ = await accepted(sim, api)
        assert (await control.abandon_handoff(second["id"]))["status"] == "processing"
        third, _ = await accepted(sim, api)
        await control.expire_grants(third["id"])
        assert (await control.cancel_authorization(third["id"]))["status"] == "canceled"


async def test_sim_control_reports_refusals(sim: CollateSimulator) -> None:
    async with SimControl(sim.base_url) as control:
        with pytest.raises(SimControlFailed) as missing:
            await control.authorization("auth_unknown")
        assert (missing.value.status, missing.value.code) == (404, "prior_authorization_not_found")
        with pytest.raises(SimControlFailed) as bad:
            await control.update_settings(if_match_version="etag")
        assert bad.value.status == 400
        auth = await control.add_authorization(status="processing")
        with pytest.raises(SimControlFailed) as conflict:
            await control.lose_channel(auth["id"])
        assert conflict.value.status == 409
        with pytest.raises(SimControlFailed):
            await control.fail_next(1, 418)


# The sandbox command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_run_sandbox_serves_seeded_offers_until_sigterm() -> None:
    port = _free_port()
    script = (
        "import logging; logging.basicConfig(level=logging.INFO, format='%(message)s');"
        "from sim.collate.serve import run_sandbox;"
        f"run_sandbox('127.0.0.1', {port}, 'sandbox-key', seed_offers=3)"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stderr=asyncio.subprocess.PIPE, cwd=ROOT
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": "Bearer sandbox-key"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
            for _ in range(100):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            params = {"status": "requires_action"}
            offers = (await client.get("/v1/prior-authorizations", params=params)).json()["data"]
        assert len(offers) == 3
        assert all(item["nextAction"]["type"] == "complete_payer_interaction" for item in offers)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
    assert process.returncode == 0
    assert f"http://127.0.0.1:{port}" in stderr.decode()
