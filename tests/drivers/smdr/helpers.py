"""Shared helpers of the SMDR tests: fixture files and configs per family."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.sources.smdr.config import SmdrConfig

FIXTURES = Path(__file__).parents[2] / "fixtures" / "smdr"

# fixture file stem -> `format:` name
VENDORS: dict[str, str] = {
    "avaya-ipoffice": "avaya_ipoffice",
    "mitel-mivb": "mitel_mivb",
    "mitel-5000": "mitel_5000",
    "nec": "nec",
    "panasonic": "panasonic",
    "samsung": "samsung",
    "3cx": "threecx",
}


@dataclass(frozen=True)
class Expected:
    line: int
    classification: str | None
    caller: str | None
    dialed: str | None


def fixture_bytes(stem: str) -> bytes:
    return (FIXTURES / f"{stem}.txt").read_bytes()


def fixture_lines(stem: str) -> list[str]:
    return fixture_bytes(stem).decode("utf-8").splitlines()


def expectations(stem: str) -> list[Expected]:
    data = json.loads((FIXTURES / f"{stem}.expected.json").read_text(encoding="utf-8"))
    return [
        Expected(r["line"], r["classification"], r["caller"], r["dialed"]) for r in data["records"]
    ]


def config(fmt: str, **options: Any) -> SmdrConfig:
    values: dict[str, Any] = {"name": "pbx", "format": fmt, "url": "socket://127.0.0.1:1"}
    values.update(options)
    return SmdrConfig.model_validate(values)
