"""`ringback replay`: a recorded PBX stream through the same parser, tracker and policy,
sending nothing. One JSON object per finished call on standard output.

The caller's number and caller-ID name are masked as the logs mask them
(`agent.numbers`: every digit but the last two) unless `--full`: a replay's output is
pasted into tickets and chats. The dealership's own numbers (the DID dialled, the
callback number in a text) stay readable: routing is what a replay is run to check."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections import Counter
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
from agent.model import (
    CallRecord,
    Decision,
    Defer,
    Direction,
    Notify,
    Skip,
    record_to_json,
)
from agent.numbers import mask, mask_text, normalize
from agent.plural import counted
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
    kind: str,
    path: Path,
    family: str | None,
    config_path: Path | None,
    decisions: bool,
    *,
    full: bool = False,
) -> int:
    if kind not in SOURCES or SOURCES[kind].replay is None:
        known = ", ".join(sorted(SOURCES))
        print(f"replay: unknown source type {kind!r} (expected one of: {known})", file=sys.stderr)
        return 2
    if family is not None and "format" not in SOURCES[kind].config.model_fields:
        print(f"replay: --format is not an option of --source {kind} (expected none)",
              file=sys.stderr)  # fmt: skip
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
        for problem in _option_problems(err, kind):
            print(f"replay: {problem}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"replay: cannot read {path}: {err.strerror}", file=sys.stderr)
        return 1
    settings = loaded.settings
    site = SiteContext(settings.site.name, settings.site.tz, settings.site.country)
    records = _parse(kind, data, source_config, site)
    seen: Counter[str] = Counter()
    if decisions:
        code = asyncio.run(_with_decisions(loaded, records, full, seen))
    else:
        for record in records:
            out = _fields(record)
            if out["caller_e164"] is None and record.direction is Direction.INBOUND:
                out["caller_e164"] = normalize(record.remote_raw, settings.site.country)[0]
            print(json.dumps(_shown(out, full), ensure_ascii=False), flush=True)
            seen["calls"] += 1
        code = 0
    stream = f"{kind} ({family})" if family else kind
    print(_tally(path, stream, seen), file=sys.stderr)
    return code


def _tally(path: Path, stream: str, seen: Counter[str]) -> str:
    """The last line, on stderr (stdout is only JSON): how many calls, and the
    decisions when they were asked for."""
    calls = seen.pop("calls", 0)
    if not calls:
        return (
            f"replay: no call found in {path} (expected a {stream} stream; any line above "
            "says what was skipped)"
        )
    decided = ", ".join(f"{n} {name}" for name, n in sorted(seen.items()))
    return f"replay: {counted(calls, 'call', 'calls')} in {path}" + (
        f" ({decided})" if decided else ""
    )


def _option_problems(err: ValidationError, kind: str) -> list[str]:
    """The source options' problems in the words of this command's flags: a missing
    `format` is the `--format` flag, with the families to choose from."""
    problems = []
    for detail in err.errors(include_url=False):
        key = ".".join(str(p) for p in detail["loc"])
        if key == "format":
            families = _choices(SOURCES[kind].config, "format")
            what = (
                f"--format FAMILY is needed for --source {kind}"
                if detail["type"] == "missing"
                else f"--format {detail.get('input')!r} is not a family of --source {kind}"
            )
            problems.append(f"{what} (expected one of: {families})")
        else:
            problems.append(f"{key}: {detail['msg']}")
    return problems


def _choices(model: type[DriverConfig], field_name: str) -> str:
    import typing

    annotation = model.model_fields[field_name].annotation
    return ", ".join(str(a) for a in typing.get_args(annotation)) or "see the example config"


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


def _shown(out: dict[str, object], full: bool) -> dict[str, object]:
    """`out` with the caller's number and name masked as in logs, unless `full`."""
    if full:
        return out
    for key in ("caller_raw", "caller_e164"):
        if isinstance(out.get(key), str) and out[key]:
            out[key] = mask(str(out[key]))
    if isinstance(out.get("caller_name"), str):
        out["caller_name"] = mask_text(str(out["caller_name"]))
    return out


async def _with_decisions(
    loaded: LoadedConfig,
    records: Iterable[CallRecord],
    full: bool = False,
    seen: Counter[str] | None = None,
) -> int:
    seen = Counter() if seen is None else seen
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
                print(json.dumps(_shown(out, full), ensure_ascii=False), flush=True)
                seen["calls"] += 1
                seen[str(out["decision"])] += 1
    return 0
