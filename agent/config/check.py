"""Config look-ups for install: problems apart from secrets, and which credential files
the configuration still needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.config.lines import format_errors, yaml_problem
from agent.config.settings import Settings
from agent.errors import ConfigError


def offline_problems(path: Path) -> list[str]:
    """Every problem of the file except required secrets that are not in place yet
    (install may be about to write them)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        data, lines = yaml_problem(text, path)
        Settings(**data)
    except OSError as err:
        return [f"{path}: cannot read: {err.strerror}"]
    except ConfigError as err:
        return err.problems
    except ValidationError as err:
        return [p for p in format_errors(err, path, lines) if not _missing_secret(p)]
    return []


def _missing_secret(problem: str) -> bool:
    return " is missing (set " in problem and "the systemd credential" in problem


def missing_credentials(path: Path, credentials: Path) -> list[str]:
    """`name.field` of each required secret given neither in the YAML nor as a file."""
    from agent.config.lines import yaml_problem as parse
    from drivers.senders import SENDERS
    from drivers.sources import SOURCES

    try:
        data, _ = parse(path.read_text(encoding="utf-8", errors="replace"), path)
    except (OSError, ConfigError):
        return []
    items: list[tuple[dict[str, Any], Any]] = []
    for item in data.get("pbx") or []:
        if isinstance(item, dict) and item.get("type") in SOURCES:
            items.append((item, SOURCES[item["type"]].config))
    for item in (data.get("sms") or {}).get("senders") or []:
        if isinstance(item, dict) and item.get("type") in SENDERS:
            items.append((item, SENDERS[item["type"]].config))
    missing = []
    for item, model in items:
        for name in model.required_secrets:
            given = item.get(name) or item.get(f"{name}_file")
            cred = f"{item.get('name')}.{name}"
            if not given and not (credentials / cred).is_file():
                missing.append(cred)
    return missing
