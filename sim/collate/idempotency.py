"""Idempotency-Key handling as §7 describes it for the simulator."""

from __future__ import annotations

from dataclasses import dataclass

from sim.collate.errors import conflict

IdempotencyScope = tuple[str, str, str]


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status: int
    body: str


class IdempotencyStore:
    """First 2xx response per method + path + key; replayed for the same body only."""

    def __init__(self) -> None:
        self._responses: dict[IdempotencyScope, StoredResponse] = {}

    def replay(self, scope: IdempotencyScope, fingerprint: str) -> StoredResponse | None:
        stored = self._responses.get(scope)
        if stored is None:
            return None
        if stored.fingerprint != fingerprint:
            raise conflict(
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different body.",
            )
        return stored

    def remember(self, scope: IdempotencyScope, fingerprint: str, status: int, body: str) -> None:
        if 200 <= status < 300:
            self._responses.setdefault(scope, StoredResponse(fingerprint, status, body))
