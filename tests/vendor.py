"""Where the third-party Slack data in ``../shared/vendor`` lives, and how tests load it.

The folder is read in place and never copied into this repository. ``HANDOFF_BOT_VENDOR_DIR``
points elsewhere when set. A test that needs it and cannot find it is skipped with the path it
looked in, unless ``HANDOFF_BOT_REQUIRE_VENDOR=1`` (set by ``.ci/run``), which makes it fail.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

_DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "vendor"


def vendor_dir() -> Path:
    configured = os.environ.get("HANDOFF_BOT_VENDOR_DIR")
    path = Path(configured) if configured else _DEFAULT
    if path.is_dir():
        return path
    message = f"vendored Slack data not found at {path} (set HANDOFF_BOT_VENDOR_DIR)"
    if os.environ.get("HANDOFF_BOT_REQUIRE_VENDOR") == "1":
        pytest.fail(message)
    pytest.skip(message)


@cache
def _load(relative: str) -> Any:
    return json.loads((vendor_dir() / relative).read_text(encoding="utf-8"))


def load_json(relative: str) -> Any:
    """A fresh copy of a vendored JSON file, safe for a test to rewrite in memory."""
    return json.loads(json.dumps(_load(relative)))


def vendor_available() -> bool:
    """Whether the vendored data is there (without skipping the calling test)."""
    configured = os.environ.get("HANDOFF_BOT_VENDOR_DIR")
    return (Path(configured) if configured else _DEFAULT).is_dir()
