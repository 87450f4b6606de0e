"""Logging for operators: one line per event, an allow-list of ids, nothing else.

Log records carry an event name (``handoff.accepted``) and ids in ``extra``. Only the allow-listed
fields below are printed, so a careless ``extra`` can never put a body, a grant URL or a token on
a log line. The Slack SDK, Bolt and httpx loggers log bodies and full URLs at DEBUG/INFO, so they
stay at WARNING whatever ``LOG_LEVEL`` says (contract §9, slack-platform §10). Should anyone turn
them up anyway, ``bot.redaction`` still takes every registered secret out of every record, and
the formatter redacts its finished line too (``extra`` values included).
"""

from __future__ import annotations

import logging
import sys

from bot import redaction

PRINTED_FIELDS = (
    "authorization_id",
    "handoff_id",
    "version",
    "phase",
    "status",
    "result",
    "team",
    "enterprise",
    "channel",
    "user",
    "action_id",
    "event_id",
    "request_id",
    "error_code",
    "error",
    "refusal",
    "reference",
    "method",
    "path",
    "http_status",
    "attempt",
    "delay_seconds",
    "offers_seen",
    "cards_posted",
    "followed",
    "mode",
    "port",
    "setting",
)
CHATTY_LIBRARIES = ("slack_sdk", "slack_bolt", "httpx", "httpcore", "aiohttp.access")


class EventFormatter(logging.Formatter):
    """``time level logger event key=value ...`` with only allow-listed keys."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            record.levelname,
            record.name,
            record.getMessage(),
        ]
        for name in PRINTED_FIELDS:
            value = record.__dict__.get(name)
            if value is not None and value != "":
                parts.append(f"{name}={value}")
        line = " ".join(parts)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return redaction.redact(line)


def configure(level: str) -> None:
    """Set up the root logger once, for the running process (never at import)."""
    redaction.install()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EventFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()


def quiet_libraries() -> None:
    """Keep the loggers that write request bodies and full URLs at WARNING."""
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
