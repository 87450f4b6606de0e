"""``python -m tests.faults.loopback_bot run``: the bot's own ``run`` command, listening on
127.0.0.1 only.

``collate-handoff-bot run`` listens on every interface (a container's port is reached from
outside), and fault tests must stay on loopback; the CLI has no setting for the address, so this
changes only the default host of ``Runtime.start`` and then runs the real CLI, unchanged.
"""

from __future__ import annotations

import sys

from bot.app import Runtime
from bot.cli import main


def _listen_on_loopback() -> None:
    defaults = dict(Runtime.start.__kwdefaults__ or {})
    defaults["host"] = "127.0.0.1"
    Runtime.start.__kwdefaults__ = defaults


if __name__ == "__main__":
    _listen_on_loopback()
    sys.exit(main())
