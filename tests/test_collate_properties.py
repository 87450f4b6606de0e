"""Properties of the Collate models over every field, found by walking the models themselves.

``tests/test_collate_models.py`` checks chosen examples: one extra key at three places, five
missing fields, two bad values. These check every place: an extra field in any object Collate
sends is ignored without changing what the bot reads, removing any required field is a
``CollateProtocolError`` that names exactly that field by its wire path, and a value of the
wrong type in any typed field is named the same way without echoing what was sent.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.collate import AccessGrant, Authorization, CloseResult, CollateProtocolError
from bot.collate.models import (
    AuthorizationPage,
    CollateModel,
    Covers,
    ManualHandoff,
    parse_response,
)
from tests.test_collate_models import contract_authorization, handoff_payload

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Path = tuple[str | int, ...]


def grant_payload() -> dict[str, Any]:
    return {"id": "rag_9a2", "url": "https://collate.example/a/rag_9a2", "expiresAt": _AT}


def close_payload() -> dict[str, Any]:
    return {
        "manualHandoffId": "mhand_31c",
        "state": "closing",
        "result": "completed_reported",
        "authorization": {"id": "auth_8f2c41", "version": 19, "status": "processing"},
        "reconciliation": {"id": "rec_77", "state": "pending"},
    }


def page_payload() -> dict[str, Any]:
    with_receipt = contract_authorization()
    with_receipt["submission"]["payerReceipt"] = {"referenceNumber": "AET-1", "receivedAt": _AT}
    with_receipt["activeManualHandoff"] = {"id": "mhand_31c", "state": "active"}
    return {"data": [contract_authorization(), with_receipt], "pagination": {"nextCursor": "c"}}


_AT = "2026-05-22T18:26:00Z"


@dataclass(frozen=True)
class Case:
    model: type[CollateModel]
    root: str
    payload: dict[str, Any]


CASES = (
    Case(Authorization, "authorization", contract_authorization()),
    Case(AuthorizationPage, "page", page_payload()),
    Case(ManualHandoff, "handoff", handoff_payload(message="Use the shared inbox.")),
    Case(AccessGrant, "grant", grant_payload()),
    Case(CloseResult, "close", close_payload()),
)


# Walking a model and a payload together ----------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """An object in the payload and the model that reads it."""

    model: type[CollateModel]
    path: Path


def nodes(model: type[CollateModel], payload: Any, path: Path = ()) -> Iterator[Node]:
    """Every object of ``payload`` that a Collate model reads, with its path."""
    yield Node(model, path)
    for name, info in model.model_fields.items():
        key = info.alias or name
        value = payload.get(key)
        inner, is_list = _model_in(info.annotation)
        if inner is None or value is None:
            continue
        if is_list:
            for index, item in enumerate(value):
                yield from nodes(inner, item, (*path, key, index))
        else:
            yield from nodes(inner, value, (*path, key))


def _model_in(annotation: Any) -> tuple[type[CollateModel] | None, bool]:
    """The Collate model an annotation holds (through ``Optional``, ``Annotated``, ``list``)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _model_in(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            found, is_list = _model_in(arg)
            if found is not None:
                return found, is_list
        return None, False
    if origin is list:
        found, _ = _model_in(get_args(annotation)[0])
        return found, found is not None
    if isinstance(annotation, type) and issubclass(annotation, CollateModel):
        return annotation, False
    return None, False


def _scalar_in(annotation: Any) -> bool:
    """Whether a field holds one typed scalar (text, number, flag, time, enum, secret)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return all(_scalar_in(arg) for arg in get_args(annotation) if arg is not type(None))
    if not isinstance(annotation, type):
        return False
    return issubclass(annotation, str | int | bool | datetime | Enum | SecretStr)


def fields(case: Case, *, required: bool) -> list[tuple[Path, Any]]:
    """The fields present in the case's payload: ``required`` ones, or the typed scalars."""
    found: list[tuple[Path, Any]] = []
    for node in nodes(case.model, case.payload):
        obj = at(case.payload, node.path)
        for name, info in node.model.model_fields.items():
            key = info.alias or name
            wanted = info.is_required() if required else _scalar_in(info.annotation)
            if wanted and key in obj:
                found.append(((*node.path, key), info.annotation))
    return found


def at(payload: Any, path: Path) -> Any:
    for part in path:
        payload = payload[part]
    return payload


def wire_path(root: str, path: Path) -> str:
    return root + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)


def known_keys(model: type[CollateModel]) -> set[str]:
    return {name for name in model.model_fields} | {
        info.alias for info in model.model_fields.values() if info.alias
    }


def unknown_key(taken: set[str]) -> st.SearchStrategy[str]:
    """A key that is neither a field name nor a wire name of the model."""
    return st.text(min_size=1, max_size=12).filter(lambda key: key not in taken)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


# Extra fields ------------------------------------------------------------------------------------


@PROPERTIES
@given(case=st.sampled_from(CASES), data=st.data())
def test_an_extra_field_in_any_object_changes_nothing_the_bot_reads(
    case: Case, data: st.DataObject
) -> None:
    payload = copy.deepcopy(case.payload)
    places = [node for node in nodes(case.model, payload) if node.model is not Covers]
    for node in data.draw(st.lists(st.sampled_from(places), min_size=1, max_size=4)):
        key = data.draw(unknown_key(known_keys(node.model)))
        at(payload, node.path)[key] = data.draw(JSON)

    assert parse_response(case.model, payload, case.root) == parse_response(
        case.model, case.payload, case.root
    )


@PROPERTIES
@given(key=st.text(min_size=1, max_size=12), value=JSON)
def test_an_extra_version_in_covers_is_kept_beside_the_snapshot_id(key: str, value: Any) -> None:
    """``covers`` is the one object whose unknown keys are kept (the versions an offer covers)."""
    if key in known_keys(Covers):
        return
    payload = contract_authorization()
    payload["nextAction"]["covers"][key] = value

    authorization = parse_response(Authorization, payload, "authorization")

    assert authorization.next_action is not None
    assert authorization.next_action.covers.model_extra is not None
    assert authorization.next_action.covers.model_extra[key] == value
    assert authorization.required_review_snapshot_id == "rev_5d1"


# Missing and wrong fields ------------------------------------------------------------------------

REQUIRED = [
    pytest.param(case, path, id=wire_path(case.root, path))
    for case in CASES
    for path, _ in fields(case, required=True)
]
TYPED = [
    pytest.param(case, path, id=wire_path(case.root, path))
    for case in CASES
    for path, _ in fields(case, required=False)
]


def test_the_walk_finds_the_fields_it_should() -> None:
    ids = {param.id for param in REQUIRED}
    assert {
        "authorization.id",
        "authorization.nextAction.resolution.kind",
        "authorization.submission.reviewSnapshot.warnings[0].message",
        "page.data[1].activeManualHandoff.state",
        "grant.url",
        "close.authorization.status",
    } <= ids
    assert len(REQUIRED) > 40
    assert "authorization.payer.displayName" in {param.id for param in TYPED}


@pytest.mark.parametrize(("case", "path"), REQUIRED)
def test_removing_any_required_field_is_an_error_naming_it(case: Case, path: Path) -> None:
    payload = copy.deepcopy(case.payload)
    del at(payload, path[:-1])[path[-1]]

    with pytest.raises(CollateProtocolError) as raised:
        parse_response(case.model, payload, case.root)

    expected = wire_path(case.root, path)
    assert raised.value.field_path == expected
    assert f"missing required field {expected}" in str(raised.value)


@pytest.mark.parametrize(("case", "path"), TYPED)
def test_a_value_of_the_wrong_type_anywhere_is_named_and_never_echoed(
    case: Case, path: Path
) -> None:
    payload = copy.deepcopy(case.payload)
    at(payload, path[:-1])[path[-1]] = {"patient": "Jane Patient"}

    with pytest.raises(CollateProtocolError) as raised:
        parse_response(case.model, payload, case.root)

    expected = wire_path(case.root, path)
    assert raised.value.field_path == expected
    assert f"invalid field {expected}" in str(raised.value)
    assert "Jane Patient" not in str(raised.value)
    assert "Jane Patient" not in repr(raised.value)
