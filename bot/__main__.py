"""``python -m bot``: the same as the ``collate-handoff-bot`` command."""

import sys

from bot.cli import main

sys.exit(main())
