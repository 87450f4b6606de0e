"""``collate-handoff-bot demo`` tells the whole story, with no credentials and no Redis."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_demo_prints_the_whole_handoff() -> None:
    env = {"PATH": os.environ["PATH"]}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    story = result.stdout
    for step in (
        "Payer portal needs a person · CASE-2291",
        "already accepted this handoff",
        "Your payer session for CASE-2291",
        "[ Open payer session ↗ ]",
        "Collate is reconciling",
        "its link has been removed",
        "Approved · CASE-2291",
        "Operator's report (not the payer's answer)",
    ):
        assert step in story, f"the demo never showed {step!r}"
    assert "/runtime/access/" not in story, "the demo must not print the grant URL"
    assert result.stderr == ""
