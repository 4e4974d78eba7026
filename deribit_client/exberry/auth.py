"""Exberry session signatures (REFERENCE section 4)."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["session_signature"]


def session_signature(secret: str, api_key: str, timestamp: int | str) -> str:
    """Lowercase hex HMAC-SHA256, keyed with the API secret, over the literal text
    ``"apiKey":"<apiKey>","timestamp":"<timestamp>"`` (quotes, colon and comma, no braces
    or spaces; the timestamp is quoted even when sent as a number)."""
    text = f'"apiKey":"{api_key}","timestamp":"{timestamp}"'
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
