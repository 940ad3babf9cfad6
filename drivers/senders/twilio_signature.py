"""`X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the auth token, over the URL
Twilio called followed by each POST parameter's name and value, names sorted.

The URL is the public one configured at Twilio (`webhook_url`), not the address the
relay reached us at: Twilio signed what it called."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid(url: str, params: Mapping[str, str], auth_token: str, given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(signature(url, params, auth_token), given.strip())
