"""Opaque random ids with the prefixes the contract's examples use (§1)."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"
