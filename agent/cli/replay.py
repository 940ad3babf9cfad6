"""`ringback replay`: a recorded PBX stream through the same parser, tracker and policy,
sending nothing. One JSON object per finished call on standard output."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.cli.demo import demo_config_text
from agent.config.settings import LoadedConfig, load, load_text
from agent.config.texts import render
from agent.decide.pipeline import Pipeline
from agent.decide.policy import schedule_for
from agent.errors import ConfigError
from agent.model import CallRecord, Decision, Defer, Notify, Skip, record_to_json
from agent.store import Store
from drivers.base import DriverConfig, SiteContext
from drivers.sources import SOURCES

RECORD_FIELDS = (
    "call_id",
    "source",
    "direction",
    "outcome",
    "caller_raw",
    "caller_e164",
    "caller_name",
    "dialed",
    "queue",
    "ivr_path",
    "ring_seconds",
    "ivr_seconds",
    "queue_seconds",
    "talk_seconds",
    "answered_by",
    "started_at",
    "ended_at",
)


def _settings(config_path: Path | None) -> LoadedConfig:
    """`-c FILE`, else `$RINGBACK_CONFIG`, else the demo's defaults; secrets need not be
    there: a replay connects to nothing and sends nothing."""
    chosen = config_path or os.environ.get("RINGBACK_CONFIG")
    if chosen:
        return load(chosen, offline=True)
    text = demo_config_text(Path(tempfile.gettempdir()) / "ringback-replay.db")
    return load_text(text, Path("(built-in defaults)"))


def _source_config(loaded: LoadedConfig, kind: str, family: str | None) -> DriverConfig:
    for cfg in loaded.settings.pbx:
        if cfg.type == kind and (family is None or getattr(cfg, "format", family) == family):
            return cfg
    data: dict[str, Any] = {"type": kind, "name": kind}
    if family:
        data["format"] = family
    return SOURCES[kind].config.model_validate(data, context={"offline": True})


def run_replay(
    kind: str, path: Path, family: str | None, config_path: Path | None, decisions: bool
) -> int:
    if kind not in SOURCES or SOURCES[kind].replay is None:
        known = ", ".join(sorted(SOURCES))
        print(f"replay: unknown source type {kind!r} (expected one of: {known})", file=sys.stderr)
        return 2
    try:
        loaded = _settings(config_path)
        source_config = _source_config(loaded, kind, family)
        if "path" in type(source_config).model_fields:  # bad lines are named by file
            source_config = source_config.model_copy(update={"path": path})
        data = path.read_bytes()
    except ConfigError as err:
        print("\n".join(err.problems), file=sys.stderr)
        return 2
    except ValidationError as err:
        print(f"replay: {err.errors()[0]['msg']}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"replay: cannot read {path}: {err.strerror}", file=sys.stderr)
        return 1
    settings = loaded.settings
    site = SiteContext(settings.site.name, settings.site.tz, settings.site.country)
    records = _parse(kind, data, source_config, site)
    if decisions:
        return asyncio.run(_with_decisions(loaded, records))
    for record in records:
        print(json.dumps(_fields(record), ensure_ascii=False), flush=True)
    return 0


def _parse(kind: str, data: bytes, config: DriverConfig, site: SiteContext) -> Iterable[CallRecord]:
    parse = SOURCES[kind].load_replay()
    assert parse is not None
    records: Iterable[CallRecord] = parse(data, config, site)
    return records


class _RecordClock:
    """The pipeline's clock during a replay: the hang-up time of the call at hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _decision_fields(decision: Decision | None) -> tuple[str, str | None]:
    """("notify", None), ("skip", reason), ("defer", until) or ("duplicate", None)."""
    if decision is None:
        return "duplicate", None
    if isinstance(decision, Skip):
        return "skip", decision.reason
    if isinstance(decision, Defer):
        return "defer", decision.until.isoformat()
    return "notify", None


def _text(pipeline: Pipeline, decision: Notify | Defer, record: CallRecord) -> str:
    """The text as the dispatcher would render it when it leaves."""
    settings = pipeline.settings
    leaves = decision.until if isinstance(decision, Defer) else decision.not_before
    local = leaves.astimezone(settings.site.tz)
    department = decision.department
    holidays = pipeline.holiday_dates(local.year, department) | pipeline.holiday_dates(
        local.year + 1, department
    )
    schedule = schedule_for(department, settings, local, holidays)
    return render(
        settings,
        decision.department,
        decision.template,
        decision.language,
        schedule.next_opening,
        local,
    )


def _fields(record: CallRecord) -> dict[str, object]:
    full = record_to_json(record)
    return {name: full[name] for name in RECORD_FIELDS}


async def _with_decisions(loaded: LoadedConfig, records: Iterable[CallRecord]) -> int:
    settings = loaded.settings
    with tempfile.TemporaryDirectory(prefix="ringback-replay-") as tmp:
        async with Store(Path(tmp) / "replay.db") as store:
            clock = _RecordClock()
            pipeline = Pipeline(settings, store, clock)
            for record in records:
                clock.now = record.ended_at  # each call is decided as it hangs up
                accepted = await pipeline.accept(record)
                out = _fields(record)
                out["caller_e164"] = await store.scalar(
                    "SELECT caller_e164 FROM calls WHERE id = ?", (accepted.call_id,)
                )
                decision = accepted.decision
                out["department"] = accepted.department
                out["decision"], out["reason"] = _decision_fields(decision)
                out["text"] = None
                if accepted.message_id is not None and isinstance(decision, Notify | Defer):
                    out["text"] = _text(pipeline, decision, record)
                print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0
