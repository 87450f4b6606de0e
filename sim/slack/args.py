"""Web API arguments as slack_sdk sends them: query string, form body or JSON body, merged."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sim.slack.contract import invalid_arguments

_JSON_ARGS = ("blocks", "view", "attachments", "metadata")


async def read_args(request: web.Request) -> dict[str, Any]:
    """Every argument of one call, with JSON-in-a-string values (``blocks``, ``view``) decoded."""
    values: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise invalid_arguments("the body is not valid JSON") from None
            if not isinstance(body, dict):
                raise invalid_arguments("the JSON body must be an object")
            values.update(body)
        else:
            values.update((await request.post()).items())
    return {name: _decode(name, value) for name, value in values.items()}


def _decode(name: str, value: Any) -> Any:
    if name in _JSON_ARGS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class Args:
    """Typed access to one call's arguments; form values arrive as strings, JSON ones typed."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def present(self, name: str) -> bool:
        return self.values.get(name) is not None

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise invalid_arguments(f"missing required field: {name}")
        return value

    def flag(self, name: str) -> bool | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in {"1", "true", "yes"}

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def user_list(self, name: str) -> list[str]:
        value = self.values.get(name)
        if value is None:
            return []
        if isinstance(value, list):
            return [str(item) for item in value]
        return [item.strip() for item in str(value).split(",") if item.strip()]
