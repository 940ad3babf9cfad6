"""A department's hand-off to the dealership's CRM (`departments.<name>.crm`).

- `adf_email`: the CRM's lead intake address. Each new case is e-mailed there as an
  ADF 1.0 (Auto-lead Data Format) XML lead, the whole body of a text/plain message,
  through the site's `smtp:` server (required then).
- `webhook`: `url`, and `secret` or `secret_file`: ringback's signed JSON
  (`X-Ringback-Timestamp`, `X-Ringback-Signature: sha256=<hex HMAC-SHA256 of
  "<timestamp>.<body>">`, as the staff webhooks) for each event of a case: opened,
  replied, reached, closed.
- `vendor_name`: the dealership as the CRM knows it (default: `site.name`).
- `retry_seconds`: the wait after a first failed hand-off, doubling up to an hour;
  given up after a day. Deliveries are rows of the store (`case_notifications`,
  targets `crm:adf` and `crm:webhook`), retried across restarts.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from agent.config.alerts import email_address, http_url
from drivers.base import ReadableFile


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CrmWebhook(_Section):
    url: Annotated[str, AfterValidator(http_url)]
    secret: SecretStr | None = None
    secret_file: ReadableFile | None = None

    def signing_key(self) -> SecretStr | None:
        if self.secret_file is not None:
            return SecretStr(self.secret_file.read_text(encoding="utf-8").rstrip("\r\n"))
        return self.secret

    @model_validator(mode="after")
    def _signed(self) -> Self:
        if self.secret is None and self.secret_file is None:
            raise ValueError(
                "a CRM webhook must be signed (expected secret or secret_file: the CRM "
                "checks X-Ringback-Signature with it)"
            )
        return self


class CrmConfig(_Section):
    adf_email: Annotated[str, AfterValidator(email_address)] | None = None
    webhook: CrmWebhook | None = None
    vendor_name: str | None = Field(default=None, min_length=1, max_length=200)
    retry_seconds: float = Field(default=60.0, ge=1, le=3600)

    @model_validator(mode="after")
    def _somewhere(self) -> Self:
        if self.adf_email is None and self.webhook is None:
            raise ValueError("crm: says where to hand off (expected adf_email and/or webhook)")
        return self
