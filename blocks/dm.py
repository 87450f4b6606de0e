"""Direct messages: the acceptor's payer session link, and the reviewer's full review.

The handoff DM is the only place a grant URL is ever written, and only as a link button's
``url``: never in text, so Slack has nothing to unfurl. Once the handoff closes (``grant`` None)
the same DM is edited to carry no URL at all.
"""

from __future__ import annotations

from typing import Any

from blocks import texts
from blocks.card import case_name, summary_blocks, warning_blocks
from blocks.ids import ActionId, ActionRef
from blocks.kit import Block, actions, button, context, header, message, section
from blocks.model import CaseFacts, GrantView, HandoffDmView, ReviewView, SlackMessage
from blocks.summary import all_summary_pairs

DM_WARNINGS_MAX = 10
"""Warnings beyond this many do not fit one message; the review DM then offers no Accept."""

GRANT_URL_MAX = 3000


def handoff_dm(view: HandoffDmView) -> SlackMessage:
    """The acceptor's DM: the link while it is valid, else why there is none."""
    case = case_name(view.facts)
    ref = ActionRef(authorization_id=view.facts.authorization_id, handoff_id=view.handoff_id)
    title = section(texts.dm_title(case, view.facts.payer_name))
    grant = view.grant
    body = _with_link(view, grant, ref) if grant is not None else _without_link(view, ref)
    notification = texts.dm_notification(case, has_link=grant is not None)
    return message(notification, "dm", [title, *body])


def review_dm(facts: CaseFacts, review: ReviewView) -> SlackMessage:
    """The whole review, privately: every summary pair, every warning, and Accept for it."""
    case = case_name(facts)
    shown = review.warnings[:DM_WARNINGS_MAX]
    hidden = len(review.warnings) - len(shown)
    more = texts.more_warnings_in_dm(hidden) if hidden else None
    blocks: list[Block] = [
        header(texts.header(texts.REVIEW_HEADLINE, case)),
        *context(texts.facts_line(facts.payer_name, facts.service_code, facts.request_type)),
        *(warning_blocks(shown, more) or [section(texts.REVIEW_NO_WARNINGS)]),
        *summary_blocks(all_summary_pairs(review.summary)),
        *context(texts.snapshot_line(review.snapshot_id, review.attachment_count)),
    ]
    if not hidden:
        ref = ActionRef(
            authorization_id=facts.authorization_id, review_snapshot_id=review.snapshot_id
        )
        accept = button(
            texts.ACCEPT_REVIEWED_BUTTON, ActionId.ACCEPT, value=ref.encode(), primary=True
        )
        blocks.append(actions(accept))
    blocks += context(texts.REVIEW_PRIVATE_NOTE)
    return message(texts.review_notification(case), "review", blocks)


def _with_link(view: HandoffDmView, grant: GrantView, ref: ActionRef) -> list[Block]:
    if len(grant.url) > GRANT_URL_MAX:
        # A capability cannot be shortened; a cut URL would only fail later, in the browser.
        raise ValueError("the grant URL is longer than a Slack link button allows")
    value = ref.encode()
    open_session = button(
        texts.OPEN_SESSION_BUTTON, ActionId.OPEN_LINK, value=value, url=grant.url, primary=True
    )
    final_submit = (
        texts.final_submit(view.final_submit_capable)
        if view.final_submit_capable is not None
        else None
    )
    return [
        section(texts.DM_LINK_WARNING),
        actions(open_session, _new_link(value)),
        *context(texts.link_expiry(grant.expires_at), final_submit),
        *_collate_message(view),
    ]


def _without_link(view: HandoffDmView, ref: ActionRef) -> list[Block]:
    if not view.link_renewable:
        return [section(texts.dm_closed(view.closed_summary))]
    explanation = texts.dm_closed(view.closed_summary) if view.closed_summary else None
    return [
        section(explanation or texts.DM_LINK_LAPSED),
        actions(_new_link(ref.encode())),
        *_collate_message(view),
    ]


def _new_link(value: str) -> dict[str, Any]:
    return button(texts.NEW_LINK_BUTTON, ActionId.NEW_LINK, value=value)


def _collate_message(view: HandoffDmView) -> list[Block]:
    if not view.collate_message or not view.collate_message.strip():
        return []
    return context(texts.collate_says(view.collate_message))
