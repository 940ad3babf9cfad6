"""The small subcommands; the bigger ones live in their own modules (demo, replay)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from agent.config.settings import LoadedConfig, load, resolve_path
from agent.errors import ConfigError


def cmd_run(args: argparse.Namespace) -> int:
    from agent.daemon.service import run

    return run(args.config)


def cmd_demo(args: argparse.Namespace) -> int:
    from agent.cli.demo import run_demo

    if args.history:
        from agent.report.demo import run_history_demo

        return run_history_demo(args.html, language=args.lang)
    return run_demo(speed=args.speed, keep=args.keep)


def cmd_report(args: argparse.Namespace) -> int:
    from agent.cli.report import run_report

    loaded = _load_for_tools(args.config, offline=True)  # reads the store, reaches no one
    if loaded is None:
        return 2
    return run_report(
        loaded, args.since, args.until, args.department, args.format, args.output, args.lang
    )


def cmd_replay(args: argparse.Namespace) -> int:
    import logging

    from agent.cli.replay import run_replay

    if not args.verbose:  # stdout carries the JSON; stderr only what went wrong
        logging.getLogger().setLevel(logging.WARNING)
    return run_replay(
        args.source, args.file, args.format, args.config, args.decisions, full=args.full
    )


def load_or_report(path: Path | None, *, offline: bool = False) -> LoadedConfig | None:
    try:
        return load(path, offline=offline)
    except ConfigError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return None


def cmd_check_config(args: argparse.Namespace) -> int:
    from agent.config.summary import summary
    from agent.ops.doctor import use_installed_credentials
    from agent.plural import counted

    if args.path and args.config and args.path != args.config:
        print("ringback check-config: give the file once (FILE or -c FILE)", file=sys.stderr)
        return 2
    args.path = args.path or args.config
    use_installed_credentials(resolve_path(args.path))  # the secrets `install` put beside it
    try:
        loaded = load(args.path)
    except ConfigError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        count = len(err.problems)
        print(
            f"{resolve_path(args.path)}: {counted(count, 'problem', 'problems')}, "
            "the configuration is not valid",
            file=sys.stderr,
        )
        return 2
    print(f"{resolve_path(args.path)}: configuration is valid")
    for line in summary(loaded.settings):
        print(line)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """`ringback config example`: the commented example shipped in the package, so a
    pip-only install can start from it (`ringback config example > ringback.yaml`)."""
    from importlib import resources

    text = resources.files("agent.resources").joinpath("ringback.example.yaml").read_text("utf-8")
    sys.stdout.write(text)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0 ready, 1 not ready or unreachable, 2 usage or configuration. With
    `--url`, a configuration that cannot be read is not needed (no token is sent)."""
    from agent.status.client import fetch_status, human_status, is_ready

    if args.url and not args.url.startswith(("http://", "https://")):
        print(f"ringback status: --url {args.url!r} is not http(s)://HOST:PORT", file=sys.stderr)
        return 2
    if args.url and args.config is None and not resolve_path(None).exists():
        loaded = None
    else:
        loaded = _load_for_tools(args.config, offline=True)  # reaches only the status API
        if loaded is None:
            return 2
    code, doc, error = fetch_status(loaded.settings.status if loaded else None, args.url)
    if doc is None:
        print(f"ringback status: {error}", file=sys.stderr)
        return 1
    print(json.dumps(doc, indent=2) if args.json else human_status(doc))
    return 0 if code == 200 and is_ready(doc) else 1


def cmd_sms_preview(args: argparse.Namespace) -> int:
    from drivers.base import capability
    from drivers.senders import SENDERS

    preview = capability(SENDERS, "preview")
    assert preview is not None, "the gsm driver provides the SMS preview"
    to = None
    if args.to is not None:
        to = _preview_destination(args.to, args.config)
        if to is None:
            return 2
    try:
        data = preview(args.text, to, args.pdu or args.json)
    except ValueError as err:
        print(f"sms-preview: {err}", file=sys.stderr)
        return 2
    print(format_preview(data, args.json))
    return 0


def _preview_destination(raw: str, config: Path | None) -> str | None:
    """`--to` in E.164 as the pipeline reads numbers: phonenumbers, national numbers
    in the site's country (from the configuration when there is one, else E.164
    only); None, the reason printed, when it is no valid number."""
    from agent.numbers import normalize, refusal

    country = "ZZ"
    if config is not None or resolve_path(None).exists():
        loaded = _load_for_tools(config, offline=True)  # the site's country only
        if loaded is None:
            return None
        country = loaded.settings.site.country
    e164, reason = normalize(raw, country)
    if e164 is not None:
        return e164
    why = refusal(raw, reason, country)
    if country == "ZZ" and reason == "invalid_number" and not raw.strip().startswith("+"):
        why += "; without a configuration (-c FILE) only E.164 is read"
    print(f"sms-preview: --to {why}", file=sys.stderr)
    return None


def cmd_send_test(args: argparse.Namespace) -> int:
    loaded = _load_for_tools(args.config)
    if loaded is None:
        return 2
    return asyncio.run(_send_test(loaded, args.to, args.sender))


async def _send_test(loaded: LoadedConfig, to: str, only: str | None, wait: float = 30.0) -> int:
    """Open the configured senders (a modem needs a few seconds to register), then send
    one test text through the chain or the named sender and say what happened."""
    from contextlib import AsyncExitStack
    from datetime import datetime

    from agent.numbers import normalize, refusal
    from agent.ops.send_test import send_test
    from agent.send.chain import SenderChain
    from drivers.base import SenderContext, SiteContext
    from drivers.senders import SENDERS

    settings = loaded.settings
    site = SiteContext(settings.site.name, settings.site.tz, settings.site.country)
    e164, reason = normalize(to, settings.site.country)
    if e164 is None:  # before opening a modem for nothing
        print(f"send-test: --to {refusal(to, reason, settings.site.country)}", file=sys.stderr)
        return 2
    async with AsyncExitStack() as stack:
        senders = [
            await stack.enter_async_context(SENDERS[c.type].load()(c, SenderContext(site)))
            for c in settings.sms.senders
        ]
        chosen = [s for s in senders if only is None or s.name == only]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while chosen and not any(s.health().usable for s in chosen):
            if loop.time() > deadline:
                break
            await asyncio.sleep(0.25)
        stamp = f"{datetime.now(settings.site.tz):%Y-%m-%d %H:%M}"
        body = f"{settings.site.name}: ringback test {stamp}"
        code, text = await send_test(SenderChain(senders), e164, only, body)
    print(text)
    return code


def cmd_install(args: argparse.Namespace) -> int:
    from agent.ops.install import cmd_install as install

    return install(args)


def cmd_uninstall(args: argparse.Namespace) -> int:
    from agent.ops.install import cmd_uninstall as uninstall

    return uninstall(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from agent.ops.doctor import cmd_doctor as doctor

    return doctor(args)


def _load_for_tools(path: Path | None, *, offline: bool = False) -> LoadedConfig | None:
    """The configuration as the technician's commands read it: with the secrets
    `ringback install` put in the credentials directory beside the file."""
    from agent.ops.doctor import use_installed_credentials

    use_installed_credentials(resolve_path(path))
    return load_or_report(path, offline=offline)


def cmd_outbox(args: argparse.Namespace) -> int:
    from agent.ops.outbox import cmd_outbox as outbox

    loaded = _load_for_tools(args.config, offline=True)  # the store only: no secret needed
    return 2 if loaded is None else outbox(args, loaded)


def cmd_reply(args: argparse.Namespace) -> int:
    from agent.ops.reply import cmd_reply as answer

    loaded = _load_for_tools(args.config)
    return 2 if loaded is None else answer(args, loaded)


def cmd_cases(args: argparse.Namespace) -> int:
    from agent.ops.cases import cmd_cases as cases

    loaded = _load_for_tools(args.config, offline=True)  # the store only: no secret needed
    return 2 if loaded is None else cases(args, loaded)


def cmd_purge(args: argparse.Namespace) -> int:
    from agent.ops.purge import cmd_purge as purge

    loaded = _load_for_tools(args.config, offline=True)  # the store only: no secret needed
    return 2 if loaded is None else purge(args.number, loaded)


def format_preview(data: dict[str, object], as_json: bool) -> str:
    if as_json:
        return json.dumps(data, ensure_ascii=False)
    encoding = "GSM 7-bit" if data["encoding"] == "gsm7" else "UCS-2 (Unicode)"
    forcing = data.get("ucs2_characters")
    if data["encoding"] != "gsm7" and isinstance(forcing, list) and forcing:
        named = ", ".join(
            f"'{c['char']}' ({c['name'].lower()}, character {c['position']})" for c in forcing
        )
        encoding += f" because of {named}"
    lines = [
        f"encoding: {encoding}",
        f"characters: {data.get('characters')}",
        f"segments: {data['segments']}",
    ]
    pdus = data.get("pdus")
    if isinstance(pdus, list):
        for number, pdu in enumerate(pdus, start=1):
            lines.append(f"part {number}: AT+CMGS={pdu['tpdu_length']}")
            lines.append(f"  {pdu['hex']}")
    return "\n".join(lines)


def cmd_desk(args: argparse.Namespace) -> int:
    """`ringback desk passwd NAME`: the password is asked twice on a terminal, read as
    two lines of stdin otherwise; its argon2 hash goes to the credentials directory
    beside the configuration (0600), never to the YAML or a log."""
    import getpass

    from agent.desk.auth import passwords_path, set_password

    loaded = _load_for_tools(args.config, offline=True)  # writes beside it, reaches no one
    if loaded is None:
        return 2
    if loaded.settings.desk.user(args.name) is None:
        known = ", ".join(u.name for u in loaded.settings.desk.users) or "none"
        print(
            f"ringback desk passwd: no desk user {args.name!r} in {loaded.path} "
            f"(desk.users lists: {known})",
            file=sys.stderr,
        )
        return 2
    if sys.stdin.isatty():
        first = getpass.getpass(f"new password for {args.name}: ")
        second = getpass.getpass("again: ")
    else:
        first, second = sys.stdin.readline().rstrip("\r\n"), sys.stdin.readline().rstrip("\r\n")
    if first != second:
        print("ringback desk passwd: the two passwords differ; nothing changed", file=sys.stderr)
        return 2
    path = passwords_path(loaded.path)
    try:
        set_password(path, args.name, first)
    except ValueError as err:
        print(f"ringback desk passwd: {err}; nothing changed", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"ringback desk passwd: cannot write {path}: {err.strerror}", file=sys.stderr)
        return 1
    print(f"password of {args.name} set ({path}); a running daemon reads it at the next login")
    return 0
