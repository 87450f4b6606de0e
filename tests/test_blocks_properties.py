"""Whatever Collate or a person sends, every surface stays valid Block Kit within Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocks import escape
from blocks.card import card_message, decode_more_option, thread_reply
from blocks.dm import handoff_dm, review_dm
from blocks.forms import parse_complete, parse_revoke, parse_unable
from blocks.ids import ActionRef
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
)
from blocks.summary import allowed_summary_pairs
from tests.block_kit import assert_valid_message, assert_valid_modal

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SLACK_SYNTAX = ("<!channel>", "<!here>", "@here", "@channel", "@Everyone", "<@U0ADMIN1>")
LINKS_AND_ENTITIES = ("<https://evil|x>", "&", "&amp;", "<", ">", "|", "{ago}", "<!date^1^x|y>")
FORMATTING = ("*", "_", "~", "`", "…", "é", "👩\u200d⚕️", "\n", "\t", " ")
NASTY = st.sampled_from((*SLACK_SYNTAX, *LINKS_AND_ENTITIES, *FORMATTING))
TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(NASTY, st.text(max_size=8)), max_size=12).map("".join),
    st.text(min_size=200, max_size=5000),
)
ID = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N", "P", "S")), min_size=1, max_size=60
)
USER = st.one_of(st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True), st.text(max_size=12))
MOMENT = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
CODE = st.one_of(
    st.sampled_from(
        ["submitted", "approved", "expired", "resolve_requirements", "wrong_route", "other"]
    ),
    TEXT,
)
JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON = st.recursive(
    JSON_SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=6), st.dictionaries(TEXT, children, max_size=6)
    ),
    max_leaves=40,
)
SUMMARY = st.dictionaries(TEXT, JSON, max_size=30)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


FACTS = st.builds(
    CaseFacts,
    authorization_id=ID,
    case_reference=optional(TEXT),
    payer_name=optional(TEXT),
    service_code=optional(TEXT),
    request_type=optional(CODE),
    offered_at=optional(MOMENT),
)
REVIEW = st.builds(
    ReviewView,
    snapshot_id=ID,
    warnings=st.lists(TEXT, max_size=12).map(tuple),
    summary=SUMMARY,
    attachment_count=st.integers(min_value=0, max_value=10_000),
)
REPORT = st.builds(
    OperatorReport,
    closed_by_user_id=USER,
    kind=st.sampled_from(["completed_reported", "unable_to_complete", "revoked", "other"]),
    reported_outcome=optional(CODE),
    observed_reference_number=optional(TEXT),
    reason=optional(CODE),
)
RECONCILED = st.builds(
    Reconciled,
    status=CODE,
    outcome=optional(CODE),
    payer_reference=optional(TEXT),
    next_action_type=optional(CODE),
    settled_at=optional(MOMENT),
)
LINK = optional(st.one_of(st.just("https://team.slack.com/archives/C1/p1"), TEXT))
CARD = st.builds(
    CardView,
    facts=FACTS,
    phase=st.sampled_from(CardPhase),
    review=optional(REVIEW),
    review_updated=st.booleans(),
    acceptor_user_id=optional(USER),
    accepted_at=optional(MOMENT),
    handoff_id=optional(ID),
    handoff_result=optional(CODE),
    report=optional(REPORT),
    reconciled=optional(RECONCILED),
    predecessor_link=LINK,
    successor_link=LINK,
)
GRANT = st.builds(
    GrantView,
    url=st.just("https://api.trycollate.ai/runtime/access/rag_9a2"),
    expires_at=MOMENT,
)
DM = st.builds(
    HandoffDmView,
    facts=FACTS,
    handoff_id=ID,
    grant=optional(GRANT),
    closed_summary=optional(TEXT),
    link_renewable=st.booleans(),
    final_submit_capable=optional(st.booleans()),
    collate_message=optional(TEXT),
)
REF = st.builds(
    lambda authorization_id, handoff_id: ActionRef(
        authorization_id=authorization_id, handoff_id=handoff_id
    ),
    ID,
    optional(ID),
)
"""Built by field name: ``st.builds(ActionRef)`` would pass the aliases as well."""


def summary_fields(view: CardView) -> frozenset[str]:
    """An allow-list naming every top-level key, so the card carries as much as it ever can."""
    return frozenset(view.review.summary) if view.review else frozenset()


@FAST
@given(CARD)
def test_every_card_is_valid_and_within_limits(view: CardView) -> None:
    message = card_message(view, summary_fields=summary_fields(view))

    assert_valid_message(message)
    for block in message["blocks"]:
        for element in block.get("elements", []):
            for option in element.get("options", []):
                decode_more_option(option["value"])


@FAST
@given(CARD)
def test_every_thread_reply_is_valid_and_one_line(view: CardView) -> None:
    reply = thread_reply(view)

    assert_valid_message(reply)
    assert len(reply["blocks"]) == 1


@FAST
@given(DM)
def test_every_handoff_dm_is_valid_and_has_a_url_only_with_a_grant(view: HandoffDmView) -> None:
    message = handoff_dm(view)

    assert_valid_message(message)
    has_url = '"url"' in json.dumps(message)
    assert has_url is (view.grant is not None)


@FAST
@given(FACTS, REVIEW)
def test_every_review_dm_is_valid(facts: CaseFacts, review: ReviewView) -> None:
    assert_valid_message(review_dm(facts, review))


@FAST
@given(REF)
def test_every_modal_is_valid_and_points_back_at_its_ids(ref: ActionRef) -> None:
    for build in (complete_modal, unable_modal, revoke_modal):
        view = build(ref)
        assert_valid_modal(view)
        assert ActionRef.decode(view["private_metadata"]) == ref


STATE_VALUES = st.dictionaries(
    st.sampled_from(["complete.outcome", "complete.reference", "unable.reason", "revoke.reason"])
    | TEXT,
    st.dictionaries(TEXT | st.sampled_from(["reportedOutcome", "reason"]), JSON, max_size=3),
    max_size=5,
)


@FAST
@given(STATE_VALUES)
def test_form_parsers_never_fail_on_whatever_slack_sends(values: dict[str, Any]) -> None:
    for parse, modal in (
        (parse_complete, complete_modal),
        (parse_unable, unable_modal),
        (parse_revoke, revoke_modal),
    ):
        result = parse(values)
        if isinstance(result, FormErrors):
            inputs = {
                block.get("block_id") for block in modal(ActionRef(authorization_id="a"))["blocks"]
            }
            assert set(result.errors) <= inputs


@FAST
@given(TEXT, st.integers(min_value=1, max_value=3000))
def test_escaped_text_never_carries_slack_syntax_and_respects_its_limit(
    raw: str, limit: int
) -> None:
    shown = escape.mrkdwn(raw, limit)

    assert len(shown) <= limit
    assert "<" not in shown
    assert ">" not in shown
    lowered = shown.lower()
    for broadcast in ("@here", "@channel", "@everyone"):
        assert broadcast not in lowered


@FAST
@given(SUMMARY, st.lists(TEXT, max_size=5))
def test_allowed_pairs_always_lie_under_an_allowed_path(
    summary: dict[str, Any], allowed: list[str]
) -> None:
    prefixes = [tuple(entry.split(".")) for entry in allowed]
    for pair in allowed_summary_pairs(summary, frozenset(allowed)).pairs:
        words = tuple(str(segment) for segment in pair.path)
        assert any(words[: len(prefix)] == prefix for prefix in prefixes)
