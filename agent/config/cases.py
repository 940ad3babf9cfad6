"""The `cases:` section: how missed calls become recovery cases and when they end.

Each department's SLA is `departments.<name>.sla_minutes` (else
`cases.default_sla_minutes`), counted in that department's opening hours only. The
rules themselves are `agent.cases`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CasesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    proof_min_talk_seconds: float = Field(default=10.0, ge=0)
    expire_days: int = Field(default=14, ge=1)
    default_sla_minutes: int = Field(default=60, ge=1)
    sweep_seconds: float = Field(default=60.0, ge=1)
