"""Flatten a review snapshot's ``summary`` into label/value pairs (contract D10).

The summary is an arbitrary JSON object and may carry patient data, so the channel card shows
only the pairs an allow-list names; the reviewer's private DM shows them all.

Paths, the syntax of the allow-list: dot-separated object keys, with list positions as 0-based
decimal segments. ``{"service": {"code": "72148"}}`` has the path ``service.code``; the ``type``
of the first item of ``documents`` is ``documents.0.type``. An allow-list entry admits the pair
at exactly that path and every pair under it (``service`` admits ``service.code``). Segments are
compared whole, so a key that itself contains a dot never matches a nested path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from blocks import texts
from blocks.escape import cap, one_line

MAX_PAIRS = 20
VALUE_MAX = texts.SUMMARY_VALUE_MAX
LABEL_MAX = texts.SUMMARY_LABEL_MAX
LABEL_SEPARATOR = " › "

SAFE_SUMMARY_FIELDS = frozenset({"service.code", "channel", "documents"})
"""The recommended default allow-list: the service code (already on the card), the payer
channel kind and the document count. Exact leaf paths rather than ``service``, so a key Collate
adds later (or ``service.label``, free text) stays off the card until someone decides it is safe.
"""

Segment = str | int

_CAMEL_HUMP = re.compile(r"(?<=[^\W_])(?=[A-Z][a-z])|(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[_\-\s]+")


@dataclass(frozen=True)
class SummaryPair:
    """One flattened leaf: its path, and its label and value in plain words (not escaped)."""

    path: tuple[Segment, ...]
    label: str
    value: str

    @property
    def dotted_path(self) -> str:
        return ".".join(str(segment) for segment in self.path)


@dataclass(frozen=True)
class SummaryPairs:
    """The pairs to show, at most ``MAX_PAIRS``, and how many more there were."""

    pairs: tuple[SummaryPair, ...]
    more: int = 0


def all_summary_pairs(summary: Mapping[str, Any]) -> SummaryPairs:
    """Every pair of the summary, for the reviewer's private DM."""
    return _first_pairs(_leaves(summary))


def allowed_summary_pairs(summary: Mapping[str, Any], allowed: frozenset[str]) -> SummaryPairs:
    """Only the pairs whose path is an allow-listed path or lies under one."""
    prefixes = [tuple(entry.split(".")) for entry in allowed]
    admitted = ((path, value) for path, value in _leaves(summary) if _is_admitted(path, prefixes))
    return _first_pairs(admitted)


def _is_admitted(path: tuple[Segment, ...], prefixes: list[tuple[str, ...]]) -> bool:
    words = tuple(str(segment) for segment in path)
    return any(words[: len(prefix)] == prefix for prefix in prefixes)


def _first_pairs(leaves: Iterator[tuple[tuple[Segment, ...], Any]]) -> SummaryPairs:
    shown: list[SummaryPair] = []
    more = 0
    for path, value in leaves:
        if len(shown) < MAX_PAIRS:
            shown.append(SummaryPair(path, _label(path), _value(value)))
        else:
            more += 1
    return SummaryPairs(tuple(shown), more)


def _leaves(summary: Mapping[str, Any]) -> Iterator[tuple[tuple[Segment, ...], Any]]:
    """Every non-null scalar with its path, depth first, in the summary's own order."""
    pending: list[tuple[tuple[Segment, ...], Any]] = [((), summary)]
    while pending:
        path, node = pending.pop()
        if isinstance(node, Mapping):
            children = [((*path, str(key)), child) for key, child in node.items()]
        elif isinstance(node, list | tuple):
            children = [((*path, index), child) for index, child in enumerate(node)]
        else:
            if node is not None:
                yield path, node
            continue
        pending.extend(reversed(children))


def _label(path: tuple[Segment, ...]) -> str:
    """``("a", "b", 0, "c")`` → ``A › B 1 › C``: a list position joins its key, counted from 1."""
    parts: list[str] = []
    for segment in path:
        if isinstance(segment, int) and parts:
            parts[-1] += f" {segment + 1}"
        else:
            parts.append(str(segment + 1) if isinstance(segment, int) else _words(segment))
    return cap(LABEL_SEPARATOR.join(parts), LABEL_MAX)


def _words(key: str) -> str:
    """``dateOfBirth`` → ``Date of birth``, ``member_id`` → ``Member id``; acronyms kept."""
    spaced = _SEPARATORS.sub(" ", _CAMEL_HUMP.sub(" ", key))
    words = [word if word.isupper() else word.lower() for word in spaced.split()]
    if not words:
        return texts.UNNAMED_FIELD
    first = words[0]
    words[0] = first[:1].upper() + first[1:]
    return " ".join(words)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return texts.YES if value else texts.NO
    text = one_line(str(value))
    return cap(text, VALUE_MAX) if text else texts.EMPTY_VALUE
