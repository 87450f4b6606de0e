"""What a person reads on every surface the bot builds, and that Slack would accept it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from blocks import escape, texts
from blocks.card import (
    CARD_WARNINGS_MAX,
    card_message,
    decode_more_option,
    link_issued_reply,
    more_option_value,
    thread_reply,
)
from blocks.dm import DM_WARNINGS_MAX, handoff_dm, review_dm
from blocks.forms import (
    COMPLETE_NOTES_ACTION,
    COMPLETE_NOTES_BLOCK,
    COMPLETE_OUTCOME_ACTION,
    COMPLETE_OUTCOME_BLOCK,
    COMPLETE_REFERENCE_ACTION,
    COMPLETE_REFERENCE_BLOCK,
    REVOKE_NOTES_ACTION,
    REVOKE_NOTES_BLOCK,
    REVOKE_OTHER_ACTION,
    REVOKE_OTHER_BLOCK,
    REVOKE_REASON_ACTION,
    REVOKE_REASON_BLOCK,
    UNABLE_NOTES_ACTION,
    UNABLE_NOTES_BLOCK,
    UNABLE_REASON_ACTION,
    UNABLE_REASON_BLOCK,
    CompleteForm,
    ReportedOutcome,
    RevokeForm,
    RevokeReason,
    UnableForm,
    UnableReason,
    parse_complete,
    parse_revoke,
    parse_unable,
)
from blocks.ids import ActionId, ActionRef, CallbackId, InvalidActionRef
from blocks.kit import notice
from blocks.modals import complete_modal, revoke_modal, unable_modal
from blocks.model import (
    CardPhase,
    CardView,
    CaseFacts,
    FormErrors,
    GrantView,
    HandoffDmView,
    OperatorReport,
    Reconciled,
    ReviewView,
    SlackMessage,
)
from blocks.summary import (
    MAX_PAIRS,
    SAFE_SUMMARY_FIELDS,
    all_summary_pairs,
    allowed_summary_pairs,
)
from tests.block_kit import (
    assert_valid_message,
    assert_valid_modal,
    text_length,
)

OFFERED_AT = datetime(2026, 5, 22, 18, 15, tzinfo=UTC)
ACCEPTED_AT = datetime(2026, 5, 22, 18, 42, tzinfo=UTC)
SETTLED_AT = datetime(2026, 5, 22, 19, 3, tzinfo=UTC)
MARIA = "U0MARIA1"
LEE = "U0LEE002"
GRANT_URL = "https://api.trycollate.ai/runtime/access/rag_9a2"

CONTRACT_SUMMARY = {
    "service": {"code": "72148", "label": "MRI lumbar spine"},
    "channel": "portal",
    "documents": 2,
}
PATIENT_SUMMARY = {
    **CONTRACT_SUMMARY,
    "patient": {"name": "Jane Roe", "dateOfBirth": "1961-04-09", "address": "12 Elm St"},
    "memberId": "W123456789",
    "dateOfBirth": "1961-04-09",
    "diagnoses": [{"code": "M54.16", "text": "Lumbar radiculopathy"}],
}
PATIENT_VALUES = ("Jane Roe", "1961-04-09", "12 Elm St", "W123456789", "Lumbar radiculopathy")


# --- Building views ------------------------------------------------------------------------------


def facts(**changes: Any) -> CaseFacts:
    base = CaseFacts(
        authorization_id="auth_8f2c41",
        case_reference="CASE-2291",
        payer_name="Aetna",
        service_code="CPT 72148",
        request_type="outpatient",
        offered_at=OFFERED_AT,
    )
    return replace(base, **changes)


def review(**changes: Any) -> ReviewView:
    base = ReviewView(
        snapshot_id="rev_5d1",
        warnings=("Portal asks for a one-time code at sign-in.",),
        summary=CONTRACT_SUMMARY,
        attachment_count=2,
    )
    return replace(base, **changes)


def submitted_report(**changes: Any) -> OperatorReport:
    base = OperatorReport(
        closed_by_user_id=MARIA,
        kind="completed_reported",
        reported_outcome="submitted",
        observed_reference_number="ABC123",
    )
    return replace(base, **changes)


def card_view(phase: CardPhase, **changes: Any) -> CardView:
    after_offer = phase is not CardPhase.OFFERED
    base = CardView(
        facts=facts(),
        phase=phase,
        review=None if after_offer else review(),
        acceptor_user_id=MARIA if after_offer else None,
        accepted_at=ACCEPTED_AT if after_offer else None,
        handoff_id="mhand_31c" if after_offer else None,
    )
    return replace(base, **changes)


def settled(**changes: Any) -> Reconciled:
    return replace(Reconciled(status="completed", settled_at=SETTLED_AT), **changes)


def card(view: CardView, summary_fields: frozenset[str] = SAFE_SUMMARY_FIELDS) -> SlackMessage:
    message = card_message(view, summary_fields=summary_fields)
    assert_valid_message(message)
    return message


# --- Reading what a person sees ------------------------------------------------------------------


def texts_of(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") in {"plain_text", "mrkdwn"} else []
        return own + [text for child in node.values() for text in texts_of(child)]
    if isinstance(node, list):
        return [text for child in node for text in texts_of(child)]
    return []


def shown(message: SlackMessage) -> str:
    """Everything on the surface a person can read, blocks only (not the notification)."""
    return "\n".join(texts_of(message["blocks"]))


def elements(message: SlackMessage) -> list[dict[str, Any]]:
    return [
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def action_ids(message: SlackMessage) -> list[str]:
    return [element["action_id"] for element in elements(message)]


def element(message: SlackMessage, action_id: ActionId) -> dict[str, Any]:
    (found,) = [item for item in elements(message) if item["action_id"] == action_id]
    return found


def primary_buttons(message: SlackMessage) -> list[str]:
    return [item["action_id"] for item in elements(message) if item.get("style") == "primary"]


# --- OFFERED -------------------------------------------------------------------------------------


def test_offer_covered_by_a_review_shows_the_case_warnings_and_safe_summary() -> None:
    message = card(card_view(CardPhase.OFFERED))
    text = shown(message)

    assert message["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Payer portal needs a person · CASE-2291"},
        "block_id": message["blocks"][0]["block_id"],
    }
    assert "Aetna · CPT 72148 · outpatient · offered <!date^1779473700^{ago}|" in text
    assert "⚠ Portal asks for a one-time code at sign-in." in text
    assert "*Service › Code:* 72148" in text
    assert "*Channel:* portal" in text
    assert "*Documents:* 2" in text
    assert "Review snapshot rev_5d1 · 2 attachments" in text
    assert "MRI lumbar spine" not in text, "service.label is not in the default allow-list"
    assert message["text"] == "Handoff offered for CASE-2291"


def test_offer_covered_by_a_review_accepts_exactly_that_snapshot() -> None:
    message = card(card_view(CardPhase.OFFERED))

    assert action_ids(message) == [ActionId.ACCEPT, ActionId.REVIEW]
    assert primary_buttons(message) == [ActionId.ACCEPT]
    accept = element(message, ActionId.ACCEPT)
    assert accept["text"]["text"] == "Review & accept"
    assert "confirm" not in accept
    assert ActionRef.decode(accept["value"]) == ActionRef(
        authorization_id="auth_8f2c41", review_snapshot_id="rev_5d1"
    )
    full_review = element(message, ActionId.REVIEW)
    assert full_review["text"]["text"] == "Full review in DM"
    assert full_review["value"] == accept["value"]


def test_offer_without_a_review_has_one_accept_button_with_a_confirm_dialog() -> None:
    message = card(card_view(CardPhase.OFFERED, review=None))

    assert action_ids(message) == [ActionId.ACCEPT]
    accept = element(message, ActionId.ACCEPT)
    assert accept["text"]["text"] == "Accept"
    assert accept["style"] == "primary"
    assert accept["confirm"]["title"]["text"] == "Accept this handoff?"
    assert "CASE-2291" in accept["confirm"]["text"]["text"]
    assert ActionRef.decode(accept["value"]) == ActionRef(authorization_id="auth_8f2c41")
    assert "Review snapshot" not in shown(message)


def test_offer_whose_review_changed_says_so() -> None:
    before = card(card_view(CardPhase.OFFERED))
    after = card(card_view(CardPhase.OFFERED, review_updated=True))

    assert "Updated:" not in shown(before)
    assert "*Updated:* Collate changed the review" in shown(after)


def test_offer_shows_every_warning_that_fits_and_otherwise_sends_acceptance_to_the_dm() -> None:
    warnings = tuple(f"Warning number {index}" for index in range(CARD_WARNINGS_MAX + 3))
    all_fit = card(card_view(CardPhase.OFFERED, review=review(warnings=warnings[:-3])))
    too_many = card(card_view(CardPhase.OFFERED, review=review(warnings=warnings)))

    assert all(f"⚠ {warning}" in shown(all_fit) for warning in warnings[:-3])
    assert ActionId.ACCEPT in action_ids(all_fit)
    assert "*+3 more warnings* — open the full review in DM" in shown(too_many)
    assert action_ids(too_many) == [ActionId.REVIEW]
    assert primary_buttons(too_many) == [ActionId.REVIEW]


def test_offer_links_the_thread_of_an_earlier_handoff_for_the_same_case() -> None:
    permalink = "https://team.slack.com/archives/C1/p1700000000000100"
    message = card(card_view(CardPhase.OFFERED, predecessor_link=permalink))

    assert f"Earlier handoff for this case: <{permalink}|see its thread>" in shown(message)


def test_offer_without_a_case_reference_names_the_authorization() -> None:
    message = card(card_view(CardPhase.OFFERED, facts=facts(case_reference=None)))

    assert message["blocks"][0]["text"]["text"] == "Payer portal needs a person · auth_8f2c41"
    assert message["text"] == "Handoff offered for auth_8f2c41"


def test_offer_with_few_facts_shows_only_what_is_known() -> None:
    bare = facts(payer_name=None, service_code=None, request_type=None, offered_at=None)
    message = card(card_view(CardPhase.OFFERED, facts=bare, review=None))

    assert [block["type"] for block in message["blocks"]] == ["header", "actions"]


# --- ACCEPTED ------------------------------------------------------------------------------------


def test_accepted_card_says_who_has_it_and_offers_complete_with_rare_actions_tucked_away() -> None:
    message = card(card_view(CardPhase.ACCEPTED))
    text = shown(message)

    assert message["blocks"][0]["text"]["text"] == "In progress · CASE-2291"
    assert f"<@{MARIA}> has it · accepted <!date^1779475320^" in text
    assert "link sent by DM" in text
    assert action_ids(message) == [ActionId.COMPLETE, ActionId.MORE]
    assert primary_buttons(message) == [ActionId.COMPLETE]
    complete = element(message, ActionId.COMPLETE)
    assert ActionRef.decode(complete["value"]).handoff_id == "mhand_31c"
    assert message["text"] == "Handoff for CASE-2291 accepted"


def test_accepted_card_overflow_options_say_which_action_and_which_handoff() -> None:
    message = card(card_view(CardPhase.ACCEPTED))
    options = element(message, ActionId.MORE)["options"]

    assert [option["text"]["text"] for option in options] == [
        "Unable to complete",
        "Revoke",
        "New link",
    ]
    decoded = [decode_more_option(option["value"]) for option in options]
    ref = ActionRef(authorization_id="auth_8f2c41", handoff_id="mhand_31c")
    assert decoded == [
        (ActionId.UNABLE, ref),
        (ActionId.REVOKE, ref),
        (ActionId.NEW_LINK, ref),
    ]


def test_accepted_card_with_ids_too_long_for_an_option_uses_plain_buttons() -> None:
    long_facts = facts(authorization_id="auth_" + "a" * 90)
    message = card(card_view(CardPhase.ACCEPTED, facts=long_facts, handoff_id="mhand_" + "h" * 90))

    assert action_ids(message) == [
        ActionId.COMPLETE,
        ActionId.UNABLE,
        ActionId.REVOKE,
        ActionId.NEW_LINK,
    ]
    ref = ActionRef.decode(element(message, ActionId.REVOKE)["value"])
    assert ref.handoff_id == "mhand_" + "h" * 90


@pytest.mark.parametrize(
    "value",
    [
        "",
        "handoff.revoke",
        'handoff.accept|{"a":"auth_1"}',
        "handoff.revoke|not json",
        'handoff.revoke|{"a":"auth_1","x":"extra"}',
    ],
)
def test_decode_more_option_rejects_values_the_bot_did_not_write(value: str) -> None:
    with pytest.raises(InvalidActionRef):
        decode_more_option(value)


def test_more_option_value_round_trips() -> None:
    ref = ActionRef(authorization_id="auth_1", handoff_id="mhand_1")
    assert decode_more_option(more_option_value(ActionId.UNABLE, ref)) == (ActionId.UNABLE, ref)


# --- CLOSING -------------------------------------------------------------------------------------


def test_closing_card_shows_the_operator_report_as_a_report_not_as_payer_truth() -> None:
    message = card(card_view(CardPhase.CLOSING, report=submitted_report()))
    text = shown(message)

    assert message["blocks"][0]["text"]["text"] == "Reconciling · CASE-2291"
    assert f"Reported *submitted to the payer* by <@{MARIA}> · ref ABC123" in text
    assert (
        "Collate is reconciling — this is the operator's report, not the payer's answer yet."
        in text
    )
    assert action_ids(message) == []


def test_closing_card_after_unable_to_complete_names_the_reason_in_plain_words() -> None:
    report = OperatorReport(
        closed_by_user_id=MARIA, kind="unable_to_complete", reason="wrong_route"
    )
    text = shown(card(card_view(CardPhase.CLOSING, report=report)))

    assert f"Reported *unable to complete* by <@{MARIA}> · wrong portal or route" in text
    assert "wrong_route" not in text


def test_closing_card_after_a_revoke_never_shows_a_free_text_reason() -> None:
    common = OperatorReport(closed_by_user_id=LEE, kind="revoked", reason="accepted_by_mistake")
    typed = OperatorReport(closed_by_user_id=LEE, kind="revoked", reason="Jane Roe called back")

    assert f"*Revoked* by <@{LEE}> · accepted by mistake" in shown(
        card(card_view(CardPhase.CLOSING, report=common))
    )
    text = shown(card(card_view(CardPhase.CLOSING, report=typed)))
    assert f"*Revoked* by <@{LEE}> · other reason" in text
    assert "Jane Roe" not in text


# --- Collate closed it ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "headline", "line"),
    [
        ("expired", "Handoff expired", "Handoff expired — nobody opened the session in time."),
        ("interaction_lost_unrecoverable", "Payer session lost", "Payer session lost —"),
        ("canceled", "Canceled", "Canceled — the case was canceled in Collate."),
        ("something_new", "Handoff ended", "Collate ended this handoff."),
    ],
)
def test_card_of_a_handoff_collate_ended(result: str, headline: str, line: str) -> None:
    message = card(card_view(CardPhase.ENDED_BY_COLLATE, handoff_result=result))

    assert message["blocks"][0]["text"]["text"] == f"{headline} · CASE-2291"
    assert line in shown(message)
    assert action_ids(message) == []
    reconciling = "a new card will appear" in shown(message)
    assert reconciling is (result != "canceled")


# --- Reconciled ----------------------------------------------------------------------------------


def test_waiting_on_payer_card_gives_the_payer_reference() -> None:
    view = card_view(
        CardPhase.WAITING_ON_PAYER,
        reconciled=settled(status="waiting_on_payer", payer_reference="PAY-77"),
    )
    message = card(view)
    text = shown(message)

    assert message["blocks"][0]["text"]["text"] == "Waiting on payer · CASE-2291"
    assert "Payer ref PAY-77 · reconciled <!date^" in text
    assert f"handled by <@{MARIA}>" in text
    assert action_ids(message) == []


@pytest.mark.parametrize(
    ("outcome", "headline"),
    [
        ("approved", "Approved"),
        ("denied", "Denied"),
        ("modified", "Approved with changes"),
        ("not_required", "No authorization required"),
        ("failed", "Failed"),
        (None, "Completed"),
    ],
)
def test_completed_card_leads_with_collates_outcome(outcome: str | None, headline: str) -> None:
    view = card_view(CardPhase.COMPLETED, reconciled=settled(outcome=outcome))
    message = card(view)

    assert message["blocks"][0]["text"]["text"] == f"{headline} · CASE-2291"
    assert f"*Collate:* {headline.lower()}" in shown(message)
    assert action_ids(message) == []


def test_completed_card_keeps_the_operator_report_apart_and_labelled() -> None:
    view = card_view(
        CardPhase.COMPLETED,
        reconciled=settled(outcome="approved", payer_reference="ABC123"),
        report=submitted_report(),
    )
    blocks = card(view)["blocks"]
    kinds = [block["type"] for block in blocks]

    assert kinds == ["header", "section", "context", "divider", "context"]
    collate, report = texts_of(blocks[1]), texts_of(blocks[4])
    assert collate == [
        "*Collate:* approved\nPayer ref ABC123 · reconciled "
        "<!date^1779476580^{date_short_pretty} at {time}|2026-05-22 19:03 UTC> · "
        f"handled by <@{MARIA}>"
    ]
    assert report == [
        "Operator's report (not the payer's answer): "
        f"Reported *submitted to the payer* by <@{MARIA}> · ref ABC123"
    ]


def test_back_with_collate_card_says_what_collate_needs() -> None:
    view = card_view(
        CardPhase.BACK_WITH_COLLATE,
        reconciled=settled(status="requires_action", next_action_type="resolve_requirements"),
    )
    message = card(view)

    assert "Back with Collate: needs missing information or documents." in shown(message)
    assert message["text"] == "CASE-2291 is back with Collate"


def test_reoffered_card_points_to_the_new_card() -> None:
    permalink = "https://team.slack.com/archives/C1/p1700000000000200"
    message = card(card_view(CardPhase.REOFFERED, successor_link=permalink))

    assert f"Collate offered a new handoff — <{permalink}|see the new card>." in shown(message)
    assert action_ids(message) == []


def test_reoffered_card_with_a_suspicious_link_shows_only_words() -> None:
    message = card(card_view(CardPhase.REOFFERED, successor_link="javascript:alert(1)|x"))

    assert "javascript" not in shown(message)
    assert "see the new card" in shown(message)


@pytest.mark.parametrize(
    ("phase", "line"),
    [
        (CardPhase.WITHDRAWN, "Offer withdrawn — the case moved on."),
        (CardPhase.UNAVAILABLE, "This case is no longer available in Collate."),
    ],
)
def test_cards_of_offers_that_went_away(phase: CardPhase, line: str) -> None:
    message = card(card_view(phase))

    assert line in shown(message)
    assert action_ids(message) == []


# --- Every phase ---------------------------------------------------------------------------------


def every_phase_view(phase: CardPhase) -> CardView:
    """A view of ``phase`` carrying everything a store could hold, patient data in the summary."""
    return card_view(
        phase,
        review=review(summary=PATIENT_SUMMARY),
        handoff_result="expired",
        report=submitted_report(),
        reconciled=settled(outcome="approved", payer_reference="ABC123"),
        successor_link="https://team.slack.com/archives/C1/p1",
    )


@pytest.mark.parametrize("phase", list(CardPhase))
def test_every_phase_is_valid_block_kit_and_keeps_patient_data_off_the_card(
    phase: CardPhase,
) -> None:
    message = card(every_phase_view(phase))
    everything = json.dumps(message, ensure_ascii=False)

    assert "CASE-2291" in message["blocks"][0]["text"]["text"]
    for value in PATIENT_VALUES:
        assert value not in everything
    assert GRANT_URL not in everything


@pytest.mark.parametrize("phase", list(CardPhase))
def test_every_notification_is_short_and_names_only_state_and_case(phase: CardPhase) -> None:
    notification = card(every_phase_view(phase))["text"]

    assert "CASE-2291" in notification
    assert len(notification) <= 80
    for detail in ("Aetna", "72148", "ABC123", MARIA, "rev_5d1", *PATIENT_VALUES):
        assert detail not in notification


@pytest.mark.parametrize("phase", list(CardPhase))
def test_every_phase_has_at_most_one_primary_button(phase: CardPhase) -> None:
    assert len(primary_buttons(card(every_phase_view(phase)))) <= 1


def test_block_ids_change_with_the_content_and_stay_put_otherwise() -> None:
    def ids(view: CardView) -> list[str]:
        return [block["block_id"] for block in card(view)["blocks"]]

    offered = card_view(CardPhase.OFFERED)
    assert ids(offered) == ids(offered)
    changed = ids(replace(offered, review=review(warnings=("A different warning",))))
    assert changed[0] == ids(offered)[0], "the header did not change"
    assert set(changed[1:]) != set(ids(offered)[1:])
    assert not set(ids(card_view(CardPhase.ACCEPTED))) & set(ids(card_view(CardPhase.CLOSING)))


def test_block_ids_and_values_carry_no_patient_data() -> None:
    message = card(card_view(CardPhase.OFFERED, review=review(summary=PATIENT_SUMMARY)))
    ids_and_values = [block["block_id"] for block in message["blocks"]]
    ids_and_values += [element.get("value", "") for element in elements(message)]

    for item in ids_and_values:
        assert all(value not in item for value in PATIENT_VALUES)
        assert "Aetna" not in item
        assert "CASE-2291" not in item


# --- Thread replies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "line"),
    [
        (card_view(CardPhase.OFFERED), "Handoff offered — waiting for someone to accept"),
        (
            card_view(CardPhase.OFFERED, review_updated=True),
            "Collate updated the review (rev_5d1) — check it again before accepting",
        ),
        (card_view(CardPhase.ACCEPTED), f"Accepted by <@{MARIA}>"),
        (
            card_view(CardPhase.CLOSING, report=submitted_report()),
            f"<@{MARIA}> reported submitted to the payer (ref ABC123)",
        ),
        (
            card_view(
                CardPhase.CLOSING,
                report=OperatorReport(MARIA, "unable_to_complete", reason="channel_outage"),
            ),
            f"<@{MARIA}> reported unable to complete: the payer portal is down",
        ),
        (
            card_view(CardPhase.CLOSING, report=OperatorReport(LEE, "revoked", reason="secret")),
            f"<@{LEE}> revoked the handoff: other reason",
        ),
        (
            card_view(CardPhase.ENDED_BY_COLLATE, handoff_result="expired"),
            "Collate: handoff expired — nobody opened the session in time.",
        ),
        (
            card_view(CardPhase.WAITING_ON_PAYER, reconciled=settled(payer_reference="P1")),
            "Collate: waiting on payer (payer ref P1)",
        ),
        (
            card_view(CardPhase.COMPLETED, reconciled=settled(outcome="approved")),
            "Collate: approved",
        ),
        (
            card_view(
                CardPhase.BACK_WITH_COLLATE,
                reconciled=settled(next_action_type="approve_submission"),
            ),
            "Back with Collate: needs approval of the submission.",
        ),
        (card_view(CardPhase.REOFFERED), "Collate offered a new handoff — see the newest card"),
        (card_view(CardPhase.WITHDRAWN), "Offer withdrawn — the case moved on."),
        (card_view(CardPhase.UNAVAILABLE), "This case is no longer available in Collate."),
    ],
    ids=lambda item: item.phase.value if isinstance(item, CardView) else "",
)
def test_thread_reply_is_one_line_about_the_phase_just_entered(view: CardView, line: str) -> None:
    reply = thread_reply(view)
    assert_valid_message(reply)

    assert len(reply["blocks"]) == 1
    assert line in shown(reply)
    assert "\n" not in shown(reply)
    assert "CASE-2291" in reply["text"]


def test_link_issued_reply_never_carries_the_link() -> None:
    reply = link_issued_reply()
    assert_valid_message(reply)

    assert shown(reply) == "New payer session link sent by DM"
    assert "http" not in json.dumps(reply)


# --- The acceptor's DM ---------------------------------------------------------------------------


def dm_view(**changes: Any) -> HandoffDmView:
    base = HandoffDmView(
        facts=facts(),
        handoff_id="mhand_31c",
        grant=GrantView(url=GRANT_URL, expires_at=datetime(2026, 5, 22, 18, 52, tzinfo=UTC)),
        final_submit_capable=False,
        collate_message="Use the provider account ending 4471.",
    )
    return replace(base, **changes)


def test_dm_with_a_grant_puts_the_link_in_one_button_only() -> None:
    message = handoff_dm(dm_view())
    assert_valid_message(message)
    text = shown(message)

    assert text.startswith("*Your payer session for CASE-2291* (Aetna)")
    assert "Anyone holding this link can act in the payer session: do not forward it." in text
    assert "Link expires <!date^1779475920^{date_short_pretty} at {time}|" in text
    assert "This session stops before the final submit to the payer." in text
    assert "*Collate:* Use the provider account ending 4471." in text
    open_link = element(message, ActionId.OPEN_LINK)
    assert open_link["url"] == GRANT_URL
    assert open_link["style"] == "primary"
    assert ActionRef.decode(open_link["value"]) == ActionRef(
        authorization_id="auth_8f2c41", handoff_id="mhand_31c"
    )
    assert ActionId.NEW_LINK in action_ids(message)
    assert json.dumps(message).count(GRANT_URL) == 1
    assert GRANT_URL not in text
    assert GRANT_URL not in message["text"]


def test_dm_says_when_the_session_can_cross_the_final_submit() -> None:
    text = shown(handoff_dm(dm_view(final_submit_capable=True)))
    assert "You can send the final submission to the payer in this session." in text
    assert "final submi" not in shown(handoff_dm(dm_view(final_submit_capable=None)))


def test_dm_of_a_closed_handoff_has_no_link_at_all() -> None:
    message = handoff_dm(dm_view(grant=None, closed_summary="Closed: reported submitted."))
    assert_valid_message(message)
    everything = json.dumps(message)

    assert shown(message).startswith("*Your payer session for CASE-2291* (Aetna)")
    assert "Closed: reported submitted." in shown(message)
    assert '"url"' not in everything
    assert "http" not in everything
    assert action_ids(message) == []
    assert "Use the provider account" not in everything


def test_dm_of_a_closed_handoff_without_a_summary_says_it_is_closed() -> None:
    message = handoff_dm(dm_view(grant=None))

    assert texts.DM_CLOSED_DEFAULT in shown(message)


def test_dm_whose_link_lapsed_offers_a_new_one_without_any_url() -> None:
    message = handoff_dm(dm_view(grant=None, link_renewable=True))
    assert_valid_message(message)

    assert "Press *New link* for a fresh one." in shown(message)
    assert action_ids(message) == [ActionId.NEW_LINK]
    assert '"url"' not in json.dumps(message)


def test_dm_notification_names_only_the_case() -> None:
    assert handoff_dm(dm_view())["text"] == "Payer session link for CASE-2291"
    assert handoff_dm(dm_view(grant=None))["text"] == "Payer session for CASE-2291: no active link"


def test_dm_refuses_a_grant_url_slack_could_not_carry() -> None:
    too_long = GrantView(url="https://x.example/" + "a" * 3000, expires_at=ACCEPTED_AT)
    with pytest.raises(ValueError, match="grant URL"):
        handoff_dm(dm_view(grant=too_long))


# --- The reviewer's DM ---------------------------------------------------------------------------


def test_review_dm_shows_the_whole_summary_every_warning_and_accepts_that_snapshot() -> None:
    warnings = ("Portal asks for a one-time code at sign-in.", "Fax cover sheet required.")
    message = review_dm(facts(), review(summary=PATIENT_SUMMARY, warnings=warnings))
    assert_valid_message(message)
    text = shown(message)

    assert message["blocks"][0]["text"]["text"] == "Review before accepting · CASE-2291"
    for warning in warnings:
        assert f"⚠ {warning}" in text
    for value in PATIENT_VALUES:
        assert value in text
    assert "*Patient › Date of birth:* 1961-04-09" in text
    assert "*Diagnoses 1 › Text:* Lumbar radiculopathy" in text
    assert "Review snapshot rev_5d1 · 2 attachments" in text
    assert action_ids(message) == [ActionId.ACCEPT]
    accept = element(message, ActionId.ACCEPT)
    assert ActionRef.decode(accept["value"]).review_snapshot_id == "rev_5d1"
    assert message["text"] == "Review for CASE-2291"


def test_review_dm_with_more_warnings_than_fit_offers_no_accept() -> None:
    warnings = tuple(f"Warning {index}" for index in range(DM_WARNINGS_MAX + 1))
    message = review_dm(facts(), review(warnings=warnings))
    assert_valid_message(message)

    assert action_ids(message) == []
    assert "*+1 more warnings* could not be shown here" in shown(message)


def test_review_dm_without_warnings_says_there_are_none() -> None:
    message = review_dm(facts(), review(warnings=(), attachment_count=1))

    assert "No warnings from Collate." in shown(message)
    assert "1 attachment" in shown(message)


# --- Modals --------------------------------------------------------------------------------------

REF = ActionRef(authorization_id="auth_8f2c41", handoff_id="mhand_31c")


@pytest.mark.parametrize(
    ("build", "callback_id"),
    [
        (complete_modal, CallbackId.COMPLETE),
        (unable_modal, CallbackId.UNABLE),
        (revoke_modal, CallbackId.REVOKE),
    ],
)
def test_modals_are_valid_and_carry_only_ids_and_enum_labels(
    build: Any, callback_id: CallbackId
) -> None:
    view = build(REF)
    assert_valid_modal(view)

    assert view["callback_id"] == callback_id
    assert ActionRef.decode(view["private_metadata"]) == REF
    everything = json.dumps(view)
    for detail in ("CASE-2291", "Aetna", "72148", *PATIENT_VALUES):
        assert detail not in everything
    assert "Authorization auth_8f2c41 · handoff mhand_31c" in "\n".join(texts_of(view))
    labels = [option["text"]["text"] for option in _radio_options(view)]
    assert labels
    assert all("_" not in label for label in labels)


def _radio_options(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        option
        for block in view["blocks"]
        if block["type"] == "input" and block["element"]["type"] == "radio_buttons"
        for option in block["element"]["options"]
    ]


@pytest.mark.parametrize(
    ("build", "choices"),
    [(complete_modal, ReportedOutcome), (unable_modal, UnableReason), (revoke_modal, RevokeReason)],
)
def test_modal_choices_are_exactly_the_forms_enum(build: Any, choices: Any) -> None:
    values = [option["value"] for option in _radio_options(build(REF))]
    assert values == [choice.value for choice in choices]


# --- Forms ---------------------------------------------------------------------------------------


def radio(block_id: str, action_id: str, value: str | None) -> dict[str, Any]:
    selected = {"value": value, "text": {"type": "plain_text", "text": value}} if value else None
    return {block_id: {action_id: {"type": "radio_buttons", "selected_option": selected}}}


def typed(block_id: str, action_id: str, value: str | None) -> dict[str, Any]:
    return {block_id: {action_id: {"type": "plain_text_input", "value": value}}}


def complete_values(
    outcome: str | None = "submitted", reference: str | None = None, notes: str | None = None
) -> dict[str, Any]:
    return {
        **radio(COMPLETE_OUTCOME_BLOCK, COMPLETE_OUTCOME_ACTION, outcome),
        **typed(COMPLETE_REFERENCE_BLOCK, COMPLETE_REFERENCE_ACTION, reference),
        **typed(COMPLETE_NOTES_BLOCK, COMPLETE_NOTES_ACTION, notes),
    }


def test_complete_form_parses_a_full_submission() -> None:
    form = parse_complete(complete_values("decision_observed", " AB-12_3.4/5 ", "  saw it  "))

    assert form == CompleteForm(ReportedOutcome.DECISION_OBSERVED, "AB-12_3.4/5", "saw it")


def test_complete_form_treats_blank_optional_fields_as_absent() -> None:
    form = parse_complete(complete_values(reference="   ", notes=None))

    assert form == CompleteForm(ReportedOutcome.SUBMITTED, None, None)


@pytest.mark.parametrize(
    ("values", "block_id", "error"),
    [
        (complete_values(outcome=None), COMPLETE_OUTCOME_BLOCK, texts.CHOOSE_OUTCOME),
        ({}, COMPLETE_OUTCOME_BLOCK, texts.CHOOSE_OUTCOME),
        (complete_values(outcome="approved"), COMPLETE_OUTCOME_BLOCK, texts.UNKNOWN_CHOICE),
        (complete_values(reference="A" * 65), COMPLETE_REFERENCE_BLOCK, texts.too_long(64)),
        (complete_values(reference="ABC 123"), COMPLETE_REFERENCE_BLOCK, texts.REFERENCE_CHARSET),
        (complete_values(reference="<!here>"), COMPLETE_REFERENCE_BLOCK, texts.REFERENCE_CHARSET),
        (complete_values(reference="ÄBC"), COMPLETE_REFERENCE_BLOCK, texts.REFERENCE_CHARSET),
        (complete_values(notes="n" * 2001), COMPLETE_NOTES_BLOCK, texts.too_long(2000)),
    ],
)
def test_complete_form_reports_each_problem_inline(
    values: dict[str, Any], block_id: str, error: str
) -> None:
    assert parse_complete(values) == FormErrors({block_id: error})


def test_complete_form_reports_several_problems_at_once() -> None:
    errors = parse_complete(complete_values(outcome=None, reference="bad ref"))

    assert isinstance(errors, FormErrors)
    assert set(errors.errors) == {COMPLETE_OUTCOME_BLOCK, COMPLETE_REFERENCE_BLOCK}


def unable_values(reason: str | None, notes: str | None = None) -> dict[str, Any]:
    return {
        **radio(UNABLE_REASON_BLOCK, UNABLE_REASON_ACTION, reason),
        **typed(UNABLE_NOTES_BLOCK, UNABLE_NOTES_ACTION, notes),
    }


def test_unable_form_parses_a_reason_and_notes() -> None:
    assert parse_unable(unable_values("channel_outage")) == UnableForm(
        UnableReason.CHANNEL_OUTAGE, None
    )
    assert parse_unable(unable_values("other", "portal kept looping")) == UnableForm(
        UnableReason.OTHER, "portal kept looping"
    )


@pytest.mark.parametrize(
    ("values", "block_id", "error"),
    [
        (unable_values(None), UNABLE_REASON_BLOCK, texts.CHOOSE_REASON),
        (unable_values("tired"), UNABLE_REASON_BLOCK, texts.UNKNOWN_CHOICE),
        (unable_values("other"), UNABLE_NOTES_BLOCK, texts.NOTE_NEEDED),
        (unable_values("other", "   "), UNABLE_NOTES_BLOCK, texts.NOTE_NEEDED),
        (unable_values("wrong_route", "x" * 2001), UNABLE_NOTES_BLOCK, texts.too_long(2000)),
    ],
)
def test_unable_form_reports_each_problem_inline(
    values: dict[str, Any], block_id: str, error: str
) -> None:
    assert parse_unable(values) == FormErrors({block_id: error})


def revoke_values(
    reason: str | None, other: str | None = None, notes: str | None = None
) -> dict[str, Any]:
    return {
        **radio(REVOKE_REASON_BLOCK, REVOKE_REASON_ACTION, reason),
        **typed(REVOKE_OTHER_BLOCK, REVOKE_OTHER_ACTION, other),
        **typed(REVOKE_NOTES_BLOCK, REVOKE_NOTES_ACTION, notes),
    }


def test_revoke_form_sends_a_common_reason_code_or_the_persons_own_words() -> None:
    assert parse_revoke(revoke_values("user_closed_task", notes="n")) == RevokeForm(
        "user_closed_task", "n"
    )
    assert parse_revoke(revoke_values("other", " payer asked to call ")) == RevokeForm(
        "payer asked to call", None
    )
    assert parse_revoke(revoke_values("handing_over", other="ignored")) == RevokeForm(
        "handing_over", None
    )


@pytest.mark.parametrize(
    ("values", "block_id", "error"),
    [
        (revoke_values(None), REVOKE_REASON_BLOCK, texts.CHOOSE_REASON),
        (revoke_values("bored"), REVOKE_REASON_BLOCK, texts.UNKNOWN_CHOICE),
        (revoke_values("other"), REVOKE_OTHER_BLOCK, texts.OTHER_REASON_NEEDED),
        (revoke_values("other", "r" * 201), REVOKE_OTHER_BLOCK, texts.too_long(200)),
        (revoke_values("case_changed", notes="n" * 2001), REVOKE_NOTES_BLOCK, texts.too_long(2000)),
    ],
)
def test_revoke_form_reports_each_problem_inline(
    values: dict[str, Any], block_id: str, error: str
) -> None:
    assert parse_revoke(values) == FormErrors({block_id: error})


def test_form_errors_name_only_input_blocks_of_the_modal() -> None:
    pairs = [
        (complete_modal, parse_complete({})),
        (unable_modal, parse_unable(unable_values("other"))),
        (revoke_modal, parse_revoke(revoke_values("other"))),
    ]
    for build, errors in pairs:
        inputs = {block["block_id"] for block in build(REF)["blocks"] if block["type"] == "input"}
        assert isinstance(errors, FormErrors)
        assert set(errors.errors) <= inputs


# --- Escaping and truncation ---------------------------------------------------------------------

HOSTILE = "<!channel> @here hi <@U0ADMIN1> <https://evil.example|click> Tom & Jerry @Everyone"


def test_hostile_text_from_collate_is_shown_but_never_parsed() -> None:
    view = card_view(
        CardPhase.OFFERED,
        facts=facts(payer_name=HOSTILE, service_code=HOSTILE, case_reference="<!here>"),
        review=review(warnings=(HOSTILE,), summary={"channel": HOSTILE}),
    )
    message = card(view)
    text = shown(message)

    assert "<!channel>" not in text
    assert "<@U0ADMIN1>" not in text
    assert "<https://" not in text
    assert "&lt;!channel&gt;" in text
    assert "&lt;https://evil.example|click&gt;" in text
    assert "Tom &amp; Jerry" in text
    assert "@here" not in text
    assert "@Everyone" not in text
    assert f"@{escape.WORD_JOINER}here" in text
    assert "<!here>" not in message["text"]
    assert message["text"] == "Handoff offered for &lt;!here&gt;"
    mrkdwn = [item for block in message["blocks"] for item in _mrkdwn_objects(block)]
    assert mrkdwn
    assert all(item["verbatim"] is True for item in mrkdwn)


def _mrkdwn_objects(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node] if node.get("type") == "mrkdwn" else []
        return own + [item for child in node.values() for item in _mrkdwn_objects(child)]
    if isinstance(node, list):
        return [item for child in node for item in _mrkdwn_objects(child)]
    return []


def test_hostile_text_in_notices_is_escaped() -> None:
    refusal = texts.collate_refused("<!channel> no & never", "req_<1>")
    message = notice(refusal)
    assert_valid_message(message)

    assert (
        refusal
        == "Collate did not accept that: &lt;!channel&gt; no &amp; never (request req_&lt;1&gt;)"
    )


def test_only_well_formed_user_ids_become_mentions() -> None:
    assert escape.mention("U0MARIA1") == "<@U0MARIA1>"
    assert escape.mention("W0ORGUSER") == "<@W0ORGUSER>"
    for bad in ("U0|x>", "!channel", "u0maria1", "", None):
        assert escape.mention(bad) == escape.UNKNOWN_PERSON


def test_long_outside_text_is_cut_with_a_visible_ellipsis() -> None:
    view = card_view(
        CardPhase.OFFERED,
        facts=facts(payer_name="P" * 500, case_reference="C" * 500),
        review=review(warnings=("W" * 5000,), summary={"channel": "V" * 5000}),
    )
    message = card(view)
    text = shown(message)

    assert ("P" * (texts.PAYER_MAX - 1) + "…") in text
    assert "P" * texts.PAYER_MAX not in text
    assert ("W" * (texts.WARNING_MAX - 1) + "…") in text
    assert ("V" * (texts.SUMMARY_VALUE_MAX - 1) + "…") in text
    assert len(message["blocks"][0]["text"]["text"]) <= 150
    assert message["blocks"][0]["text"]["text"].endswith("…")


def test_cutting_never_splits_an_entity() -> None:
    cut = escape.mrkdwn("a&b" * 100, 10)

    assert len(cut) <= 10
    assert cut.endswith("…")
    assert cut.rstrip("…").count("&") == cut.count("&amp;")


def test_cutting_never_splits_a_slack_token() -> None:
    rendered = "x" * 20 + "<@U0MARIA1>"
    assert escape.cap_rendered(rendered, 25) == "x" * 20 + "…"


def test_the_worst_case_card_and_review_dm_stay_within_slack_limits() -> None:
    ampersands = "&" * 4000
    summary = {f"{'k' * 100}{index}": ampersands for index in range(40)}
    worst_review = review(warnings=(ampersands,) * 50, summary=summary, snapshot_id="r" * 100)
    worst_facts = facts(
        authorization_id="a" * 100,
        case_reference=ampersands,
        payer_name=ampersands,
        service_code=ampersands,
        request_type=ampersands,
    )
    view = card_view(CardPhase.OFFERED, facts=worst_facts, review=worst_review, review_updated=True)
    view = replace(view, predecessor_link="https://team.slack.com/archives/C1/p" + "1" * 200)
    all_fields = frozenset(summary)

    card_text = text_length(card(view, all_fields)["blocks"])
    dm = review_dm(worst_facts, worst_review)
    assert_valid_message(dm)
    assert card_text <= 11_000
    assert text_length(dm["blocks"]) <= 11_000
    assert "+20 more" in shown(dm)


# --- Summary flattening (D10) and the allow-list -------------------------------------------------


def test_summary_flattens_nested_keys_into_readable_labels() -> None:
    summary = {
        "a": {"b": [{"c": "deep"}]},
        "dateOfBirth": "x",
        "member_id": "y",
        "HTTPStatusCode": 200,
        "ratio": 0.5,
        "urgent": True,
        "resubmission": False,
        "missing": None,
        "empty": {},
        "blank": "",
    }
    pairs = [(pair.label, pair.value) for pair in all_summary_pairs(summary).pairs]

    assert pairs == [
        ("A › B 1 › C", "deep"),
        ("Date of birth", "x"),
        ("Member id", "y"),
        ("HTTP status code", "200"),
        ("Ratio", "0.5"),
        ("Urgent", "Yes"),
        ("Resubmission", "No"),
        ("Blank", texts.EMPTY_VALUE),
    ]


def test_summary_paths_use_dots_and_zero_based_list_positions() -> None:
    summary = {"documents": [{"type": "fax"}, {"type": "letter"}]}
    paths = [pair.dotted_path for pair in all_summary_pairs(summary).pairs]

    assert paths == ["documents.0.type", "documents.1.type"]


def test_summary_of_the_contract_example() -> None:
    pairs = all_summary_pairs(CONTRACT_SUMMARY)

    assert [(pair.label, pair.value) for pair in pairs.pairs] == [
        ("Service › Code", "72148"),
        ("Service › Label", "MRI lumbar spine"),
        ("Channel", "portal"),
        ("Documents", "2"),
    ]
    assert pairs.more == 0


def test_summary_shows_at_most_twenty_pairs_then_counts_the_rest() -> None:
    summary = {f"field{index}": index for index in range(MAX_PAIRS + 7)}
    pairs = all_summary_pairs(summary)

    assert len(pairs.pairs) == MAX_PAIRS
    assert pairs.more == 7
    message = review_dm(facts(), review(summary=summary))
    assert "+7 more" in shown(message)


def test_summary_values_are_cut_to_two_hundred_characters() -> None:
    (pair,) = all_summary_pairs({"note": "n" * 500}).pairs

    assert len(pair.value) == 200
    assert pair.value.endswith("…")


def test_allow_list_keeps_patient_data_off_the_card() -> None:
    message = card(card_view(CardPhase.OFFERED, review=review(summary=PATIENT_SUMMARY)))
    text = shown(message)

    for value in PATIENT_VALUES:
        assert value not in text
    assert "Patient" not in text
    assert "Member" not in text
    assert "birth" not in text
    assert "*Service › Code:* 72148" in text
    assert "*Channel:* portal" in text
    assert "*Documents:* 2" in text


def test_allow_list_shows_a_patient_field_only_when_someone_chose_to() -> None:
    fields = SAFE_SUMMARY_FIELDS | {"memberId"}
    text = shown(card(card_view(CardPhase.OFFERED, review=review(summary=PATIENT_SUMMARY)), fields))

    assert "*Member id:* W123456789" in text
    assert "Jane Roe" not in text


def test_allow_list_admits_a_path_and_everything_under_it_and_nothing_beside_it() -> None:
    summary = {
        "service": {"code": "72148", "label": "MRI"},
        "serviceNote": "beside, not under",
        "service.code": "a key with a dot is not a path",
        "documents": [{"type": "fax", "patientName": "Jane Roe"}],
    }

    def paths(allowed: set[str]) -> list[str]:
        pairs = allowed_summary_pairs(summary, frozenset(allowed)).pairs
        return [pair.dotted_path for pair in pairs]

    assert paths({"service"}) == ["service.code", "service.label"]
    assert paths({"service.code"}) == ["service.code"]
    assert paths({"documents.0.type"}) == ["documents.0.type"]
    assert paths({"documents"}) == ["documents.0.type", "documents.0.patientName"]
    assert paths({"serv", "service.co", ""}) == []
    assert paths(set()) == []


# --- Texts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choices", "words"),
    [
        (ReportedOutcome, texts.REPORTED_OUTCOME_WORDS),
        (UnableReason, texts.UNABLE_REASON_WORDS),
        (RevokeReason, texts.REVOKE_REASON_WORDS),
    ],
)
def test_every_form_choice_has_plain_words(choices: Any, words: Any) -> None:
    assert set(words) == {choice.value for choice in choices}
    assert all(len(texts.sentence(label)) <= 75 for label in words.values())


def test_every_collate_enum_has_plain_words() -> None:
    assert set(texts.HANDOFF_RESULT_WORDS) == {
        "completed_reported",
        "unable_to_complete",
        "expired",
        "revoked",
        "interaction_lost_unrecoverable",
        "canceled",
    }
    assert set(texts.OUTCOME_WORDS) == {"approved", "denied", "modified", "not_required", "failed"}
    assert set(texts.NEXT_ACTION_NEEDS) == {
        "resolve_requirements",
        "continue_authorization",
        "approve_submission",
        "complete_payer_interaction",
    }
    assert set(texts.REQUEST_TYPE_WORDS) == {"inpatient", "outpatient", "drug"}
    assert set(texts.ACTION_WORDS) == set(ActionId)


def test_an_unknown_enum_value_is_shown_as_itself_escaped() -> None:
    assert texts.code_words(texts.OUTCOME_WORDS, "partly_<b>") == "partly &lt;b&gt;"


@pytest.mark.parametrize(
    ("notice_text", "expected"),
    [
        (
            texts.not_permitted(MARIA, action=ActionId.REVOKE, supervisors=True),
            f"Only <@{MARIA}> or a supervisor can revoke this handoff.",
        ),
        (texts.not_permitted(MARIA), f"Only <@{MARIA}> can do that."),
        (texts.already_accepted(LEE), f"<@{LEE}> already accepted this handoff."),
        (
            texts.handoff_closed("completed_reported", by_user_id=MARIA),
            f"This handoff is already closed: reported done by <@{MARIA}>. Nothing was changed.",
        ),
        (texts.handoff_closed(None), "This handoff is already closed. Nothing was changed."),
        (texts.unexpected_error("E-1A2B3C"), "give support this reference: E-1A2B3C"),
        (texts.snapshot_changed(), "Check the updated card, then accept again."),
        (texts.offer_gone(), "no longer available"),
        (texts.link_expired(), "*New link*"),
        (texts.stale_button(), "out of date"),
        (texts.try_again_later(), "Nothing was changed"),
        (texts.working_on_it(), "Working on it"),
        (texts.sent_you_a_dm(), "Sent you a DM"),
        (texts.sent_review_dm(), "full review by DM"),
        (texts.could_not_dm(), "could not send you a direct message"),
    ],
)
def test_private_notices_read_as_plain_sentences(notice_text: str, expected: str) -> None:
    assert expected in notice_text
    assert_valid_message(notice(notice_text))
