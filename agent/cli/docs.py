"""Shell completion and the man page, both generated from the argparse parser, so a
command or option added to `agent/cli/parser.py` appears in both (and a test fails if
it has no help text).

`ringback completion bash` prints a bash completion script (no dependency: the words
are tables in the script); `ringback man` prints ringback(1) in roff. `ringback
install` ships both (`shipped_docs`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from agent import __version__
from agent.ops.install_steps import COMPLETION_PATH, MAN_PATH


@dataclass
class Command:
    """One node of the command tree: `ringback outbox list` is ("outbox", "list")."""

    path: tuple[str, ...]
    help: str
    parser: argparse.ArgumentParser
    options: list[argparse.Action] = field(default_factory=list)
    positionals: list[argparse.Action] = field(default_factory=list)
    children: list[Command] = field(default_factory=list)

    def walk(self) -> list[Command]:
        return [self, *(node for child in self.children for node in child.walk())]


def command_tree(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = (), help: str = ""
) -> Command:
    node = Command(path, help or (parser.description or ""), parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                node.children.append(command_tree(sub, (*path, name), helps.get(name, "")))
        elif isinstance(action, argparse._HelpAction):
            continue
        elif action.option_strings:
            node.options.append(action)
        else:
            node.positionals.append(action)
    return node


def takes_file(action: argparse.Action) -> bool:
    return action.type is Path


# --- bash --------------------------------------------------------------------------


def _q(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def bash_completion(parser: argparse.ArgumentParser) -> str:
    """A bash script completing subcommands, options, option choices and file names."""
    words: list[str] = []
    values: list[str] = []
    files: list[str] = []
    for node in command_tree(parser).walk():
        key = " ".join(("ringback", *node.path))  # bash refuses an empty key
        flags = [s for a in node.options for s in a.option_strings]
        words.append(f"  [{_q(key)}]={_q(' '.join([c.path[-1] for c in node.children] + flags))}")
        for action in node.options:
            if action.nargs == 0:
                continue
            kind = "file" if takes_file(action) else " ".join(map(str, action.choices or ()))
            for flag in action.option_strings:
                values.append(f"  [{_q(key + '|' + flag)}]={_q(kind or '-')}")
        if any(takes_file(a) for a in node.positionals):
            files.append(f"  [{_q(key)}]=1")
    return _BASH.format(
        version=__version__,
        words="\n".join(words),
        values="\n".join(values),
        files="\n".join(files),
    )


_BASH = """\
# bash completion for ringback {version}, generated from its parser: `ringback completion bash`
declare -gA _ringback_words=(
{words}
)
# "command|option" -> "file", the option's choices, or "-" (a value to type)
declare -gA _ringback_values=(
{values}
)
declare -gA _ringback_files=(
{files}
)

_ringback() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local path=ringback next i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        next="$path $w"
        if [[ $w != -* && -n "${{_ringback_words[$next]+x}}" ]]; then
            path="$next"
        fi
    done
    local value="${{_ringback_values[$path|$prev]-}}"
    if [[ $value == file ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    elif [[ $value == - ]]; then
        COMPREPLY=()
        return
    elif [[ -n $value ]]; then
        COMPREPLY=($(compgen -W "$value" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -W "${{_ringback_words[$path]}}" -- "$cur"))
    if [[ $cur != -* && -n "${{_ringback_files[$path]-}}" ]]; then
        COMPREPLY+=($(compgen -f -- "$cur"))
    fi
}}
complete -o filenames -F _ringback ringback
"""


# --- man ---------------------------------------------------------------------------


def _roff(text: str) -> str:
    out = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + out if out[:1] in (".", "'") else out


def _option(action: argparse.Action) -> str:
    flags = ", ".join(f"\\fB{_roff(s)}\\fR" for s in action.option_strings)
    if action.nargs == 0:
        return flags
    if action.choices:
        metavar = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        metavar = str(action.metavar or action.dest.upper())
    return f"{flags} \\fI{_roff(metavar)}\\fR"


def man_page(parser: argparse.ArgumentParser) -> str:
    """ringback(1): every command with its options and arguments, in roff."""
    tree = command_tree(parser)
    lines = [
        f'.TH RINGBACK 1 "{date.today():%Y-%m-%d}" "ringback {__version__}" "User Commands"',
        ".SH NAME",
        "ringback \\- " + _roff((parser.description or "").rstrip(".").lower()),
        ".SH SYNOPSIS",
        ".B ringback",
        "[\\fB\\-v\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        _roff(
            "An on-premise agent: it reads the phone system's call records, decides for "
            "each missed call whether to text the caller, sends the texts and keeps the "
            "recovery cases. Each command below says what it does; `ringback COMMAND "
            "--help` says the same."
        ),
        ".SH OPTIONS",
    ]
    lines += _options(tree)
    lines.append(".SH COMMANDS")
    for node in tree.walk()[1:]:
        lines += [f'.SS "ringback {" ".join(node.path)}"', _roff(node.help)]
        lines += _options(node)
    lines += [
        ".SH EXIT STATUS",
        _roff(
            "0 fine, 1 runtime failure, 2 configuration or usage error; `ringback run` "
            "also exits 3 when the store is unusable or another daemon holds it, and "
            "`ringback status` exits 1 when the agent is not ready."
        ),
        ".SH FILES",
        ".TP",
        "\\fI/etc/ringback/ringback.yaml\\fR",
        "the configuration (\\fBringback config example\\fR prints a commented one)",
        ".TP",
        "\\fI/etc/ringback/credentials/\\fR",
        "secrets, one file each, handed to the service by systemd",
        ".TP",
        "\\fI/var/lib/ringback/ringback.db\\fR",
        "the SQLite store",
        ".SH ENVIRONMENT",
        ".TP",
        "\\fBRINGBACK_CONFIG\\fR",
        "the configuration file when \\fB\\-c\\fR is not given",
        ".SH SEE ALSO",
        "\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1)",
    ]
    return "\n".join(lines) + "\n"


def _options(node: Command) -> list[str]:
    out: list[str] = []
    for action in node.positionals:
        out += [
            ".TP",
            f"\\fI{_roff(str(action.metavar or action.dest))}\\fR",
            _roff(action.help or ""),
        ]
    for action in node.options:
        out += [".TP", _option(action), _roff(action.help or "")]
    return out


def shipped_docs(parser: argparse.ArgumentParser) -> dict[str, bytes]:
    """What `ringback install` writes beside the unit: completion and man page."""
    return {
        COMPLETION_PATH: bash_completion(parser).encode(),
        MAN_PATH: man_page(parser).encode(),
    }
