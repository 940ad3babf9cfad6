"""How staff are told: the `smtp:` section and the channels a department notifies.

A channel is one of
- `email`: `to` (addresses), through the site's `smtp:` server;
- `webhook`: `url` and `format` (`teams` for a Teams Workflows webhook, `slack`,
  `google_chat`, or `json`: ringback's own JSON, signed with `secret`: HMAC-SHA256
  over "<timestamp>.<body>" in `X-Ringback-Signature: sha256=<hex>`, the timestamp in
  `X-Ringback-Timestamp`);
- `sms`: `to` (an E.164 number), texted through the sender chain.

Secrets (`smtp.password`, a webhook's `secret`) come from the YAML, a `_file`, the
environment or the credentials directory like every secret (`smtp.password`,
`webhook-<n>.secret` — see `read_secret`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from agent.config.alerts import e164_number, email_address, http_url
from drivers.base import ReadableFile, read_secret


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


EmailAddress = Annotated[str, AfterValidator(email_address)]


class SmtpConfig(_Section):
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    # starttls: port 587 submission; tls: implicit TLS (port 465); none: a local relay.
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_file: ReadableFile | None = None
    from_address: EmailAddress
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # A certificate authority file for a server with a private CA (tests, in-house relays).
    ca_file: Path | None = None

    def secret(self) -> SecretStr | None:
        return read_secret("smtp", "password", self.password, self.password_file)

    @model_validator(mode="after")
    def _login_complete(self) -> Self:
        if self.username and self.secret() is None:
            raise ValueError(
                "smtp.username is set but no password (set password or password_file, the "
                "environment variable RINGBACK_SMTP_PASSWORD or the credential smtp.password)"
            )
        return self


class EmailChannel(_Section):
    type: Literal["email"]
    to: list[EmailAddress] = Field(min_length=1)


class WebhookChannel(_Section):
    type: Literal["webhook"]
    url: Annotated[str, AfterValidator(http_url)]
    format: Literal["teams", "slack", "google_chat", "json"] = "json"
    secret: SecretStr | None = None
    secret_file: ReadableFile | None = None

    def signing_key(self) -> SecretStr | None:
        if self.secret_file is not None:
            return SecretStr(self.secret_file.read_text(encoding="utf-8").rstrip("\r\n"))
        return self.secret


class SmsChannel(_Section):
    type: Literal["sms"]
    to: Annotated[str, AfterValidator(e164_number)]


Channel = Annotated[EmailChannel | WebhookChannel | SmsChannel, Field(discriminator="type")]
