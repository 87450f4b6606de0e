"""The channel card: one message per handoff offer, edited in place through every phase.

Read on a phone first: a header with the state and the case, one line saying who has it, a
small line of facts, then at most one obvious primary button. Rare actions sit in an overflow
menu. A card shows only the minimum necessary (case reference, payer, service code, request
type, state, people, times) and, while offered, the warnings and the allow-listed summary
pairs of the review snapshot. Operator notes never appear.

Overflow options cannot carry a ``value`` per action id, so each option's value says which
action it is: ``<ActionId value>|<ActionRef.encode()>``, e.g.
``handoff.revoke|{"a":"auth_8f2c41","h":"mhand_31c"}``. ``decode_more_option`` reads it back.
An option value holds at most 150 characters; when the ids are too long for that, the rare
actions are posted as ordinary buttons with their own action ids (``UNABLE``, ``REVOKE``,
``NEW_LINK``) instead, so handlers must treat both the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, assert_never

from blocks import texts
from blocks.ids import ActionId, ActionRef, InvalidActionRef
from blocks.kit import (
    Block,
    actions,
    button,
    confirm_dialog,
    context,
    divider,
    header,
    message,
    option,
    overflow,
    section,
    sections,
)
from blocks.model import CardPhase, CardView, CaseFacts, Reconciled, ReviewView, SlackMessage
from blocks.summary import SummaryPairs, allowed_summary_pairs

CARD_WARNINGS_MAX = 8
"""Warnings beyond this many are not on the card; accepting then goes through the review DM."""

MORE_SEPARATOR = "|"
OPTION_VALUE_MAX = 150

_NOT_RECONCILED = Reconciled(status="")

_MORE_ACTIONS: Mapping[ActionId, str] = {
    ActionId.UNABLE: texts.UNABLE_OPTION,
    ActionId.REVOKE: texts.REVOKE_OPTION,
    ActionId.NEW_LINK: texts.NEW_LINK_OPTION,
}


def card_message(view: CardView, *, summary_fields: frozenset[str]) -> SlackMessage:
    """The whole card for ``view.phase``, for ``chat.postMessage`` or ``chat.update``."""
    case = case_name(view.facts)
    if view.phase is CardPhase.OFFERED:
        headline, body = texts.OFFERED_HEADLINE, _offered(view, case, summary_fields)
    else:
        headline, body = _headline(view), _AFTER_OFFER[view.phase](view)
    return message(
        _notification(view, case), view.phase.value, [header(texts.header(headline, case)), *body]
    )


def thread_reply(view: CardView) -> SlackMessage:
    """One line for the card's thread about the phase just entered."""
    case = case_name(view.facts)
    return message(
        _notification(view, case), f"reply-{view.phase.value}", [section(_reply_line(view))]
    )


def link_issued_reply() -> SlackMessage:
    """The thread line for a new payer session link (the link itself only ever goes by DM)."""
    return message(texts.LINK_ISSUED_NOTIFICATION, "reply-link", [section(texts.LINK_ISSUED_REPLY)])


def more_option_value(action: ActionId, ref: ActionRef) -> str:
    """The ``value`` of an overflow option: which action, then the ids it acts on."""
    return f"{action.value}{MORE_SEPARATOR}{ref.encode()}"


def decode_more_option(value: str) -> tuple[ActionId, ActionRef]:
    """Read an overflow option value back; ``InvalidActionRef`` for anything else."""
    kind, separator, encoded = value.partition(MORE_SEPARATOR)
    if not separator or kind not in {action.value for action in _MORE_ACTIONS}:
        raise InvalidActionRef("not a handoff overflow option")
    return ActionId(kind), ActionRef.decode(encoded)


def case_name(facts: CaseFacts) -> str:
    """The case reference people know, falling back to the authorization id (plain text)."""
    return texts.case_name(facts.authorization_id, facts.case_reference)


# --- OFFERED -------------------------------------------------------------------------------------


def _offered(view: CardView, case: str, summary_fields: frozenset[str]) -> list[Block]:
    blocks = _facts(view.facts, texts.offered_line(view.facts.offered_at))
    if view.review is not None:
        blocks += _review(view.review, view.review_updated, summary_fields)
    if view.predecessor_link:
        blocks += context(texts.earlier_thread(view.predecessor_link))
    return [*blocks, actions(*_offer_buttons(view.facts, view.review, case))]


def _review(review: ReviewView, updated: bool, summary_fields: frozenset[str]) -> list[Block]:
    shown = review.warnings[:CARD_WARNINGS_MAX]
    hidden = len(review.warnings) - len(shown)
    return [
        *([section(texts.REVIEW_UPDATED_LINE)] if updated else []),
        *warning_blocks(shown, texts.more_warnings_on_card(hidden) if hidden else None),
        *summary_blocks(allowed_summary_pairs(review.summary, summary_fields)),
        *context(texts.snapshot_line(review.snapshot_id, review.attachment_count)),
    ]


def _offer_buttons(facts: CaseFacts, review: ReviewView | None, case: str) -> list[dict[str, Any]]:
    """Accept on the card only when it shows every warning; otherwise review in DM first."""
    if review is None:
        return [_accept_unreviewed(facts, case)]
    ref = ActionRef(authorization_id=facts.authorization_id, review_snapshot_id=review.snapshot_id)
    value = ref.encode()
    warnings_complete = len(review.warnings) <= CARD_WARNINGS_MAX
    full_review = button(
        texts.FULL_REVIEW_BUTTON, ActionId.REVIEW, value=value, primary=not warnings_complete
    )
    if not warnings_complete:
        return [full_review]
    accept = button(texts.REVIEW_AND_ACCEPT_BUTTON, ActionId.ACCEPT, value=value, primary=True)
    return [accept, full_review]


def _accept_unreviewed(facts: CaseFacts, case: str) -> dict[str, Any]:
    confirm = confirm_dialog(
        texts.ACCEPT_CONFIRM_TITLE,
        texts.accept_confirm_text(case),
        texts.ACCEPT_CONFIRM_YES,
        texts.ACCEPT_CONFIRM_NO,
    )
    value = ActionRef(authorization_id=facts.authorization_id).encode()
    return button(texts.ACCEPT_BUTTON, ActionId.ACCEPT, value=value, primary=True, confirm=confirm)


def warning_blocks(warnings: Sequence[str], more: str | None) -> list[Block]:
    """Each warning as ``⚠ message``, in Collate's order (shared with the review DM)."""
    lines = [texts.warning_line(warning) for warning in warnings]
    return sections([*lines, *([more] if more else [])]) if lines else []


def summary_blocks(summary: SummaryPairs) -> list[Block]:
    """Flattened summary pairs, one per line, then ``+N more`` (shared with the review DM)."""
    lines = [texts.summary_line(pair.label, pair.value) for pair in summary.pairs]
    if summary.more:
        lines.append(texts.more_summary(summary.more))
    return sections(lines) if lines else []


# --- After acceptance ----------------------------------------------------------------------------


def _accepted(view: CardView) -> list[Block]:
    ref = ActionRef(authorization_id=view.facts.authorization_id, handoff_id=view.handoff_id)
    complete = button(texts.COMPLETE_BUTTON, ActionId.COMPLETE, value=ref.encode(), primary=True)
    return [
        section(texts.accepted_line(view.acceptor_user_id, view.accepted_at)),
        *_facts(view.facts),
        actions(complete, *_rare_actions(ref)),
    ]


def _rare_actions(ref: ActionRef) -> list[dict[str, Any]]:
    """The overflow menu; plain buttons instead when the ids do not fit an option value."""
    values = {action: more_option_value(action, ref) for action in _MORE_ACTIONS}
    if all(len(value) <= OPTION_VALUE_MAX for value in values.values()):
        options = [option(_MORE_ACTIONS[action], value) for action, value in values.items()]
        return [overflow(ActionId.MORE, options)]
    encoded = ref.encode()
    return [button(label, action, value=encoded) for action, label in _MORE_ACTIONS.items()]


def _closing(view: CardView) -> list[Block]:
    said = texts.report_line(view.report) if view.report else texts.NO_REPORT_LINE
    return [section(said), *context(texts.RECONCILING_NOTE), *_facts(view.facts)]


def _ended_by_collate(view: CardView) -> list[Block]:
    result = view.handoff_result or ""
    explanation = texts.ENDED_EXPLANATIONS.get(result, texts.ENDED_EXPLANATION)
    handled = texts.handled_line(None, view.acceptor_user_id, None)
    after = None if result == "canceled" else texts.ENDED_RECONCILING
    return [section(explanation), *_facts(view.facts, handled), *context(after)]


def _waiting_on_payer(view: CardView) -> list[Block]:
    return _reconciled(view, texts.waiting_line())


def _completed(view: CardView) -> list[Block]:
    return _reconciled(view, texts.collate_result_line(_settled(view).outcome))


def _back_with_collate(view: CardView) -> list[Block]:
    return _reconciled(view, texts.back_with_collate_line(_settled(view).next_action_type))


def _reoffered(view: CardView) -> list[Block]:
    return _reconciled(view, texts.reoffered_line(view.successor_link))


def _reconciled(view: CardView, result_line: str) -> list[Block]:
    """Collate's result on top; the operator's report below a divider, labelled as such."""
    settled = _settled(view)
    handled = texts.handled_line(settled.settled_at, view.acceptor_user_id, settled.payer_reference)
    lines = [result_line, *([texts.sentence(handled)] if handled else [])]
    blocks = [section("\n".join(lines)), *_facts(view.facts)]
    if view.report is not None:
        blocks += [divider(), *context(texts.operator_report_aside(view.report))]
    return blocks


def _withdrawn(view: CardView) -> list[Block]:
    return [section(texts.WITHDRAWN_LINE), *_facts(view.facts)]


def _unavailable(view: CardView) -> list[Block]:
    return [section(texts.UNAVAILABLE_LINE), *_facts(view.facts)]


_AFTER_OFFER: Mapping[CardPhase, Callable[[CardView], list[Block]]] = {
    CardPhase.ACCEPTED: _accepted,
    CardPhase.CLOSING: _closing,
    CardPhase.ENDED_BY_COLLATE: _ended_by_collate,
    CardPhase.WAITING_ON_PAYER: _waiting_on_payer,
    CardPhase.COMPLETED: _completed,
    CardPhase.BACK_WITH_COLLATE: _back_with_collate,
    CardPhase.REOFFERED: _reoffered,
    CardPhase.WITHDRAWN: _withdrawn,
    CardPhase.UNAVAILABLE: _unavailable,
}

_HEADLINES: Mapping[CardPhase, str] = {
    CardPhase.ACCEPTED: texts.ACCEPTED_HEADLINE,
    CardPhase.CLOSING: texts.CLOSING_HEADLINE,
    CardPhase.WAITING_ON_PAYER: texts.WAITING_HEADLINE,
    CardPhase.BACK_WITH_COLLATE: texts.BACK_HEADLINE,
    CardPhase.REOFFERED: texts.REOFFERED_HEADLINE,
    CardPhase.WITHDRAWN: texts.WITHDRAWN_HEADLINE,
    CardPhase.UNAVAILABLE: texts.UNAVAILABLE_HEADLINE,
}


def _settled(view: CardView) -> Reconciled:
    return view.reconciled or _NOT_RECONCILED


def _notification(view: CardView, case: str) -> str:
    outcome = _settled(view).outcome
    return texts.card_notification(
        view.phase, case, handoff_result=view.handoff_result, outcome=outcome
    )


def _headline(view: CardView) -> str:
    if view.phase is CardPhase.COMPLETED:
        return texts.outcome_headline(_settled(view).outcome)
    if view.phase is CardPhase.ENDED_BY_COLLATE:
        return texts.ENDED_HEADLINES.get(view.handoff_result or "", texts.ENDED_HEADLINE)
    return _HEADLINES[view.phase]


def _facts(facts: CaseFacts, extra: str | None = None) -> list[Block]:
    line = texts.facts_line(facts.payer_name, facts.service_code, facts.request_type)
    joined = texts.SEP.join(part for part in (line, extra) if part)
    return context(joined)


# --- Thread replies ------------------------------------------------------------------------------


def _reply_line(view: CardView) -> str:
    settled = _settled(view)
    match view.phase:
        case CardPhase.OFFERED:
            snapshot_id = view.review.snapshot_id if view.review else None
            return texts.reply_offered(view.review_updated, snapshot_id)
        case CardPhase.ACCEPTED:
            return texts.reply_accepted(view.acceptor_user_id)
        case CardPhase.CLOSING:
            return texts.reply_closing(view.report)
        case CardPhase.ENDED_BY_COLLATE:
            return texts.reply_ended(view.handoff_result)
        case CardPhase.WAITING_ON_PAYER:
            return texts.reply_waiting(settled.payer_reference)
        case CardPhase.COMPLETED:
            return texts.reply_completed(settled.outcome, settled.payer_reference)
        case CardPhase.BACK_WITH_COLLATE:
            return texts.reply_back_with_collate(settled.next_action_type)
        case CardPhase.REOFFERED:
            return texts.reoffered_line(view.successor_link)
        case CardPhase.WITHDRAWN:
            return texts.WITHDRAWN_LINE
        case CardPhase.UNAVAILABLE:
            return texts.UNAVAILABLE_LINE
    assert_never(view.phase)


def floor_line(view: CardView, card_link: str | None) -> SlackMessage:
    """One compact line for the supervisors' channel about the phase just entered."""
    return _floor(view.facts, _reply_line(view), card_link)


def floor_link_issued(facts: CaseFacts, card_link: str | None) -> SlackMessage:
    """The supervisors' line for a new payer session link (never the link itself)."""
    return _floor(facts, texts.LINK_ISSUED_REPLY, card_link)


def _floor(facts: CaseFacts, event: str, card_link: str | None) -> SlackMessage:
    case = case_name(facts)
    line = texts.floor_line(case, facts.payer_name, event, card_link)
    return message(texts.floor_notification(case), "floor", [section(line)])
