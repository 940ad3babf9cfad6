"""Bash completion and the man page, generated from the parser: every command and
option has help, is completed by a real bash, is in the man page, and is shipped by
`ringback install`."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.cli.docs import bash_completion, command_tree, man_page
from agent.cli.parser import build_parser
from tests.ops.test_install import install, mode

PARSER = build_parser()
TREE = command_tree(PARSER)
NODES = TREE.walk()


def test_every_command_argument_and_option_has_help() -> None:
    """A command, action, option or argument added without a help text fails here
    (and would be an empty entry in --help, the man page and the completion)."""
    missing = [" ".join(n.path) or "ringback" for n in NODES[1:] if not n.help.strip()]
    for node in NODES:
        for action in node.options + node.positionals:
            if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                missing.append(f"{' '.join(node.path)} {action.option_strings or action.dest}")
    assert missing == []


def test_the_man_page_lists_every_command_and_option() -> None:
    """Each command has its section, and in it each of its options and arguments."""
    page = man_page(PARSER)
    assert page.startswith(".TH RINGBACK 1 ")
    sections = re.split(r'^\.SS "', page, flags=re.M)
    by_command = {s.split('"', 1)[0]: s for s in sections[1:]}
    assert set(by_command) == {"ringback " + " ".join(n.path) for n in NODES[1:]}
    for node in NODES[1:]:
        text = by_command["ringback " + " ".join(node.path)]
        for action in node.options:
            for flag in action.option_strings:
                assert f"\\fB{flag.replace('-', chr(92) + '-')}\\fR" in text, (node.path, flag)
        for action in node.positionals:
            assert f"\\fI{action.metavar or action.dest}\\fR" in text, (node.path, action.dest)


@pytest.mark.skipif(shutil.which("man") is None, reason="no man(1) on this machine")
def test_man_renders_the_page(tmp_path: Path) -> None:
    """man(1) itself reads the page without a warning."""
    page = tmp_path / "ringback.1"
    page.write_text(man_page(PARSER))
    result = subprocess.run(
        ["man", "--warnings", "-l", str(page)],
        capture_output=True,
        text=True,
        env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ringback outbox list" in result.stdout
    assert result.stderr == ""


def complete(tmp_path: Path, *words: str) -> list[str]:
    """What a real bash offers for the command line `words` (the last is the word
    being typed), with the generated script sourced, from `tmp_path`."""
    script = tmp_path / "ringback.bash"
    script.write_text(bash_completion(PARSER))
    quoted = " ".join("'" + w + "'" for w in ("ringback", *words))
    program = (
        f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words)}; "
        '_ringback; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", program],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert result.stderr == ""
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completes_every_subcommand(tmp_path: Path) -> None:
    """`ringback <TAB>` offers every command; `ringback ou<TAB>` outbox alone."""
    commands = [n.path[0] for n in TREE.children]
    assert set(commands) <= set(complete(tmp_path, ""))
    assert complete(tmp_path, "ou") == ["outbox"]


def test_bash_completes_actions_options_choices_and_files(tmp_path: Path) -> None:
    """Actions of a command, options of an action (after -c FILE too), an option's
    choices, file names for file options and arguments, nothing for a free value."""
    (tmp_path / "ringback.yaml").write_text("")
    assert complete(tmp_path, "outbox", "") == ["list", "show", "retry", "cancel", "-c", "--config"]
    assert set(complete(tmp_path, "outbox", "-c", "x.yaml", "list", "--")) == {
        "--state", "--limit", "--config", "--json", "--full",
    }  # fmt: skip
    assert complete(tmp_path, "report", "--format", "") == ["text", "csv", "json", "html"]
    assert complete(tmp_path, "run", "-c", "ringback.y") == ["ringback.yaml"]
    assert complete(tmp_path, "check-config", "ringback.y") == ["ringback.yaml"]
    assert complete(tmp_path, "purge", "--number", "") == []


def test_install_ships_the_completion_and_the_man_page(tmp_path: Path) -> None:
    """A staged install writes both, generated from this parser, mode 0644; uninstall
    removes them."""
    root = tmp_path / "stage"
    assert install(root) == 0
    completion = root / "usr/local/share/bash-completion/completions/ringback"
    manual = root / "usr/local/share/man/man1/ringback.1"
    assert completion.read_text() == bash_completion(PARSER)
    assert manual.read_text() == man_page(PARSER)
    assert mode(completion) == mode(manual) == 0o644
    from agent.cli.parser import main

    assert main(["uninstall", "--root", str(root)]) == 0
    assert not completion.exists() and not manual.exists()
