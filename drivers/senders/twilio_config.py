"""Options of the `twilio` sender (Twilio Programmable Messaging, REST API 2010-04-01)."""

from __future__ import annotations

import re
from typing import ClassVar, Literal, Self

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator

from drivers.base import ReadableFile, e164_problem
from drivers.senders.cloud_config import CloudSenderConfig

E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
TWILIO_BASE_URL = "https://api.twilio.com"


class TwilioConfig(CloudSenderConfig):
    """`from` (an E.164 number of the account) or `messaging_service_sid`, exactly one.

    `validity_period_seconds` is sent as `ValidityPeriod`: Twilio drops a text still
    queued after that long, so a stale "we missed your call" never arrives hours late.
    `reconcile_lookback_seconds` bounds how far back an earlier, ambiguous attempt is
    looked up (by `To` and body) before a text is sent again.

    Two-way without a public URL: every `poll_interval_seconds` (0: never) the
    Messages list is read from a persisted high-water mark minus
    `poll_overlap_seconds` (late entries are not missed; SIDs already handled are
    skipped), at most `poll_max_pages` pages a round: replies to our number and the
    delivery states of what we sent. `webhook_url` is the public URL Twilio posts
    its status callbacks and inbound messages to (a relay to the status API's
    `/hooks/twilio/<sender name>`); `X-Twilio-Signature` is checked against it, and
    texts are created with it as `StatusCallback` unless `status_callback` is set.
    """

    type: Literal["twilio"] = "twilio"
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr | None = None
    auth_token_file: ReadableFile | None = None
    from_: str | None = Field(default=None, alias="from")
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    base_url: AnyHttpUrl = AnyHttpUrl(TWILIO_BASE_URL)
    validity_period_seconds: int = Field(default=900, ge=1, le=36000)
    status_callback: AnyHttpUrl | None = None
    reconcile_lookback_seconds: float = Field(default=21600.0, ge=60, le=7 * 86400)
    poll_interval_seconds: float = Field(default=60.0, ge=0, le=3600)
    poll_overlap_seconds: float = Field(default=300.0, ge=0, le=86400)
    poll_max_pages: int = Field(default=20, ge=1, le=1000)
    webhook_url: AnyHttpUrl | None = None

    secret_fields: ClassVar[tuple[str, ...]] = ("auth_token",)
    required_secrets: ClassVar[tuple[str, ...]] = ("auth_token",)

    @field_validator("from_")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        problem = None if value is None else e164_problem(value)
        if problem:
            raise ValueError(f"{problem}; it must be a number of the Twilio account")
        return value

    @model_validator(mode="after")
    def _one_sender_id(self) -> Self:
        if (self.from_ is None) == (self.messaging_service_sid is None):
            raise ValueError(
                "set exactly one of 'from' (an E.164 number of the Twilio account) "
                "or 'messaging_service_sid' (MG...)"
            )
        return self
