"""Options every cloud (HTTP) sender shares: timeouts, in-call retries, chain tuning.

Light module (pydantic only): the SENDERS table imports the config models eagerly.
`rate_per_minute`, `breaker_failures` and `breaker_cooldown_seconds` are read by the
sender chain (agent/send/chain.py) through the sender object, not by the sender itself.
"""

from __future__ import annotations

from pydantic import Field

from drivers.base import DriverConfig


class CloudSenderConfig(DriverConfig):
    """Shared options of `twilio` and `webhook` (not a driver by itself)."""

    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    read_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # In-call retries stay short: the long retry schedule lives in the store.
    retry_attempts: int = Field(default=2, ge=1, le=5)
    retry_max_wait_seconds: float = Field(default=2.0, ge=0, le=30)
    # Chain tuning (agent/send/chain.py reads these through the sender).
    rate_per_minute: int | None = Field(default=None, ge=1, le=6000)
    breaker_failures: int = Field(default=3, ge=1, le=100)
    breaker_cooldown_seconds: float = Field(default=120.0, gt=0, le=86400)
