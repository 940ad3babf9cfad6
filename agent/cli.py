"""The `ringback` command: one subcommand per job, each in its own module.

Exit codes: 0 fine, 1 runtime failure, 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from agent import __version__

log = logging.getLogger("ringback")


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
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

    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("path", nargs="?", type=Path, default=None)

    replay = sub.add_parser("replay", help="run a recorded PBX stream through the parser")
    replay.add_argument("--source", required=True, help="source type (asterisk, smdr, replay)")
    replay.add_argument("--format", default=None, help="SMDR family (avaya_ipoffice, nec, ...)")
    replay.add_argument(
        "--decisions", action="store_true", help="also print department, decision, reason and text"
    )
    replay.add_argument("file", type=Path)
    _config_arg(replay)

    status = sub.add_parser("status", help="what is connected, queued and failing")
    _config_arg(status)
    status.add_argument("--json", action="store_true", help="print the raw status document")

    preview = sub.add_parser("sms-preview", help="encoding, segments and PDUs of a text")
    preview.add_argument("--text", required=True)
    preview.add_argument("--to", default=None, help="destination, E.164 (for --pdu)")
    preview.add_argument("--pdu", action="store_true", help="print each AT+CMGS length and PDU")
    preview.add_argument("--json", action="store_true")

    send_test = sub.add_parser("send-test", help="send one test text through the senders")
    send_test.add_argument("--to", required=True, help="destination number")
    send_test.add_argument("--sender", default=None, help="only this sender (by name)")
    _config_arg(send_test)
    return parser


def _commands() -> dict[str, Callable[[argparse.Namespace], int]]:
    from agent import commands

    return {
        "run": commands.cmd_run,
        "demo": commands.cmd_demo,
        "check-config": commands.cmd_check_config,
        "replay": commands.cmd_replay,
        "status": commands.cmd_status,
        "sms-preview": commands.cmd_sms_preview,
        "send-test": commands.cmd_send_test,
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from agent import logs

    logs.setup("info", verbose=args.verbose)
    try:
        return _commands()[args.command](args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
