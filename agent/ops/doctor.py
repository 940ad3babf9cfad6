"""`ringback doctor [-c CONFIG] [--json] [--timeout S]`: every fault findable in one command.

One line per check, `✓` fine, `!` worth a look, `✗` broken with how to fix it:
the config, secret files, the store, the staff notifications failing by channel,
free disk, the clock and time zone, each PBX source and each sender (the check each
driver registers in its table entry, run with the driver's own connection code, all
at once, each under `--timeout`), and the status API. Exit code: 0 nothing broken
(warnings allowed), 1 something broken, 2 the configuration itself is invalid.

Run it as root on an installed server: it reads the credentials the service gets
from systemd (`/etc/ringback/credentials`) as the service would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import ValidationError

from agent.config.settings import (
    LoadedConfig,
    Settings,
    SiteConfig,
    StatusConfig,
    StorageConfig,
    load,
    resolve_path,
)
from agent.errors import ConfigError
from agent.ops import doctor_facts, doctor_system
from agent.ops.doctor_system import Finding, Level
from agent.status.client import fetch_status, status_url
from drivers.base import DoctorResult, DriverConfig, DriverEntry, SiteContext
from drivers.senders import SENDERS
from drivers.sources import SOURCES

MARK = {"ok": "✓", "warn": "!", "fail": "✗"}


def use_installed_credentials(config_path: Path) -> None:
    """Outside systemd, read secrets from the credentials directory beside the config
    (where `ringback install` puts them), as `LoadCredential=` hands them over."""
    credentials = config_path.parent / "credentials"
    if "CREDENTIALS_DIRECTORY" not in os.environ and os.access(credentials, os.R_OK | os.X_OK):
        os.environ["CREDENTIALS_DIRECTORY"] = str(credentials)


async def diagnose(config_path: Path, limit: float) -> tuple[list[Finding], bool]:
    """Every finding, and whether the configuration loaded. An invalid configuration
    does not stop the other checks: they run on what the file says (each PBX source
    and sender whose own options are valid, the store, the clock, the status API)."""
    try:
        loaded = load(config_path)
    except ConfigError as err:
        first = err.problems[0] if err.problems else "invalid"
        more = f" (+{len(err.problems) - 1} more)" if len(err.problems) > 1 else ""
        return [
            Finding("config", "fail", f"{first}{more}", f"ringback check-config {config_path}"),
            *await _from_raw(config_path, _raw(config_path), limit),
        ], False
    settings = loaded.settings
    found = [Finding("config", "ok", f"{config_path} valid (sha256 {loaded.sha256[:12]})")]
    found += doctor_system.secret_files(config_path, _raw(config_path))
    found += doctor_system.store(settings.storage.path)
    found.append(doctor_system.disk(settings.storage.path))
    found += doctor_system.notifications(settings.storage.path)
    found += doctor_facts.sending_faults(settings.storage.path)
    found += doctor_system.clock(settings.site.timezone)
    found += await _drivers(loaded, limit)
    api = await _status_api(settings, limit)
    found.append(api)
    if api.level == "ok":
        found.append(await _loops(settings))
    return found, True


async def _loops(settings: Settings) -> Finding:
    """The daemon's supervised loops, from `/v1/status`: one that failed and was
    restarted is worth a look (`!`), one waiting out its backoff now is broken (`✗`)."""
    code, doc, why = await asyncio.to_thread(fetch_status, settings.status)
    if doc is None:
        return Finding("loops", "warn", f"cannot read /v1/status ({code}): {why}", "")
    loops: dict[str, Any] = doc.get("loops") or {}
    down = {n: s for n, s in loops.items() if s.get("state") == "backing_off"}
    restarted = {n: s for n, s in loops.items() if s.get("restarts")}
    if down:
        words = "; ".join(f"{n}: {s.get('last_error')}" for n, s in sorted(down.items()))
        hint = "journalctl -u ringback says why; the loop restarts by itself with backoff"
        return Finding("loops", "fail", f"failing now: {words}", hint)
    if restarted:
        words = ", ".join(
            f"{n} x{s['restarts']} (last: {s.get('last_error')})"
            for n, s in sorted(restarted.items())
        )
        return Finding("loops", "warn", f"restarted after a failure: {words}", "")
    return Finding("loops", "ok", f"{len(loops)} loops running, none restarted", "")


def missing_config(config_path: Path) -> list[Finding] | None:
    """With no file at all, what to do: install, or name the file."""
    if config_path.exists():
        return None
    return [
        Finding(
            "config",
            "fail",
            f"{config_path} does not exist",
            "install the service first (sudo ringback install), or point at the file "
            "with ringback doctor -c FILE (or RINGBACK_CONFIG=FILE)",
        ),
        doctor_system.disk(Path("/var/lib/ringback/ringback.db")),
    ]


def _section(raw: Any, key: str) -> dict[str, Any]:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, dict) else {}


async def _from_raw(config_path: Path, raw: Any, limit: float) -> list[Finding]:
    """The checks that do not need the whole file valid, on what it says."""
    found = doctor_system.secret_files(config_path, raw)
    storage = _section(raw, "storage").get("path")
    db = Path(storage) if isinstance(storage, str) else StorageConfig().path
    found += doctor_system.store(db)
    found.append(doctor_system.disk(db))
    site = _section(raw, "site")
    try:
        site_config = SiteConfig.model_validate({"name": "?", **site})
    except ValidationError:
        site_config = SiteConfig(name="?")
    found += doctor_system.clock(site_config.timezone)
    context = SiteContext(site_config.name, site_config.tz, site_config.country)
    jobs: list[Awaitable[Finding]] = []
    items = raw.get("pbx") if isinstance(raw, dict) else None
    for kind, table, entries in (
        ("pbx", SOURCES, items),
        ("sender", SENDERS, _section(raw, "sms").get("senders")),
    ):
        for item in entries if isinstance(entries, list) else []:
            jobs.append(_raw_driver(kind, table, item, context, limit))
    found += await asyncio.gather(*jobs)
    try:
        status = StatusConfig.model_validate(_section(raw, "status"))
    except ValidationError:
        status = StatusConfig()
    found.append(await _status_api_at(status, limit))
    return found


async def _raw_driver(
    kind: str, table: dict[str, DriverEntry], item: Any, site: SiteContext, limit: float
) -> Finding:
    name = f"{kind} {item.get('name', '?') if isinstance(item, dict) else '?'}"
    entry = table.get(str(item.get("type"))) if isinstance(item, dict) else None
    if entry is None:
        return Finding(name, "fail", "not checked: no known type", "see the config check")
    try:
        config = entry.config.model_validate(item)
    except ValidationError:
        return Finding(name, "fail", "not checked: its options are invalid", "see the config check")
    return await _one(name, entry, config, site, limit)


def _raw(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None


async def _drivers(loaded: LoadedConfig, limit: float) -> list[Finding]:
    settings = loaded.settings
    site = SiteContext(settings.site.name, settings.site.tz, settings.site.country)
    jobs: list[Awaitable[Finding]] = [
        _one(f"pbx {c.name}", SOURCES[c.type], c, site, limit) for c in settings.pbx
    ]
    jobs += [
        _one(f"sender {c.name}", SENDERS[c.type], c, site, limit) for c in settings.sms.senders
    ]
    return list(await asyncio.gather(*jobs))


async def _one(
    name: str, entry: DriverEntry, config: DriverConfig, site: SiteContext, limit: float
) -> Finding:
    check: Callable[..., Awaitable[DoctorResult]] | None = entry.load_doctor()
    if check is None:
        return Finding(name, "ok", f"type {config.type}: nothing to reach")
    try:
        async with asyncio.timeout(limit + 5):
            result = await check(config, site, limit)
    except TimeoutError:
        return Finding(name, "fail", f"no verdict within {limit:.0f}s", "run with --verbose")
    except Exception as err:  # a bug in a check must not hide the others
        return Finding(name, "fail", f"the check crashed: {type(err).__name__}: {err}", "")
    return Finding(name, "ok" if result.ok else "fail", result.message, result.hint)


async def _status_api(settings: Settings, limit: float) -> Finding:
    return await _status_api_at(settings.status, limit)


async def _status_api_at(status: StatusConfig, limit: float) -> Finding:
    url = status_url(status, "/livez")
    try:
        async with httpx.AsyncClient(timeout=min(limit, 5.0), verify=False) as client:
            response = await client.get(url)
    except httpx.ConnectError:
        return Finding(
            "status api",
            "warn",
            f"nothing listens on {status.listen}: ringback is not running",
            "systemctl start ringback; journalctl -u ringback -n 50 says why it stopped",
        )
    except httpx.HTTPError as err:
        return Finding("status api", "fail", f"{url}: {type(err).__name__}", "")
    if response.status_code in (200, 503):
        state = "live" if response.status_code == 200 else "up but not live"
        level: Level = "ok" if response.status_code == 200 else "fail"
        return Finding("status api", level, f"{url}: ringback {state}", "")
    return Finding(
        "status api",
        "fail",
        f"{url} answered HTTP {response.status_code}: another program holds the port?",
        f"free {status.listen} or change status.listen",
    )


def format_line(finding: Finding) -> str:
    line = f"{MARK[finding.level]} {finding.name}: {finding.message}"
    return line + (f" — fix: {finding.hint}" if finding.hint and finding.level != "ok" else "")


def exit_code(findings: list[Finding], config_ok: bool) -> int:
    if not config_ok:
        return 2
    return 1 if any(f.level == "fail" for f in findings) else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    path = resolve_path(args.config)
    use_installed_credentials(path)
    if not args.verbose:  # the drivers' own retry warnings would drown the verdicts
        logging.getLogger().setLevel(logging.CRITICAL)
    missing = missing_config(path)
    if missing is not None:
        findings, config_ok = missing, False
    else:
        findings, config_ok = asyncio.run(diagnose(path, args.timeout))
    code = exit_code(findings, config_ok)
    if args.json:
        doc = {
            "exit_code": code,
            "checks": [
                {"name": f.name, "status": f.level, "message": f.message, "hint": f.hint}
                for f in findings
            ],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        for finding in findings:
            print(format_line(finding))
    sys.stdout.flush()
    return code
