"""The close modals: complete, unable to complete, revoke.

Slack does not allow PHI in views, so a modal carries titles, labels, enum choices and ids only:
no case reference, payer or summary. ``private_metadata`` is the ``ActionRef`` (ids only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from blocks import forms, texts
from blocks.ids import ActionRef, CallbackId
from blocks.kit import Block, context, option, plain_text, section

View = dict[str, Any]


def complete_modal(ref: ActionRef) -> View:
    outcomes = _options(
        forms.ReportedOutcome, texts.REPORTED_OUTCOME_WORDS, texts.REPORTED_OUTCOME_HINTS
    )
    blocks = [
        section(texts.COMPLETE_INTRO),
        _radio(
            forms.COMPLETE_OUTCOME_BLOCK,
            forms.COMPLETE_OUTCOME_ACTION,
            texts.OUTCOME_LABEL,
            outcomes,
        ),
        _text(
            forms.COMPLETE_REFERENCE_BLOCK,
            forms.COMPLETE_REFERENCE_ACTION,
            texts.REFERENCE_LABEL,
            hint=texts.REFERENCE_HINT,
            max_length=forms.REFERENCE_MAX,
        ),
        _notes(forms.COMPLETE_NOTES_BLOCK, forms.COMPLETE_NOTES_ACTION, texts.NOTES_HINT),
        *_ids(ref),
    ]
    return _modal(CallbackId.COMPLETE, texts.COMPLETE_TITLE, texts.COMPLETE_SUBMIT, ref, blocks)


def unable_modal(ref: ActionRef) -> View:
    hints = {forms.UnableReason.OTHER.value: texts.OTHER_DESCRIPTION}
    reasons = _options(forms.UnableReason, texts.UNABLE_REASON_WORDS, hints)
    blocks = [
        section(texts.UNABLE_INTRO),
        _radio(
            forms.UNABLE_REASON_BLOCK,
            forms.UNABLE_REASON_ACTION,
            texts.UNABLE_REASON_LABEL,
            reasons,
        ),
        _notes(forms.UNABLE_NOTES_BLOCK, forms.UNABLE_NOTES_ACTION, texts.UNABLE_NOTES_HINT),
        *_ids(ref),
    ]
    return _modal(CallbackId.UNABLE, texts.UNABLE_TITLE, texts.UNABLE_SUBMIT, ref, blocks)


def revoke_modal(ref: ActionRef) -> View:
    reasons = _options(forms.RevokeReason, texts.REVOKE_REASON_WORDS, {})
    blocks = [
        section(texts.REVOKE_INTRO),
        _radio(
            forms.REVOKE_REASON_BLOCK,
            forms.REVOKE_REASON_ACTION,
            texts.REVOKE_REASON_LABEL,
            reasons,
        ),
        _text(
            forms.REVOKE_OTHER_BLOCK,
            forms.REVOKE_OTHER_ACTION,
            texts.OTHER_REASON_LABEL,
            hint=texts.OTHER_REASON_HINT,
            max_length=forms.OTHER_REASON_MAX,
        ),
        _notes(forms.REVOKE_NOTES_BLOCK, forms.REVOKE_NOTES_ACTION, texts.NOTES_HINT),
        *_ids(ref),
    ]
    return _modal(CallbackId.REVOKE, texts.REVOKE_TITLE, texts.REVOKE_SUBMIT, ref, blocks)


def _modal(
    callback_id: CallbackId, title: str, submit: str, ref: ActionRef, blocks: list[Block]
) -> View:
    return {
        "type": "modal",
        "callback_id": callback_id.value,
        "private_metadata": ref.encode(),
        "title": plain_text(title),
        "submit": plain_text(submit),
        "close": plain_text(texts.MODAL_CLOSE),
        "blocks": blocks,
    }


def _options(
    choices: Iterable[str], words: Mapping[str, str], hints: Mapping[str, str]
) -> list[dict[str, Any]]:
    return [option(texts.sentence(words[choice]), choice, hints.get(choice)) for choice in choices]


def _radio(block_id: str, action_id: str, label: str, options: list[dict[str, Any]]) -> Block:
    element = {"type": "radio_buttons", "action_id": action_id, "options": options}
    return {"type": "input", "block_id": block_id, "label": plain_text(label), "element": element}


def _text(
    block_id: str,
    action_id: str,
    label: str,
    *,
    hint: str,
    max_length: int,
    multiline: bool = False,
) -> Block:
    element = {
        "type": "plain_text_input",
        "action_id": action_id,
        "max_length": max_length,
        "multiline": multiline,
    }
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain_text(label),
        "hint": plain_text(hint),
        "optional": True,
        "element": element,
    }


def _notes(block_id: str, action_id: str, hint: str) -> Block:
    return _text(
        block_id,
        action_id,
        texts.NOTES_LABEL,
        hint=hint,
        max_length=forms.NOTES_MAX,
        multiline=True,
    )


def _ids(ref: ActionRef) -> list[Block]:
    return context(texts.modal_ids(ref.authorization_id, ref.handoff_id))
