"""Keep live secrets out of every log line, whoever wrote it and whichever handler prints it.

The bot's own log calls carry ids only (``bot.logs``), but at DEBUG ``slack_sdk`` writes every
request body (a DM's grant URL among them) and ``slack_bolt`` writes bodies too
(slack-platform §10). This module is the last line of defence for when someone turns them on:
a registry, in process memory, of what must never be printed, and a rewrite of every log record
that replaces any of it with ``[redacted]``.

What is registered:

- **Configuration secrets** (the Slack tokens, the signing secret, the Collate key), once, when
  the bot is built (``remember_settings``). They are kept as they are: ``Settings`` holds them
  for the life of the process anyway.
- **Grant URLs**, each the moment it is minted, until shortly after it expires
  (``remember_grant_url``). A grant URL is a bearer capability that may stay in memory only for
  as long as delivery takes (contract §9), so the registry never holds the URL itself: it keeps
  a hash keyed with a random per-process key, and finds the URL in a text by hashing what
  follows each ``http`` there. Percent-encoded forms (as in form bodies) are registered too.

How records are rewritten: a ``logging`` record factory (``install``), not a ``logging.Filter``.
A filter protects only the handlers it was attached to when it was attached, while handlers come
and go: pytest adds its capture handlers for each test, a developer's ``basicConfig`` adds
another, ``logging.lastResort`` prints when there is none. Filters on loggers do not see records
that propagate from child loggers. The factory sees every record any logger makes, before any
handler does, so every handler, present or future, gets the redacted text: the message (with its
``%`` arguments applied), the traceback and the stack. The one thing it cannot see is ``extra``,
which ``logging`` attaches after the factory returns; ``bot.logs.EventFormatter`` therefore
redacts its whole finished line as well.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import SecretStr

from bot.settings import Settings

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"

MIN_SECRET_LENGTH = 8
"""Shorter values are not registered: redacting them would shred ordinary words in every line,
and a secret that short protects nothing anyway."""

GRACE_SECONDS = 600.0
"""How long a grant URL stays registered after its ``expiresAt``: covers clock skew between
Collate and this host, and records formatted a little late."""

MAX_GRANT_SECONDS = 86_400.0
"""An upper bound on any one grant's registration, whatever ``expiresAt`` Collate sent."""

_URL_START = "http"

clock: Callable[[], float] = time.time
"""Wall-clock seconds, as ``expiresAt`` is; replaceable in tests."""

RecordFactory = Callable[..., logging.LogRecord]


@dataclass(frozen=True)
class _Snapshot:
    """What redaction reads: immutable, swapped whole on every change (no lock on the log path)."""

    plain: tuple[str, ...] = ()
    """Secrets kept as they are, and their encoded forms, longest first."""
    hashed_lengths: tuple[int, ...] = ()
    hashed: frozenset[bytes] = frozenset()
    """Keyed hashes of grant URLs and their encoded forms."""

    @property
    def empty(self) -> bool:
        return not self.plain and not self.hashed


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)
        self._plain: dict[str, float] = {}
        """Secret (or an encoded form) → when to forget it."""
        self._hashed: dict[bytes, tuple[int, float]] = {}
        """Keyed hash of a grant URL (or an encoded form) → (its length, when to forget it)."""
        self._next_expiry = math.inf
        self.snapshot = _Snapshot()

    def digest(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode(), key=self._key, digest_size=16).digest()

    def add(self, secret: str, *, until: float, hashed: bool) -> bool:
        if len(secret) < MIN_SECRET_LENGTH:
            return False
        with self._lock:
            for form in _encoded_forms(secret):
                if hashed:
                    self._hashed[self.digest(form)] = (len(form), until)
                else:
                    self._plain[form] = max(until, self._plain.get(form, until))
            self._publish()
        return True

    def discard(self, secret: str) -> None:
        with self._lock:
            for form in _encoded_forms(secret):
                self._plain.pop(form, None)
                self._hashed.pop(self.digest(form), None)
            self._publish()

    def current(self, now: float) -> _Snapshot:
        if now >= self._next_expiry:
            with self._lock:
                self._plain = {form: until for form, until in self._plain.items() if until > now}
                self._hashed = {
                    digest: entry for digest, entry in self._hashed.items() if entry[1] > now
                }
                self._publish()
        return self.snapshot

    def _publish(self) -> None:
        expiries = [*self._plain.values(), *(until for _, until in self._hashed.values())]
        self._next_expiry = min(expiries, default=math.inf)
        self.snapshot = _Snapshot(
            plain=tuple(sorted(self._plain, key=len, reverse=True)),
            hashed_lengths=tuple(sorted({length for length, _ in self._hashed.values()})),
            hashed=frozenset(self._hashed),
        )


def _encoded_forms(secret: str) -> set[str]:
    """The secret as a log may write it: as is, percent-encoded, JSON-escaped."""
    return {secret, quote(secret, safe=""), quote_plus(secret), secret.replace("/", "\\/")}


_registry = _Registry()
_install_lock = threading.Lock()


# Registering -----------------------------------------------------------------------------------


def remember_secret(secret: str) -> bool:
    """Never print ``secret`` in any log line from now on (for the life of the process).

    ``False`` when it is too short to be redacted safely (``MIN_SECRET_LENGTH``).
    """
    install()
    return _registry.add(secret, until=math.inf, hashed=False)


def remember_settings(settings: Settings) -> None:
    """Register every ``SecretStr`` setting: the Slack tokens, the signing secret, the API key."""
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and not remember_secret(value.get_secret_value()):
            logger.warning("redaction.secret_too_short", extra={"setting": name.upper()})


def remember_grant_url(url: str, *, until: datetime | float) -> None:
    """Never print this grant URL until a little after ``until`` (its ``expiresAt``).

    Only a keyed hash of it is kept, so the registry is no copy of the capability. A URL that
    does not start with ``http`` cannot be found that way and is kept as it is instead.
    """
    install()
    expires = until.timestamp() if isinstance(until, datetime) else float(until)
    now = clock()
    forget_at = min(max(expires, now), now + MAX_GRANT_SECONDS) + GRACE_SECONDS
    _registry.add(url, until=forget_at, hashed=url.startswith(_URL_START))


def forget(secret: str) -> None:
    """Stop redacting ``secret`` (a rotated token, a revoked grant)."""
    _registry.discard(secret)


# Redacting -------------------------------------------------------------------------------------


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``[redacted]``."""
    snapshot = _registry.current(clock())
    if snapshot.empty:
        return text
    for secret in snapshot.plain:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if snapshot.hashed:
        text = _redact_hashed(text, snapshot)
    return text


def _redact_hashed(text: str, snapshot: _Snapshot) -> str:
    pieces: list[str] = []
    done = 0
    start = text.find(_URL_START)
    while start != -1:
        length = _registered_length_at(text, start, snapshot)
        if length:
            pieces += [text[done:start], REDACTED]
            done = start + length
            start = text.find(_URL_START, done)
        else:
            start = text.find(_URL_START, start + 1)
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _registered_length_at(text: str, start: int, snapshot: _Snapshot) -> int:
    for length in reversed(snapshot.hashed_lengths):
        candidate = text[start : start + length]
        if len(candidate) == length and _registry.digest(candidate) in snapshot.hashed:
            return length
    return 0


# The record factory ----------------------------------------------------------------------------


def install() -> None:
    """Make every log record pass through the redaction (idempotent)."""
    with _install_lock:
        current = logging.getLogRecordFactory()
        if getattr(current, "redacts", False):
            return
        logging.setLogRecordFactory(_redacting_factory(current))


def _redacting_factory(previous: RecordFactory) -> RecordFactory:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        scrub(record)
        return record

    make_record.redacts = True  # type: ignore[attr-defined]
    return make_record


def scrub(record: logging.LogRecord) -> None:
    """Rewrite ``record`` in place so that no registered secret is in its text."""
    if _registry.current(clock()).empty:
        return
    message = _message_of(record)
    redacted = redact(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_info and record.exc_info[0] is not None:
        shown = record.exc_text or _traceback_text(record.exc_info)
        record.exc_text = redact(shown)
        if record.exc_text != shown:
            # No formatter may render the raw exception again: only the redacted text is left.
            record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _traceback_text(exc_info: Any) -> str:
    """The traceback as ``logging.Formatter.formatException`` writes it."""
    return "".join(traceback.format_exception(*exc_info)).removesuffix("\n")


def _message_of(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a malformed log call: keep what it said, never let it leak or fail
        record.msg, record.args = f"{record.msg!s} {record.args!r}", None
        return str(record.msg)
