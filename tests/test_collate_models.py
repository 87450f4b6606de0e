"""The Collate models read the contract's objects, tolerate growth, and never hold patient data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.collate import (
    AccessGrant,
    Authorization,
    AuthorizationStatus,
    CloseResult,
    CollateProtocolError,
    HandoffState,
    ManualHandoff,
    NextActionType,
)
from bot.collate.models import AuthorizationPage, parse_response

GRANT_URL = "https://api.trycollate.ai/runtime/access/rag_9a2"


def contract_authorization() -> dict[str, Any]:
    """The §3 example, with the fields the bot ignores (patient answers among them) put back."""
    return {
        "id": "auth_8f2c41",
        "version": 17,
        "status": "requires_action",
        "outcome": None,
        "providerNpi": "1234567893",
        "answers": {"memberName": "Jane Patient", "dateOfBirth": "1970-01-01"},
        "payer": {"id": "payer_aetna", "displayName": "Aetna", "planType": "commercial"},
        "request": {
            "payerId": "payer_aetna",
            "coverageState": "CA",
            "requestType": "outpatient",
            "serviceCode": {"system": "cpt", "code": "72148"},
        },
        "nextAction": {
            "type": "complete_payer_interaction",
            "resolution": {"kind": "manual_handoff"},
            "covers": {"priorAuthorizationVersion": 17, "reviewSnapshotId": "rev_5d1"},
        },
        "activeManualHandoff": None,
        "submission": {
            "reviewSnapshot": {
                "id": "rev_5d1",
                "status": "current",
                "kind": "final_payer_submission",
                "generatedAt": "2026-05-22T18:15:00Z",
                "covers": {"priorAuthorizationVersion": 17, "answersVersion": 8},
                "summary": {"service": {"code": "72148", "label": "MRI lumbar spine"}},
                "answers": {"item": [{"linkId": "member.name", "answer": "Jane Patient"}]},
                "attachments": [{"id": "file_1"}, {"id": "file_2"}],
                "warnings": [
                    {"code": "portal_mfa_required", "message": "One-time code at sign-in."}
                ],
                "transparency": {"liveSessionEndpoint": "/v1/prior-authorizations/x/live-session"},
            },
            "payerReceipt": None,
            "decision": None,
        },
        "metadata": {"externalCaseId": "CASE-2291"},
        "createdAt": "2026-05-22T17:00:00Z",
        "updatedAt": "2026-05-22T18:15:02Z",
        "completedAt": None,
        "canceledAt": None,
    }


def handoff_payload(**changes: Any) -> dict[str, Any]:
    payload = {
        "id": "mhand_31c",
        "version": 1,
        "priorAuthorizationId": "auth_8f2c41",
        "state": "active",
        "result": None,
        "accessAvailable": True,
        "finalSubmitCapable": False,
        "createdAt": "2026-05-22T18:16:00Z",
        "activatedAt": "2026-05-22T18:16:00Z",
        "closedAt": None,
        "message": None,
    }
    payload.update(changes)
    return payload


def test_the_contract_example_reads_into_typed_fields() -> None:
    authorization = Authorization.model_validate(contract_authorization())

    assert authorization.id == "auth_8f2c41"
    assert authorization.version == 17
    assert authorization.status is AuthorizationStatus.REQUIRES_ACTION
    assert authorization.payer is not None
    assert authorization.payer.display_name == "Aetna"
    assert authorization.request is not None
    assert authorization.request.service_code is not None
    assert authorization.request.service_code.code == "72148"
    assert authorization.created_at is not None
    assert authorization.created_at.tzinfo is not None


def test_an_offer_with_a_current_review_exposes_what_the_acceptor_must_see() -> None:
    authorization = Authorization.model_validate(contract_authorization())

    assert authorization.offers_manual_handoff
    assert authorization.required_review_snapshot_id == "rev_5d1"
    snapshot = authorization.current_review_snapshot
    assert snapshot is not None
    assert snapshot.is_current
    assert snapshot.summary["service"]["label"] == "MRI lumbar spine"
    assert [warning.code for warning in snapshot.warnings] == ["portal_mfa_required"]
    assert len(snapshot.attachments) == 2
    assert authorization.case_reference == "CASE-2291"
    assert not authorization.is_final


def test_patient_answers_are_not_kept_anywhere_in_the_model() -> None:
    authorization = Authorization.model_validate(contract_authorization())

    dumped = repr(authorization.model_dump())

    assert "Jane Patient" not in dumped
    assert "answers" not in dumped
    assert authorization.model_extra is None
    assert "Jane Patient" not in repr(authorization)


def test_the_summary_and_metadata_stay_out_of_repr() -> None:
    authorization = Authorization.model_validate(contract_authorization())

    assert "MRI lumbar spine" not in repr(authorization)
    assert "CASE-2291" not in repr(authorization)


def test_unknown_fields_at_any_depth_are_ignored() -> None:
    payload = contract_authorization()
    payload["brandNewField"] = {"nested": True}
    payload["nextAction"]["resolution"]["hint"] = "new"
    payload["submission"]["reviewSnapshot"]["warnings"][0]["severity"] = "high"

    authorization = Authorization.model_validate(payload)

    assert authorization.offers_manual_handoff


def test_next_action_covers_keeps_its_other_versions() -> None:
    authorization = Authorization.model_validate(contract_authorization())

    assert authorization.next_action is not None
    assert authorization.next_action.covers.model_extra == {"priorAuthorizationVersion": 17}


def test_an_absent_active_handoff_is_tolerated_and_a_present_one_is_read() -> None:
    payload = contract_authorization()
    del payload["activeManualHandoff"]
    assert Authorization.model_validate(payload).active_manual_handoff is None

    payload["activeManualHandoff"] = {"id": "mhand_31c", "state": "active"}
    active = Authorization.model_validate(payload).active_manual_handoff

    assert active is not None
    assert active.state is HandoffState.ACTIVE


def test_a_minimal_authorization_needs_only_id_version_and_status() -> None:
    authorization = Authorization.model_validate(
        {"id": "auth_1", "version": 3, "status": "processing"}
    )

    assert not authorization.offers_manual_handoff
    assert authorization.required_review_snapshot_id is None
    assert authorization.current_review_snapshot is None
    assert authorization.case_reference is None
    assert authorization.metadata == {}


def test_null_objects_and_arrays_read_as_empty() -> None:
    payload = contract_authorization()
    payload["metadata"] = None
    payload["submission"]["reviewSnapshot"].update(summary=None, warnings=None, attachments=None)

    authorization = Authorization.model_validate(payload)

    snapshot = authorization.current_review_snapshot
    assert snapshot is not None
    assert (snapshot.summary, snapshot.warnings, snapshot.attachments) == ({}, [], [])
    assert authorization.case_reference is None


def test_a_stale_review_snapshot_is_not_current() -> None:
    payload = contract_authorization()
    payload["submission"]["reviewSnapshot"]["status"] = "superseded"

    authorization = Authorization.model_validate(payload)

    assert authorization.current_review_snapshot is None
    assert authorization.required_review_snapshot_id == "rev_5d1"


def test_a_case_reference_that_is_not_text_is_not_shown() -> None:
    payload = contract_authorization()
    payload["metadata"] = {"externalCaseId": 2291}

    assert Authorization.model_validate(payload).case_reference is None


@pytest.mark.parametrize(
    ("status", "final"),
    [
        ("requires_action", False),
        ("processing", False),
        ("waiting_on_payer", False),
        ("completed", True),
        ("canceled", True),
    ],
)
def test_only_completed_and_canceled_are_final(status: str, final: bool) -> None:
    authorization = Authorization.model_validate({"id": "a", "version": 1, "status": status})

    assert authorization.is_final is final


@given(
    status=st.sampled_from(list(AuthorizationStatus)),
    action_type=st.sampled_from([*NextActionType, "something_new"]),
    kind=st.sampled_from(["manual_handoff", "confirm", "update_authorization", "other"]),
)
def test_an_offer_is_exactly_the_rule_one_triple(
    status: AuthorizationStatus, action_type: str, kind: str
) -> None:
    payload = {
        "id": "auth_1",
        "version": 1,
        "status": status.value,
        "nextAction": {"type": action_type, "resolution": {"kind": kind}},
    }

    authorization = Authorization.model_validate(payload)

    expected = (
        status is AuthorizationStatus.REQUIRES_ACTION
        and action_type == "complete_payer_interaction"
        and kind == "manual_handoff"
    )
    assert authorization.offers_manual_handoff is expected


def test_no_next_action_is_never_an_offer() -> None:
    payload = contract_authorization()
    payload["nextAction"] = None

    assert not Authorization.model_validate(payload).offers_manual_handoff


def test_models_are_frozen() -> None:
    authorization = Authorization.model_validate(contract_authorization())

    with pytest.raises(ValidationError):
        authorization.version = 18  # type: ignore[misc]


def test_snake_case_names_populate_a_model_too() -> None:
    handoff = ManualHandoff(
        id="mhand_1",
        version=2,
        prior_authorization_id="auth_1",
        state=HandoffState.CLOSED,
        result="revoked",
        created_at=datetime(2026, 5, 22, 18, 16, tzinfo=UTC),
    )

    assert handoff.prior_authorization_id == "auth_1"
    assert not handoff.access_available


def test_a_handoff_reads_its_defaults_when_collate_leaves_them_out() -> None:
    payload = handoff_payload()
    for optional in ("accessAvailable", "finalSubmitCapable", "activatedAt", "closedAt"):
        del payload[optional]

    handoff = ManualHandoff.model_validate(payload)

    assert handoff.state is HandoffState.ACTIVE
    assert not handoff.access_available
    assert not handoff.final_submit_capable
    assert handoff.activated_at is None


def test_the_close_response_of_decision_d7_reads() -> None:
    result = CloseResult.model_validate(
        {
            "manualHandoffId": "mhand_31c",
            "state": "closing",
            "result": "completed_reported",
            "authorization": {"id": "auth_8f2c41", "version": 19, "status": "processing"},
            "reconciliation": {"id": "rec_77", "state": "pending"},
        }
    )

    assert result.state is HandoffState.CLOSING
    assert result.authorization.status is AuthorizationStatus.PROCESSING
    assert result.reconciliation.state == "pending"


def test_a_grant_url_never_shows_in_repr_str_or_json() -> None:
    grant = AccessGrant.model_validate(
        {"id": "rag_9a2", "url": GRANT_URL, "expiresAt": "2026-05-22T18:26:00Z"}
    )

    for rendering in (repr(grant), str(grant), grant.model_dump_json(), repr(grant.model_dump())):
        assert GRANT_URL not in rendering
        assert "rag_9a2/" not in rendering
    assert grant.url.get_secret_value() == GRANT_URL


@pytest.mark.parametrize(
    ("remove", "expected_path"),
    [
        (("version",), "authorization.version"),
        (("status",), "authorization.status"),
        (("nextAction", "resolution"), "authorization.nextAction.resolution"),
        (("submission", "reviewSnapshot", "id"), "authorization.submission.reviewSnapshot.id"),
        (("payer", "id"), "authorization.payer.id"),
    ],
)
def test_a_missing_required_field_is_named_by_its_wire_path(
    remove: tuple[str, ...], expected_path: str
) -> None:
    payload = contract_authorization()
    parent = payload
    for key in remove[:-1]:
        parent = parent[key]
    del parent[remove[-1]]

    with pytest.raises(CollateProtocolError) as raised:
        parse_response(Authorization, payload, "authorization")

    assert raised.value.field_path == expected_path
    assert f"missing required field {expected_path}" in str(raised.value)


def test_a_bad_item_in_a_page_is_named_by_its_index() -> None:
    broken = contract_authorization()
    del broken["id"]
    page = {"data": [contract_authorization(), broken], "pagination": {"nextCursor": None}}

    with pytest.raises(CollateProtocolError) as raised:
        parse_response(AuthorizationPage, page, "page")

    assert raised.value.field_path == "page.data[1].id"


def test_an_invalid_value_is_named_without_echoing_it() -> None:
    payload = contract_authorization()
    payload["status"] = "Jane Patient"
    payload["version"] = "not a version"

    with pytest.raises(CollateProtocolError) as raised:
        parse_response(Authorization, payload, "authorization")

    message = str(raised.value)
    assert "invalid field authorization.version" in message
    assert "not a version" not in message
    assert "Jane Patient" not in message
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_a_grant_missing_its_url_is_a_protocol_error() -> None:
    with pytest.raises(CollateProtocolError) as raised:
        parse_response(AccessGrant, {"id": "rag_1", "expiresAt": "2026-05-22T18:26:00Z"}, "grant")

    assert raised.value.field_path == "grant.url"


def test_a_body_that_is_not_an_object_is_a_protocol_error() -> None:
    with pytest.raises(CollateProtocolError) as raised:
        parse_response(ManualHandoff, ["mhand_1"], "handoff")

    assert raised.value.field_path == "handoff"
