"""The `ringback` command: one subcommand per job, each in its own module.

Exit codes: 0 fine, 1 runtime failure, 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from agent import __version__

log = logging.getLogger("ringback")


def _config_arg(parser: argparse.ArgumentParser, *, after_action: bool = False) -> None:
    """`-c FILE`; on an action (`outbox list -c FILE`) it leaves the command's own
    value alone unless given there (argparse would reset it to the default)."""
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=argparse.SUPPRESS if after_action else None,
        help="configuration file (default: $RINGBACK_CONFIG or /etc/ringback/ringback.yaml)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ringback", description="Turn a dealership's missed calls into text conversations."
    )
    parser.add_argument("--version", action="version", version=f"ringback {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the service (what systemd starts)")
    _config_arg(run)

    demo = sub.add_parser("demo", help="run the real pipeline on bundled recorded calls")
    demo.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="replay speed (0 = as fast as possible, 1 = recorded pace)",
    )
    demo.add_argument(
        "--keep", action="store_true", help="keep running with the status API up until Ctrl-C"
    )
    demo.add_argument(
        "--history",
        action="store_true",
        help="instead: generate two years of a dealership's calls and print their report",
    )
    demo.add_argument(
        "--html", type=Path, default=None, help="with --history: also write the HTML report here"
    )
    demo.add_argument(
        "--lang", choices=("fr", "en"), default="fr", help="with --history: the report's language"
    )

    report = sub.add_parser("report", help="missed calls by department, hour, day, week, menu")
    _config_arg(report)
    report.add_argument(
        "--since",
        type=date.fromisoformat,
        default=None,
        help="first day (YYYY-MM-DD, site time; default: 52 weeks before --until)",
    )
    report.add_argument(
        "--until", type=date.fromisoformat, default=None, help="last day, included (default: today)"
    )
    report.add_argument("--department", default=None, help="only this department")
    report.add_argument(
        "--format",
        choices=("text", "csv", "json", "html"),
        default="text",
        help="text (default), csv, json or html",
    )
    report.add_argument("-o", "--output", type=Path, default=None, help="write to this file")
    report.add_argument(
        "--lang",
        choices=("fr", "en"),
        default=None,
        help="the language of the text and HTML report (default: the site's, departments.language)",
    )

    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=None,
        help="the file to check (default: $RINGBACK_CONFIG or /etc/ringback/ringback.yaml)",
    )
    _config_arg(check)  # `-c FILE` as for every other command

    config = sub.add_parser("config", help="the configuration's commented example")
    config_actions = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    config_actions.add_parser(
        "example", help="print the commented example (ringback.example.yaml) to start from"
    )

    replay = sub.add_parser("replay", help="run a recorded PBX stream through the parser")
    replay.add_argument("--source", required=True, help="source type (asterisk, smdr, replay)")
    replay.add_argument("--format", default=None, help="SMDR family (avaya_ipoffice, nec, ...)")
    replay.add_argument(
        "--decisions", action="store_true", help="also print department, decision, reason and text"
    )
    replay.add_argument("file", type=Path, help="the recorded stream (AMI, SMDR or JSON lines)")
    replay.add_argument(
        "--full", action="store_true", help="full phone numbers (masked by default, as in logs)"
    )
    _config_arg(replay)

    status = sub.add_parser(
        "status",
        help="what is connected, queued and failing (exit 0 ready, 1 not ready, 2 usage)",
    )
    _config_arg(status)
    status.add_argument("--json", action="store_true", help="print the raw status document")
    status.add_argument(
        "--url",
        default=None,
        metavar="URL",
        help="the status API to ask, e.g. http://127.0.0.1:8788 for the demo's "
        "(default: status.listen of the configuration)",
    )

    preview = sub.add_parser("sms-preview", help="encoding, segments and PDUs of a text")
    preview.add_argument("--text", required=True, help="the text as it would be sent")
    preview.add_argument(
        "--to",
        default=None,
        help="destination (for --pdu): E.164, or national in the site's country of -c FILE",
    )
    preview.add_argument("--pdu", action="store_true", help="print each AT+CMGS length and PDU")
    preview.add_argument("--json", action="store_true", help="print JSON (with the PDUs)")
    _config_arg(preview)

    send_test = sub.add_parser("send-test", help="send one test text through the senders")
    send_test.add_argument("--to", required=True, help="destination number")
    send_test.add_argument("--sender", default=None, help="only this sender (by name)")
    _config_arg(send_test)
    _ops_commands(sub)
    return parser


def _ops_commands(sub: Any) -> None:
    """The technician's tools: install, uninstall, doctor, outbox, purge."""
    install = sub.add_parser("install", help="install the service (as root; idempotent)")
    install.add_argument("--root", type=Path, default=None, help="stage into DIR instead")
    install.add_argument(
        "--secret",
        action="append",
        metavar="NAME.FIELD",
        help="store a secret as a credential file (value: one line of stdin, or prompted)",
    )
    install.add_argument("--no-enable", action="store_true", help="do not enable the unit")

    uninstall = sub.add_parser("uninstall", help="remove the service (keeps data)")
    uninstall.add_argument("--root", type=Path, default=None, help="the staged DIR")
    uninstall.add_argument(
        "--purge", action="store_true", help="also erase config, credentials, database, user"
    )

    doctor = sub.add_parser("doctor", help="check everything ringback needs, one line each")
    _config_arg(doctor)
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    doctor.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per PBX/sender check (default 10)"
    )

    outbox = sub.add_parser("outbox", help="see and act on queued, failed and unknown texts")
    _config_arg(outbox)
    actions = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="open and stuck texts, newest first")
    from agent.model import MessageState

    listing.add_argument(
        "--state",
        action="append",
        choices=[state.value for state in MessageState],
        help="only this state (repeatable; default: pending, retry_wait, sending, failed, unknown)",
    )
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    for name, text in (
        ("show", "one text and its attempts"),
        ("retry", "send a failed or unknown text again, now"),
        ("cancel", "withdraw a queued or unknown text"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("id", type=int, help="the text's id (as `outbox list` shows it)")
    for action in actions.choices.values():
        _config_arg(action, after_action=True)
    for action in (listing, actions.choices["show"]):
        action.add_argument("--json", action="store_true", help="print JSON")
        action.add_argument("--full", action="store_true", help="full phone numbers")

    _cases_command(sub)

    answer = sub.add_parser(
        "reply", help="text a case's caller in its conversation (opt-out, quiet hours, caps)"
    )
    answer.add_argument("case", type=int, help="the case's id (as `cases list` shows it)")
    answer.add_argument("--text", required=True, help="the text to send")
    answer.add_argument(
        "--as", dest="as_name", default=None, help="who writes it (default: your login)"
    )
    answer.add_argument("--json", action="store_true", help="print JSON")
    _config_arg(answer)

    purge = sub.add_parser("purge", help="erase one person's data now (right to erasure)")
    _config_arg(purge)
    purge.add_argument("--number", required=True, help="the person's phone number")

    desk = sub.add_parser("desk", help="the advisors' web page: set a user's password")
    desk_actions = desk.add_subparsers(dest="desk_command", required=True, metavar="ACTION")
    passwd = desk_actions.add_parser(
        "passwd",
        help="set the password of a desk user (asked twice; two lines of stdin when piped)",
    )
    passwd.add_argument("name", help="the user, as listed under desk.users")
    _config_arg(passwd)

    completion = sub.add_parser("completion", help="print the shell completion script")
    completion.add_argument(
        "shell", choices=("bash",), help="the shell (bash; `ringback install` ships it)"
    )
    sub.add_parser("man", help="print the manual page ringback(1) in roff (man -l -)")


def _cases_command(sub: Any) -> None:
    from agent.model import STAFF_RESOLUTIONS

    cases = sub.add_parser("cases", help="the recovery cases: list, show, close, reopen")
    actions = cases.add_subparsers(dest="cases_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="cases, newest first (open ones by default)")
    listing.add_argument(
        "--state", choices=("open", "closed", "all"), default="open", help="default: open"
    )
    listing.add_argument("--department", default=None, help="only this department")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    show = actions.add_parser("show", help="one case: its calls, texts, replies, attempts")
    show.add_argument("id", type=int, help="the case's id")
    for action in (listing, show):
        action.add_argument("--full", action="store_true", help="full phone numbers")
    closing = actions.add_parser("close", help="close a case with a resolution")
    closing.add_argument("id", type=int, help="the case's id")
    closing.add_argument(
        "--resolution", required=True, help=", ".join(r.value for r in STAFF_RESOLUTIONS)
    )
    closing.add_argument("--note", default=None, help="a note kept with the case")
    reopen = actions.add_parser("reopen", help="reopen a case closed on a voicemail callback")
    reopen.add_argument("id", type=int, help="the case's id")
    for action in (closing, reopen):
        action.add_argument("--by", default=None, help="who acts (default: your login)")
    for action in (listing, show, closing, reopen):
        _config_arg(action)
        action.add_argument("--json", action="store_true", help="print JSON")


def _commands() -> dict[str, Callable[[argparse.Namespace], int]]:
    from agent.cli import commands

    return {
        "run": commands.cmd_run,
        "demo": commands.cmd_demo,
        "report": commands.cmd_report,
        "check-config": commands.cmd_check_config,
        "config": commands.cmd_config,
        "replay": commands.cmd_replay,
        "status": commands.cmd_status,
        "sms-preview": commands.cmd_sms_preview,
        "send-test": commands.cmd_send_test,
        "install": _cmd_install,
        "uninstall": commands.cmd_uninstall,
        "doctor": commands.cmd_doctor,
        "outbox": commands.cmd_outbox,
        "cases": commands.cmd_cases,
        "reply": commands.cmd_reply,
        "purge": commands.cmd_purge,
        "desk": commands.cmd_desk,
        "completion": _cmd_completion,
        "man": _cmd_man,
    }


def _no_httpx_cli() -> None:
    """httpx imports its command-line client (`rich`, `click`, `pygments`: 7 MB and
    70 ms) whenever those happen to be installed, as a test tool brings them into a
    development virtualenv; ringback never runs it, and an installed ringback lacks
    them. A `None` in sys.modules makes httpx take its fallback, as without them."""
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


# The commands that need the parser itself (docs generated from it) live here.


def _cmd_install(args: argparse.Namespace) -> int:
    from agent.cli.docs import shipped_docs
    from agent.ops.install import cmd_install

    return cmd_install(args, docs=shipped_docs(build_parser()))


def _cmd_completion(args: argparse.Namespace) -> int:
    from agent.cli.docs import bash_completion

    sys.stdout.write(bash_completion(build_parser()))
    return 0


def _cmd_man(args: argparse.Namespace) -> int:
    from agent.cli.docs import man_page

    sys.stdout.write(man_page(build_parser()))
    return 0


def main(argv: list[str] | None = None) -> int:
    _no_httpx_cli()
    args = build_parser().parse_args(argv)
    if args.command == "run":
        # The daemon's start makes ~100k objects that live as long as it does; the
        # collector would scan them again and again (50 ms of a half-second start).
        # agent.daemon.service turns it back on once ready, and freezes them.
        gc.disable()
    from agent.daemon import logs

    logs.setup("info", verbose=args.verbose)
    try:
        return _commands()[args.command](args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
