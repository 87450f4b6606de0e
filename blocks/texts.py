"""Every sentence the bot shows a person, in one place so tone and wording stay consistent.

Functions take raw values (from Collate, from people, from the store) and return Slack mrkdwn:
they escape and cap whatever they insert, so a caller never has to. The exceptions return plain
text for ``plain_text`` objects, which Slack does not parse: ``case_name`` and ``header``.
Constants are fixed sentences (a few use mrkdwn bold). Notification texts, shown on lock
screens, carry the state and the case reference only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import assert_never

from blocks.escape import escape, link, mention, mrkdwn, plain, slack_date
from blocks.ids import ActionId
from blocks.model import CardPhase, OperatorReport

SEP = " · "

CASE_MAX = 60
PAYER_MAX = 80
SERVICE_MAX = 40
CODE_MAX = 40
REFERENCE_MAX = 64
SNAPSHOT_MAX = 100
MESSAGE_MAX = 500
WARNING_MAX = 300
HEADER_MAX = 150
SUMMARY_LABEL_MAX = 80
SUMMARY_VALUE_MAX = 200

# --- Plain-word labels of Collate's and the bot's enums -----------------------------------------
# Lower case, to sit inside a sentence; ``sentence()`` capitalises one for a label on its own.

REPORTED_OUTCOME_WORDS: Mapping[str, str] = {
    "submitted": "submitted to the payer",
    "decision_observed": "payer decision seen",
    "not_required_observed": "payer says no authorization is needed",
    "follow_up_required_observed": "payer asks for follow-up",
}
REPORTED_OUTCOME_HINTS: Mapping[str, str] = {
    "submitted": "The request went in; no decision yet.",
    "decision_observed": "The portal showed the payer's decision.",
    "not_required_observed": "The portal said this service needs no authorization.",
    "follow_up_required_observed": "The payer needs more before it can decide.",
}
UNABLE_REASON_WORDS: Mapping[str, str] = {
    "channel_blocked": "the portal blocked access",
    "missing_information": "information needed is missing",
    "credential_or_mfa_issue": "sign-in or one-time code problem",
    "channel_outage": "the payer portal is down",
    "operator_abandoned_case": "had to stop before finishing",
    "wrong_route": "wrong portal or route for this case",
    "other": "something else",
}
REVOKE_REASON_WORDS: Mapping[str, str] = {
    "user_closed_task": "no longer needed",
    "accepted_by_mistake": "accepted by mistake",
    "handing_over": "handing over to a colleague",
    "case_changed": "the case changed",
    "other": "other reason",
}
HANDOFF_RESULT_WORDS: Mapping[str, str] = {
    "completed_reported": "reported done",
    "unable_to_complete": "unable to complete",
    "expired": "expired",
    "revoked": "revoked",
    "interaction_lost_unrecoverable": "payer session lost",
    "canceled": "canceled",
}
OUTCOME_WORDS: Mapping[str, str] = {
    "approved": "approved",
    "denied": "denied",
    "modified": "approved with changes",
    "not_required": "no authorization required",
    "failed": "failed",
}
NEXT_ACTION_NEEDS: Mapping[str, str] = {
    "resolve_requirements": "missing information or documents",
    "continue_authorization": "a go-ahead to continue",
    "approve_submission": "approval of the submission",
    "complete_payer_interaction": "another payer portal session",
}
REQUEST_TYPE_WORDS: Mapping[str, str] = {
    "inpatient": "inpatient",
    "outpatient": "outpatient",
    "drug": "drug",
}

YES = "Yes"
NO = "No"
EMPTY_VALUE = "—"
UNNAMED_FIELD = "(unnamed)"


def sentence(words: str) -> str:
    """``words`` with its first letter capitalised, for a label standing on its own."""
    return words[:1].upper() + words[1:]


def code_words(table: Mapping[str, str], code: str | None) -> str:
    """The plain words for an enum value; an unknown value is shown as itself, escaped."""
    if code is None:
        return "unknown"
    known = table.get(code)
    if known is not None:
        return known
    return mrkdwn(code.replace("_", " "), CODE_MAX) or "unknown"


def revoke_reason_words(reason: str | None) -> str:
    """A revoke reason from the common list; free text never leaves the modal it was typed in."""
    if reason is not None and reason in REVOKE_REASON_WORDS:
        return REVOKE_REASON_WORDS[reason]
    return REVOKE_REASON_WORDS["other"]


# --- Facts shared by every surface ---------------------------------------------------------------


def case_name(authorization_id: str, case_reference: str | None) -> str:
    """The case reference people know, else the authorization id; plain, one line."""
    for candidate in (case_reference, authorization_id):
        text = plain(candidate or "", CASE_MAX)
        if text:
            return text
    return "this case"


def header(headline: str, case: str) -> str:
    """A card's first line (``plain_text``): state, then case."""
    return plain(f"{headline}{SEP}{case}", HEADER_MAX)


def facts_line(
    payer_name: str | None, service_code: str | None, request_type: str | None
) -> str | None:
    """``Aetna · CPT 72148 · outpatient``, or ``None`` when nothing is known."""
    parts = [
        mrkdwn(payer_name or "", PAYER_MAX),
        mrkdwn(service_code or "", SERVICE_MAX),
        code_words(REQUEST_TYPE_WORDS, request_type) if request_type else "",
    ]
    shown = [part for part in parts if part]
    return SEP.join(shown) if shown else None


def at_time(moment: datetime) -> str:
    """``today at 10:42``, each reader in their own timezone."""
    return slack_date(moment, "{date_short_pretty} at {time}")


def ago(moment: datetime) -> str:
    return slack_date(moment, "{ago}")


# --- The channel card ----------------------------------------------------------------------------

OFFERED_HEADLINE = "Payer portal needs a person"
ACCEPTED_HEADLINE = "In progress"
CLOSING_HEADLINE = "Reconciling"
WAITING_HEADLINE = "Waiting on payer"
BACK_HEADLINE = "Back with Collate"
REOFFERED_HEADLINE = "New offer posted"
WITHDRAWN_HEADLINE = "Offer withdrawn"
UNAVAILABLE_HEADLINE = "No longer available"
COMPLETED_HEADLINE = "Completed"
ENDED_HEADLINES: Mapping[str, str] = {
    "expired": "Handoff expired",
    "interaction_lost_unrecoverable": "Payer session lost",
    "canceled": "Canceled",
}
ENDED_HEADLINE = "Handoff ended"

ENDED_EXPLANATIONS: Mapping[str, str] = {
    "expired": "Handoff expired — nobody opened the session in time.",
    "interaction_lost_unrecoverable": (
        "Payer session lost — the connection to the payer portal dropped and cannot be recovered."
    ),
    "canceled": "Canceled — the case was canceled in Collate.",
}
ENDED_EXPLANATION = "Collate ended this handoff."
ENDED_RECONCILING = "Collate is reconciling; if it needs a person again, a new card will appear."

RECONCILING_NOTE = (
    "Collate is reconciling — this is the operator's report, not the payer's answer yet."
)
WITHDRAWN_LINE = "Offer withdrawn — the case moved on. Nobody needs to act."
UNAVAILABLE_LINE = "This case is no longer available in Collate."
REVIEW_UPDATED_LINE = "*Updated:* Collate changed the review. Check it again before accepting."
NO_REPORT_LINE = "Closed by the person who had it."

ACCEPT_BUTTON = "Accept"
REVIEW_AND_ACCEPT_BUTTON = "Review & accept"
FULL_REVIEW_BUTTON = "Full review in DM"
COMPLETE_BUTTON = "Complete"
UNABLE_OPTION = "Unable to complete"
REVOKE_OPTION = "Revoke"
NEW_LINK_OPTION = "New link"

ACCEPT_CONFIRM_TITLE = "Accept this handoff?"
ACCEPT_CONFIRM_YES = "Accept"
ACCEPT_CONFIRM_NO = "Not now"


def accept_confirm_text(case: str) -> str:
    return (
        f"You will operate the payer portal session for {escape(case)}. "
        "The link comes to you by DM."
    )


def offered_line(offered_at: datetime | None) -> str | None:
    return f"offered {ago(offered_at)}" if offered_at is not None else None


def warning_line(message: str) -> str:
    return f"⚠ {mrkdwn(message, WARNING_MAX) or 'Warning without a message'}"


def more_warnings_on_card(hidden: int) -> str:
    return f"*+{hidden} more warnings* — open the full review in DM before accepting."


def more_warnings_in_dm(hidden: int) -> str:
    return (
        f"*+{hidden} more warnings* could not be shown here, so accepting from Slack is off "
        "for this review. Ask a supervisor."
    )


def summary_line(label: str, value: str) -> str:
    return f"*{mrkdwn(label, SUMMARY_LABEL_MAX)}:* {mrkdwn(value, SUMMARY_VALUE_MAX)}"


def more_summary(hidden: int) -> str:
    return f"+{hidden} more"


def attachments(count: int) -> str:
    if count == 0:
        return "no attachments"
    return "1 attachment" if count == 1 else f"{count} attachments"


def snapshot_line(snapshot_id: str, attachment_count: int) -> str:
    return (
        f"Review snapshot {mrkdwn(snapshot_id, SNAPSHOT_MAX)}{SEP}{attachments(attachment_count)}"
    )


def earlier_thread(predecessor_link: str) -> str:
    return f"Earlier handoff for this case: {link(predecessor_link, 'see its thread')}"


def accepted_line(acceptor_user_id: str | None, accepted_at: datetime | None) -> str:
    parts = [f"{mention(acceptor_user_id)} has it"]
    if accepted_at is not None:
        parts.append(f"accepted {at_time(accepted_at)}")
    parts.append("link sent by DM")
    return SEP.join(parts)


def reference(number: str | None, *, payer: bool = False) -> str | None:
    if not number or not number.strip():
        return None
    prefix = "payer ref" if payer else "ref"
    return f"{prefix} {mrkdwn(number, REFERENCE_MAX)}"


def report_line(report: OperatorReport) -> str:
    """What the operator said, e.g. ``Reported *submitted to the payer* by @maria · ref ABC``."""
    who = mention(report.closed_by_user_id)
    if report.kind == "completed_reported":
        words = code_words(REPORTED_OUTCOME_WORDS, report.reported_outcome)
        parts = [f"Reported *{words}* by {who}", reference(report.observed_reference_number)]
    elif report.kind == "unable_to_complete":
        reason = code_words(UNABLE_REASON_WORDS, report.reason)
        parts = [f"Reported *unable to complete* by {who}", reason]
    elif report.kind == "revoked":
        parts = [f"*Revoked* by {who}", revoke_reason_words(report.reason)]
    else:
        parts = [f"Closed by {who}: {code_words(HANDOFF_RESULT_WORDS, report.kind)}"]
    return SEP.join(part for part in parts if part)


def operator_report_aside(report: OperatorReport) -> str:
    """The operator's report next to Collate's result, labelled so nobody mistakes it."""
    return f"Operator's report (not the payer's answer): {report_line(report)}"


def handled_line(
    settled_at: datetime | None, acceptor_user_id: str | None, payer_reference: str | None
) -> str | None:
    parts = [
        reference(payer_reference, payer=True),
        f"reconciled {at_time(settled_at)}" if settled_at is not None else None,
        f"handled by {mention(acceptor_user_id)}" if acceptor_user_id else None,
    ]
    shown = [part for part in parts if part]
    return SEP.join(shown) if shown else None


def outcome_headline(outcome: str | None) -> str:
    if outcome is None:
        return COMPLETED_HEADLINE
    return sentence(code_words(OUTCOME_WORDS, outcome))


def collate_result_line(outcome: str | None) -> str:
    words = code_words(OUTCOME_WORDS, outcome) if outcome else "completed"
    return f"*Collate:* {words}"


def waiting_line() -> str:
    return "*Collate:* the payer has the submission; waiting for its decision."


def back_with_collate_line(next_action_type: str | None) -> str:
    if not next_action_type:
        return "Back with Collate for its next step."
    return f"Back with Collate: needs {code_words(NEXT_ACTION_NEEDS, next_action_type)}."


def reoffered_line(successor_link: str | None) -> str:
    if successor_link is None:
        return "Collate offered a new handoff — see the newest card in this channel."
    return f"Collate offered a new handoff — {link(successor_link, 'see the new card')}."


# --- Notifications (the fallback ``text``: lock screens) -----------------------------------------


def card_notification(
    phase: CardPhase,
    case: str,
    *,
    handoff_result: str | None = None,
    outcome: str | None = None,
) -> str:
    """Short, PHI-free: the state and the case reference only."""
    name = escape(case)
    match phase:
        case CardPhase.OFFERED:
            return f"Handoff offered for {name}"
        case CardPhase.ACCEPTED:
            return f"Handoff for {name} accepted"
        case CardPhase.CLOSING:
            return f"Handoff for {name} reported; Collate is reconciling"
        case CardPhase.ENDED_BY_COLLATE:
            return f"Handoff for {name} {code_words(HANDOFF_RESULT_WORDS, handoff_result)}"
        case CardPhase.WAITING_ON_PAYER:
            return f"{name} is waiting on the payer"
        case CardPhase.COMPLETED:
            return f"{name}: {code_words(OUTCOME_WORDS, outcome) if outcome else 'completed'}"
        case CardPhase.BACK_WITH_COLLATE:
            return f"{name} is back with Collate"
        case CardPhase.REOFFERED:
            return f"New handoff offered for {name}"
        case CardPhase.WITHDRAWN:
            return f"Handoff offer for {name} withdrawn"
        case CardPhase.UNAVAILABLE:
            return f"{name} is no longer available in Collate"
    assert_never(phase)


# --- Thread replies: one line per change ---------------------------------------------------------


def reply_offered(review_updated: bool, snapshot_id: str | None) -> str:
    if review_updated and snapshot_id:
        return (
            f"Collate updated the review ({mrkdwn(snapshot_id, SNAPSHOT_MAX)}) — "
            "check it again before accepting"
        )
    return "Handoff offered — waiting for someone to accept"


def reply_accepted(acceptor_user_id: str | None) -> str:
    return f"Accepted by {mention(acceptor_user_id)}"


def reply_closing(report: OperatorReport | None) -> str:
    if report is None:
        return "Handoff closed — Collate is reconciling"
    who = mention(report.closed_by_user_id)
    if report.kind == "completed_reported":
        words = code_words(REPORTED_OUTCOME_WORDS, report.reported_outcome)
        ref = reference(report.observed_reference_number)
        return f"{who} reported {words}" + (f" ({ref})" if ref else "")
    if report.kind == "unable_to_complete":
        return (
            f"{who} reported unable to complete: {code_words(UNABLE_REASON_WORDS, report.reason)}"
        )
    if report.kind == "revoked":
        return f"{who} revoked the handoff: {revoke_reason_words(report.reason)}"
    return f"{who} closed the handoff"


def reply_ended(handoff_result: str | None) -> str:
    explanation = ENDED_EXPLANATIONS.get(handoff_result or "", ENDED_EXPLANATION)
    return f"Collate: {explanation[:1].lower()}{explanation[1:]}"


def reply_waiting(payer_reference: str | None) -> str:
    ref = reference(payer_reference, payer=True)
    return "Collate: waiting on payer" + (f" ({ref})" if ref else "")


def reply_completed(outcome: str | None, payer_reference: str | None) -> str:
    words = code_words(OUTCOME_WORDS, outcome) if outcome else "completed"
    ref = reference(payer_reference, payer=True)
    return f"Collate: {words}" + (f" ({ref})" if ref else "")


def reply_back_with_collate(next_action_type: str | None) -> str:
    return back_with_collate_line(next_action_type)


LINK_ISSUED_REPLY = "New payer session link sent by DM"
LINK_ISSUED_NOTIFICATION = "Payer session link issued"

# --- The acceptor's DM ---------------------------------------------------------------------------

DM_LINK_WARNING = "⚠ Anyone holding this link can act in the payer session: do not forward it."
OPEN_SESSION_BUTTON = "Open payer session"
NEW_LINK_BUTTON = "New link"
DM_CLOSED_DEFAULT = "This handoff is closed; its link has been removed."
DM_LINK_LAPSED = "The link is no longer valid. Press *New link* for a fresh one."


def dm_title(case: str, payer_name: str | None) -> str:
    payer = mrkdwn(payer_name or "", PAYER_MAX)
    return f"*Your payer session for {escape(case)}*" + (f" ({payer})" if payer else "")


def link_expiry(expires_at: datetime) -> str:
    return f"Link expires {at_time(expires_at)}"


def final_submit(capable: bool) -> str:
    if capable:
        return "You can send the final submission to the payer in this session."
    return "This session stops before the final submit to the payer."


def collate_says(message: str) -> str:
    return f"*Collate:* {mrkdwn(message, MESSAGE_MAX)}"


def dm_closed(closed_summary: str | None) -> str:
    text = mrkdwn(closed_summary or "", MESSAGE_MAX)
    return text or DM_CLOSED_DEFAULT


def dm_notification(case: str, *, has_link: bool) -> str:
    if has_link:
        return f"Payer session link for {escape(case)}"
    return f"Payer session for {escape(case)}: no active link"


# --- The reviewer's DM ---------------------------------------------------------------------------

REVIEW_HEADLINE = "Review before accepting"
ACCEPT_REVIEWED_BUTTON = "Accept this review"
REVIEW_NO_WARNINGS = "No warnings from Collate."
REVIEW_PRIVATE_NOTE = "Only you see this message. The channel card shows a shorter summary."


def review_notification(case: str) -> str:
    return f"Review for {escape(case)}"


# --- Modals (ids and enum labels only: never patient data) ---------------------------------------

COMPLETE_TITLE = "Complete handoff"
UNABLE_TITLE = "Unable to complete"
REVOKE_TITLE = "Revoke handoff"
COMPLETE_SUBMIT = "Send report"
UNABLE_SUBMIT = "Send"
REVOKE_SUBMIT = "Revoke"
MODAL_CLOSE = "Cancel"

COMPLETE_INTRO = (
    "Tell Collate what happened in the payer portal. The card shows the payer's answer "
    "only once Collate has confirmed it."
)
UNABLE_INTRO = "Tell Collate why the payer portal work could not be finished."
REVOKE_INTRO = "Stop this handoff. Collate takes the case back and decides what comes next."

OUTCOME_LABEL = "What happened?"
REFERENCE_LABEL = "Reference number shown by the payer"
REFERENCE_HINT = "Optional. Letters, digits and - _ . / only, up to 64 characters."
NOTES_LABEL = "Notes for Collate"
NOTES_HINT = "Goes to Collate only; never shown in Slack."
UNABLE_NOTES_HINT = "Goes to Collate only; never shown in Slack. Required for “something else”."
UNABLE_REASON_LABEL = "Why could it not be finished?"
REVOKE_REASON_LABEL = "Why revoke?"
OTHER_REASON_LABEL = "Other reason"
OTHER_REASON_HINT = "Required when the reason is “other reason”."
OTHER_DESCRIPTION = "Say what happened in the notes."


def modal_ids(authorization_id: str, handoff_id: str | None) -> str:
    parts = [f"Authorization {mrkdwn(authorization_id, SNAPSHOT_MAX)}"]
    if handoff_id:
        parts.append(f"handoff {mrkdwn(handoff_id, SNAPSHOT_MAX)}")
    return SEP.join(parts)


# --- Inline form errors --------------------------------------------------------------------------

CHOOSE_OUTCOME = "Choose what happened."
CHOOSE_REASON = "Choose a reason."
UNKNOWN_CHOICE = "That choice is not available. Pick one from the list."
NOTE_NEEDED = "Say what happened: a note is needed when the reason is “something else”."
OTHER_REASON_NEEDED = "Write the reason."
REFERENCE_CHARSET = "Use only letters, digits and - _ . /"


def too_long(limit: int) -> str:
    return f"Keep it to {limit} characters or fewer."


# --- Private notices (ephemeral) for the person who clicked --------------------------------------
# Functions, all of them, so a handler reads ``texts.offer_gone()`` whatever the notice needs.

ACTION_WORDS: Mapping[ActionId, str] = {
    ActionId.ACCEPT: "accept this handoff",
    ActionId.REVIEW: "see the full review",
    ActionId.OPEN_LINK: "open this payer session",
    ActionId.NEW_LINK: "get a new link for this handoff",
    ActionId.COMPLETE: "complete this handoff",
    ActionId.UNABLE: "report this handoff as unable to complete",
    ActionId.REVOKE: "revoke this handoff",
    ActionId.MORE: "act on this handoff",
}


def not_permitted(
    allowed_user_id: str | None, *, action: ActionId | None = None, supervisors: bool = False
) -> str:
    """Who may do it instead, e.g. ``Only @maria or a supervisor can revoke this handoff.``"""
    who = mention(allowed_user_id) if allowed_user_id else "the person who accepted it"
    if supervisors:
        who += " or a supervisor"
    what = ACTION_WORDS[action] if action is not None else "do that"
    return f"Only {who} can {what}."


def only_operators() -> str:
    return "Only members of the operators group can accept handoffs. Ask a supervisor to add you."


def already_accepted(acceptor_user_id: str | None) -> str:
    return f"{sentence(mention(acceptor_user_id))} already accepted this handoff."


def handoff_closed(result: str | None, *, by_user_id: str | None = None) -> str:
    """``result`` is the handoff result or the operator's close, when known."""
    how = f": {code_words(HANDOFF_RESULT_WORDS, result)}" if result else ""
    who = f" by {mention(by_user_id)}" if by_user_id else ""
    return f"This handoff is already closed{how}{who}. Nothing was changed."


def offer_gone() -> str:
    return "This offer is no longer available — the case moved on."


def snapshot_changed() -> str:
    return "Collate changed the review since you looked. Check the updated card, then accept again."


def link_expired() -> str:
    return "That link has expired. Press *New link* for a fresh one."


def stale_button() -> str:
    return "That button is out of date. Use the latest card for this case."


def try_again_later() -> str:
    return "Collate or the bot is not reachable right now. Nothing was changed; try again shortly."


def collate_refused(message: str | None, request_id: str | None) -> str:
    """Collate's own message (escaped) and its ``requestId`` for support."""
    said = mrkdwn(message or "", MESSAGE_MAX) or "no reason given"
    request = f" (request {mrkdwn(request_id, REFERENCE_MAX)})" if request_id else ""
    return f"Collate did not accept that: {said}{request}"


def unexpected_error(reference_id: str) -> str:
    return (
        "Something went wrong on our side. If it keeps happening, give support this "
        f"reference: {mrkdwn(reference_id, REFERENCE_MAX)}"
    )


def shown_later() -> str:
    return (
        "Collate has it. The bot could not save it just now, so the card and your DM "
        "will catch up by themselves in a moment. No need to press again."
    )


def click_again() -> str:
    return "Slack gave up waiting for that form to open. Please press the button again."


def working_on_it() -> str:
    return "Working on it…"


def sent_you_a_dm() -> str:
    return "Sent you a DM with your payer session link."


def sent_review_dm() -> str:
    return "Sent you the full review by DM."


def could_not_dm() -> str:
    return (
        "I could not send you a direct message. Open this app's Messages tab, "
        "then press *New link* on the card."
    )


# --- The supervisors' channel -----------------------------------------------------------------


def floor_line(case: str, payer_name: str | None, event: str, card_link: str | None) -> str:
    """``CASE-2291 · Aetna — accepted by @maria · card``: one line per transition."""
    who = f"*{escape(case)}*" + (f" · {escape(payer_name)}" if payer_name else "")
    where = f" · {link(card_link, 'card')}" if card_link else ""
    return f"{who} — {event}{where}"


def floor_notification(case: str) -> str:
    return f"Handoff update for {escape(case)}"
