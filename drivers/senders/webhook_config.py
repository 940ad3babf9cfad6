"""Options of the `webhook` sender: a JSON POST to an HTTP endpoint the site runs."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AnyHttpUrl, Field, SecretStr

from drivers.base import ReadableFile
from drivers.senders.cloud_config import CloudSenderConfig

_HEADER = r"^[A-Za-z0-9-]{1,64}$"


class WebhookConfig(CloudSenderConfig):
    """The receiver gets `{"message_id", "to", "body", "attempt", "site", "created_at"}`.

    `secret` is the shared HMAC-SHA256 key: the signature header carries
    `sha256=<hex of HMAC(secret, raw body)>`. The idempotency header carries the
    message id, the same for every retry of one text, so the receiver can dedupe.
    """

    type: Literal["webhook"] = "webhook"
    url: AnyHttpUrl
    secret: SecretStr | None = None
    secret_file: ReadableFile | None = None
    signature_header: str = Field(default="X-Ringback-Signature", pattern=_HEADER)
    idempotency_header: str = Field(default="Idempotency-Key", pattern=_HEADER)

    secret_fields: ClassVar[tuple[str, ...]] = ("secret",)
    required_secrets: ClassVar[tuple[str, ...]] = ("secret",)
