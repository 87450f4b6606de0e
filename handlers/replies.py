"""Running a core call for a person, and telling them privately when it did not happen."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable

from redis.exceptions import RedisError

from blocks import texts
from bot.collate import CollateApiError, CollateError
from bot.refusals import (
    AlreadyAccepted,
    CannotDm,
    ClickTooSlow,
    HandoffClosed,
    NotPermitted,
    OfferGone,
    Refusal,
    ShownLater,
    SnapshotChanged,
    StaleButton,
    TryAgainLater,
)
from bot.store import LockTimeout
from bot.surfaces import Surfaces

logger = logging.getLogger(__name__)


SLOW_WORK_SECONDS = 1.5
"""After this long, the person is told the bot is working on it (then the result follows)."""


async def run_for(
    surfaces: Surfaces, *, channel: str, user_id: str, action: str, work: Awaitable[None]
) -> bool:
    """Await ``work``; on failure tell ``user_id`` why, privately. ``True`` when it succeeded."""
    notice = asyncio.create_task(_working_on_it(surfaces, channel, user_id))
    try:
        return await _run(surfaces, channel=channel, user_id=user_id, action=action, work=work)
    finally:
        notice.cancel()


async def _working_on_it(surfaces: Surfaces, channel: str, user_id: str) -> None:
    await asyncio.sleep(SLOW_WORK_SECONDS)
    with contextlib.suppress(Exception):
        await surfaces.tell(channel, user_id, texts.working_on_it())


async def _run(
    surfaces: Surfaces, *, channel: str, user_id: str, action: str, work: Awaitable[None]
) -> bool:
    try:
        await work
    except Refusal as refusal:
        logger.info(
            "handoff.refused",
            extra={"user": user_id, "action_id": action, "refusal": type(refusal).__name__},
        )
        await surfaces.tell(channel, user_id, refusal_text(refusal))
        return False
    except CollateApiError as error:
        logger.warning(
            "collate.refused",
            extra={
                "user": user_id,
                "action_id": action,
                "error_code": error.code,
                "request_id": error.request_id,
            },
        )
        await surfaces.tell(
            channel, user_id, texts.collate_refused(error.message, error.request_id)
        )
        return False
    except (CollateError, LockTimeout, RedisError):
        logger.warning(
            "handoff.dependency_unavailable", extra={"user": user_id, "action_id": action}
        )
        await surfaces.tell(channel, user_id, texts.try_again_later())
        return False
    except Exception:
        reference = new_reference()
        logger.exception(
            "handoff.unexpected_error",
            extra={"user": user_id, "action_id": action, "reference": reference},
        )
        await surfaces.tell(channel, user_id, texts.unexpected_error(reference))
        return False
    return True


def new_reference() -> str:
    """A short id a person can quote to support; the same id is in the log line."""
    return "E-" + secrets.token_hex(3).upper()


def refusal_text(refusal: Refusal) -> str:
    match refusal:
        case NotPermitted(operators_only=True):
            return texts.only_operators()
        case NotPermitted(action=action, acceptor=acceptor, supervisors=supervisors):
            return texts.not_permitted(acceptor, action=action, supervisors=supervisors)
        case AlreadyAccepted(acceptor=acceptor):
            return texts.already_accepted(acceptor)
        case OfferGone():
            return texts.offer_gone()
        case SnapshotChanged():
            return texts.snapshot_changed()
        case HandoffClosed(result=result):
            return texts.handoff_closed(result)
        case StaleButton():
            return texts.stale_button()
        case TryAgainLater():
            return texts.try_again_later()
        case ShownLater():
            return texts.shown_later()
        case CannotDm():
            return texts.could_not_dm()
        case ClickTooSlow():
            return texts.click_again()
    return texts.try_again_later()
