"""Signing requests the way Slack does (v0 HMAC-SHA256 over ``v0:<timestamp>:<raw body>``)."""

from __future__ import annotations

import time

from slack_sdk.signature import SignatureVerifier


class Signer:
    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)

    def sign_headers(self, body: bytes | str, timestamp: int | str | None = None) -> dict[str, str]:
        """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` for ``body``.

        The timestamp defaults to the real time now (not the simulator's clock), because the bot
        checks it against its own clock.
        """
        stamp = str(int(time.time())) if timestamp is None else str(timestamp)
        signature = self._verifier.generate_signature(timestamp=stamp, body=body)
        if signature is None:
            raise ValueError("cannot sign without a timestamp")
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
