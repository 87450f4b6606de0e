"""Make text from Collate or from people safe for Slack, and keep it within Block Kit limits.

Anything that did not come from this module's callers' own string literals goes through here
before it reaches a message: ``&``, ``<`` and ``>`` become entities, so nobody can inject a
``<!channel>``, a ``<@U…>`` mention or a ``<https://…|link>``; a bare ``@channel``, ``@here`` or
``@everyone`` gets an invisible word joiner so Slack never reads it as a broadcast. Over-long
text is cut with a visible "…", never left for Slack to reject.

NOTE: Slack's escaping rules: https://docs.slack.dev/messaging/formatting-message-text
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

ELLIPSIS = "…"
WORD_JOINER = "\u2060"

_BROADCAST = re.compile(r"@(?=(channel|here|everyone))", re.IGNORECASE)
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
_SAFE_URL = re.compile(r"https?://[^\s<>|]+")
_OPEN_ENTITY = re.compile(r"&[a-z]*$")
_OPEN_ANGLE = re.compile(r"<[^>]*$")

UNKNOWN_PERSON = "someone"


def one_line(raw: str) -> str:
    """Collapse every run of whitespace (newlines included) into one space."""
    return " ".join(raw.split())


def escape(raw: str) -> str:
    """Escape outside text for mrkdwn: entities for ``& < >``, broadcasts neutralised."""
    escaped = raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + WORD_JOINER, escaped)


def mrkdwn(raw: str, limit: int) -> str:
    """Outside text as one escaped line of at most ``limit`` characters (after escaping)."""
    return cap_rendered(escape(one_line(raw)), limit)


def plain(raw: str, limit: int) -> str:
    """Outside text for a ``plain_text`` object (not parsed by Slack): one line, capped."""
    return cap(one_line(raw), limit)


def cap(text: str, limit: int) -> str:
    """``text`` if it fits, else its start and "…", exactly ``limit`` characters long."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)] + ELLIPSIS


def cap_rendered(text: str, limit: int) -> str:
    """Cap mrkdwn without cutting an entity (``&amp;``) or a ``<…>`` token in half."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS)]
    head = _OPEN_ENTITY.sub("", head)
    head = _OPEN_ANGLE.sub("", head)
    return head + ELLIPSIS


def mention(user_id: str | None) -> str:
    """A ``<@U…>`` mention for a well-formed Slack user id; anything else is never a mention."""
    if user_id is not None and _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return UNKNOWN_PERSON


def link(url: str | None, label: str) -> str:
    """``<url|label>`` for a plain http(s) URL, else just the label (escaped either way)."""
    text = mrkdwn(label, 200)
    if url is None or not _SAFE_URL.fullmatch(url) or len(url) > 2000:
        return text
    return f"<{url}|{text}>"


def slack_date(moment: datetime, token: str) -> str:
    """A date Slack renders in each reader's own timezone, with a UTC fallback.

    ``token`` is Slack's date format, e.g. ``{time}`` or ``{ago}``.
    NOTE: https://docs.slack.dev/messaging/formatting-message-text#date-formatting
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{token}|{fallback}>"
