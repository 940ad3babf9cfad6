"""The `ringback` command line as a technician types it (issue 18): every argument
has a --help text, options go after the action as after the command."""

from __future__ import annotations

import argparse

import pytest

from agent.cli.parser import build_parser


def _arguments(parser: argparse.ArgumentParser, name: str) -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, child in action.choices.items():
                found += _arguments(child, f"{name} {sub}")
        elif not isinstance(action, argparse._HelpAction):
            found.append((name, action))
    return found


def test_every_argument_has_a_help_text() -> None:
    """`--help` of every subcommand explains each argument (check-config's path,
    replay's file, sms-preview's options, doctor's --json...)."""
    missing = [
        f"{name} {action.dest}"
        for name, action in _arguments(build_parser(), "ringback")
        if not action.help
    ]
    assert missing == []


def test_outbox_takes_its_options_after_the_action() -> None:
    """`outbox list -c FILE` works like `outbox -c FILE list`; neither loses the other."""
    parser = build_parser()
    assert str(parser.parse_args(["outbox", "list", "-c", "a.yaml"]).config) == "a.yaml"
    assert str(parser.parse_args(["outbox", "-c", "b.yaml", "list"]).config) == "b.yaml"
    assert str(parser.parse_args(["outbox", "retry", "7", "-c", "c.yaml"]).config) == "c.yaml"
    assert parser.parse_args(["outbox", "list"]).config is None


def test_outbox_list_refuses_an_unknown_state(capsys: pytest.CaptureFixture[str]) -> None:
    """`outbox list --state bogus` is a usage error naming the states (it listed
    nothing and exited 0, as if the queue were empty)."""
    from agent.cli.parser import main

    with pytest.raises(SystemExit) as stopped:
        main(["outbox", "list", "--state", "bogus"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in err and "'retry_wait'" in err
