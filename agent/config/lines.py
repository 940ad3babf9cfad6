"""YAML with line numbers, and validation errors a technician can act on.

`parse_yaml()` parses the text once into plain data, a map from key paths to the line
they start on and the problems YAML itself lets through (a key given twice);
`format_errors()` turns pydantic's errors into `PATH:LINE: key.path: what is wrong
(what is expected)`, or `RINGBACK_X__Y: key.path: ...` for a value an environment
variable gave.

The text is first read as a stream of events, which needs no recursion: nesting
deeper than `MAX_DEPTH`, an alias inside the very node it names (`a: &a [*a]`) and
aliases that expand to more than `MAX_NODES` nodes are refused there, at their line,
before the composer and constructor see them. A tagged value that does not construct
(`!!timestamp 2026-99-99`, `!!int zzz`) is an error at its line too: whatever the
YAML holds, the caller gets a ConfigError, never another exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from agent.errors import ConfigError

LinePath = tuple[str | int, ...]


class _ReadableTags(yaml.constructor.SafeConstructor):
    """Leaves dates as text: pydantic parses them, so an impossible date (`2026-13-45`)
    is an error at its line instead of a crash of the parser."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as err:  # a tagged scalar the constructor cannot read
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"{node.tag.rsplit(':', 1)[-1]} value {value_text(node.value)} cannot be read "
                f"({type(err).__name__})",
                node.start_mark,
            ) from None


class _LineLoader(_ReadableTags, yaml.SafeLoader):
    """PyYAML's own parser, in Python: the messages of every YAML error come from it."""


# libyaml's parser (PyYAML's C extension, when built with it) reads the same YAML about
# a hundred times faster: a valid file is read with it, and a file it refuses is read
# again with the Python parser, so an error reads the same whichever parser is there.
_Loader = type[yaml.SafeLoader] | type[yaml.CSafeLoader]
_FastLoader: _Loader | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _CLineLoader(_ReadableTags, yaml.CSafeLoader):
        """libyaml's parser, the same constructor and resolvers."""

    _FastLoader = _CLineLoader


MAX_DEPTH = 64
MAX_NODES = 100_000


_NO_TIMESTAMPS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.yaml_implicit_resolvers = _NO_TIMESTAMPS
if _FastLoader is not None:
    _FastLoader.yaml_implicit_resolvers = _NO_TIMESTAMPS


class Parsed(NamedTuple):
    data: dict[str, Any]
    lines: dict[LinePath, int]
    problems: list[str]


def parse_yaml(text: str, origin: Path) -> Parsed:
    """Parse YAML text; a syntax error raises ConfigError pointing at the line, a key
    given twice is a problem returned beside the data (the rest is still checked)."""
    if _FastLoader is not None:
        try:
            return _parse(text, origin, _FastLoader)
        except (yaml.YAMLError, ConfigError):
            pass  # read again below, for the Python parser's words
    return _parse(text, origin, _LineLoader)


def _parse(text: str, origin: Path, loader_class: _Loader) -> Parsed:
    lines: dict[LinePath, int] = {}
    problems: list[str] = []
    try:
        _check_shape(loader_class(text), origin)
        loader = loader_class(text)
        node = loader.get_single_node()
        if node is None:
            raise ConfigError([f"{origin}:1: the file is empty (expected the ringback settings)"])
        _walk(node, (), lines, problems, origin)
        data = loader.construct_document(node)
        loader.dispose()
    except yaml.YAMLError as err:
        if loader_class is not _LineLoader:
            raise
        raise ConfigError([_yaml_error(err, origin, text)]) from None
    if not isinstance(data, dict):
        raise ConfigError(
            [f"{origin}:1: the top level is not a mapping (expected keys such as site:, pbx:)"]
        )
    return Parsed(data, lines, problems)


def yaml_problem(text: str, origin: Path) -> tuple[dict[str, Any], dict[LinePath, int]]:
    """Parse YAML text; return (data, lines) or raise ConfigError with every problem."""
    parsed = parse_yaml(text, origin)
    if parsed.problems:
        raise ConfigError(parsed.problems)
    return parsed.data, parsed.lines


def _yaml_error(err: yaml.YAMLError, origin: Path, text: str) -> str:
    """At the line where the unclosed bracket or quote opened when YAML says where (it
    notices only further down, often past the last line), else where it stopped."""
    if isinstance(err, yaml.reader.ReaderError):  # a control character: not a text file
        line = text.count("\n", 0, err.position) + 1
        code = err.character if isinstance(err.character, int) else ord(str(err.character))
        return (
            f"{origin}:{line}: YAML syntax: character U+{code:04X} cannot be in a "
            "configuration (expected a text file; is it the right file?)"
        )
    mark = getattr(err, "problem_mark", None)
    opened = getattr(err, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    where = f" {context}" if context else ""
    if opened is not None and opened.line + 1 != line and _names_an_opening(context):
        where += f" opened here (noticed at line {line})"
        line = opened.line + 1
    last = max(1, len(text.splitlines()))
    if line > last:  # noticed at the end of the stream
        where += " at the end of the file"
        line = last
    return (
        f"{origin}:{line}: YAML syntax: {problem}{where} (expected valid YAML; check indentation)"
    )


def _check_shape(loader: yaml.SafeLoader | yaml.CSafeLoader, origin: Path) -> None:
    """One pass over the parser's events (a loop, no recursion): refuse nesting deeper
    than MAX_DEPTH, an alias to a node still open (it would contain itself) and aliases
    expanding past MAX_NODES nodes (the "billion laughs")."""
    open_anchors: list[str | None] = []
    counts: list[int] = [0]
    sizes: dict[str, int] = {}

    def refuse(event: yaml.Event, what: str) -> ConfigError:
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        return ConfigError([f"{origin}:{line}: YAML: {what}"])

    while loader.check_event():
        event = loader.get_event()
        assert event is not None  # check_event() said there is one
        if isinstance(event, yaml.CollectionStartEvent):
            open_anchors.append(event.anchor)
            counts.append(1)
            if len(open_anchors) > MAX_DEPTH:
                raise refuse(event, f"nested deeper than {MAX_DEPTH} levels (expected settings)")
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = open_anchors.pop(), counts.pop()
            if anchor is not None:
                sizes[anchor] = size
            counts[-1] += size
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in open_anchors:
                raise refuse(
                    event, f"alias *{event.anchor} is inside the node it names (it contains itself)"
                )
            counts[-1] += sizes.get(event.anchor or "", 1)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            counts[-1] += 1
        if counts[-1] > MAX_NODES or sum(counts) > MAX_NODES:
            raise refuse(event, f"aliases expand to more than {MAX_NODES} values")


def _walk(
    node: yaml.Node, path: LinePath, lines: dict[LinePath, int], problems: list[str], origin: Path
) -> None:
    """The line of every key path, and a problem for a key given twice in one mapping;
    a loop, and each node once (an alias is a node reached twice: its lines are those
    of its first place)."""
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, LinePath]] = [(node, path)]
    while stack:
        node, path = stack.pop()
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: dict[str, int] = {}
            for key, value in node.value:
                key_path = (*path, str(key.value))
                line = key.start_mark.line + 1
                if str(key.value) in keys:
                    dotted = ".".join(str(p) for p in key_path)
                    problems.append(
                        f"{origin}:{line}: {dotted}: given twice, at lines {keys[str(key.value)]} "
                        f"and {line} (expected each key once; YAML would keep only the last)"
                    )
                keys.setdefault(str(key.value), line)
                lines[key_path] = line
                stack.append((value, key_path))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                stack.append((item, (*path, index)))


def _names_an_opening(context: str | None) -> bool:
    """YAML's context marks an opening bracket or quote (not a whole block)."""
    return bool(context) and ("flow" in str(context) or "quoted" in str(context))


_SUBPATH = re.compile(r"^\[([\w.-]+)\] ")


def format_errors(
    err: ValidationError,
    origin: Path,
    lines: Mapping[LinePath, int],
    env: Mapping[LinePath, str] | None = None,
) -> list[str]:
    """One line per problem. A cross-field check points below the model it checks by
    starting its message with `[sub.key.path] `. A value given by an environment
    variable (`env`: key path -> variable) is blamed on the variable, not on the YAML."""
    problems = []
    for detail in err.errors(include_url=False):
        loc = _clean_loc(detail["loc"])
        ctx_error = str((detail.get("ctx") or {}).get("error", ""))
        sub = _SUBPATH.match(ctx_error)
        if detail["type"] == "value_error" and sub:
            extra = tuple(int(p) if p.isdigit() else p for p in sub.group(1).split("."))
            loc = (*loc, *extra)
            detail = {**detail, "ctx": {"error": ctx_error[sub.end() :]}}
        line = _line_for(loc, lines)
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        variable = _env_for(loc, env or {})
        if variable:
            where = f"{variable} (environment variable)"
        else:
            where = f"{origin}:{line}" if line else f"{origin}: environment override"
        explained = _explain(detail)
        if detail["type"] == "extra_forbidden":
            explained = _unknown_key(loc)
        if _is_secret(loc):
            explained = _explain({**detail, "input": "(hidden)"})
            typed = detail.get("input")
            if isinstance(typed, str) and typed.strip():
                # a secret typed where its file's path belongs is echoed by the check
                explained = explained.replace(typed, "(hidden)")
        problems.append(f"{where}: {dotted}: {explained}")
    return problems


def _clean_loc(loc: Sequence[str | int]) -> LinePath:
    """Drop the union tag pydantic inserts after a list index (`pbx.0.asterisk.port`)
    and the `function-after[...]` steps of validators."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        if out and isinstance(out[-1], int) and isinstance(part, str) and _is_tag(part):
            continue
        out.append(part)
    return tuple(out)


_SECRET_WORDS = ("secret", "token", "pin", "password")


def _is_secret(loc: LinePath) -> bool:
    """Never echo what a technician typed under a secret's key."""
    return any(isinstance(p, str) and any(w in p for w in _SECRET_WORDS) for p in loc)


def _is_tag(part: str) -> bool:
    from drivers.senders import SENDERS
    from drivers.sources import SOURCES

    return part in SOURCES or part in SENDERS


def _env_for(loc: LinePath, env: Mapping[LinePath, str]) -> str | None:
    """The variable that gave the value at `loc` or at one of its parents."""
    for end in range(len(loc), 0, -1):
        found = env.get(loc[:end])
        if found is not None:
            return found
    return None


def env_paths(data: Mapping[str, Any], prefix: str, path: LinePath = ()) -> dict[LinePath, str]:
    """Key path -> `RINGBACK_A__B` for every leaf the environment source produced."""
    found: dict[LinePath, str] = {}
    for key, value in data.items():
        here = (*path, key)
        if isinstance(value, Mapping) and value:
            found.update(env_paths(value, prefix, here))
        else:
            found[here] = prefix + "__".join(str(p) for p in here).upper()
    return found


def _line_for(loc: LinePath, lines: Mapping[LinePath, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        found = lines.get(loc[:end])
        if found is not None:
            return found
    return None


_EXPECTED = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping of keys",
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
    "path_type": "a file path",
    "date_parsing": "a date such as 2026-12-24",
    "date_type": "a date such as 2026-12-24",
    "date_from_datetime_parsing": "a date such as 2026-12-24",
    "date_from_datetime_inexact": "a date such as 2026-12-24",
}


def _unknown_key(loc: LinePath) -> str:
    from agent.config.suggest import did_you_mean

    meant = did_you_mean(loc)
    hint = f", did you mean {meant!r}?" if meant else ""
    return (
        f"unknown key{hint} (expected a key of ringback.example.yaml; check its spelling "
        "and indentation)"
    )


def _explain(detail: ErrorDetails) -> str:
    kind = detail["type"]
    value = detail.get("input")
    ctx = detail.get("ctx") or {}
    if kind == "missing":
        return "required key is missing (expected a value here)"
    if kind == "extra_forbidden":
        return (
            "unknown key (expected a key of ringback.example.yaml; check its spelling and "
            "indentation)"
        )
    if kind == "union_tag_invalid":
        tag, expected = value_text(ctx.get("tag")), ctx.get("expected_tags")
        return f"unknown type {tag} (expected one of: {expected})"
    if kind == "union_tag_not_found":
        return "no type: given (expected type: and name: on every item)"
    if kind == "literal_error":
        return f"{value_text(value)} is not allowed (expected {ctx.get('expected')})"
    if kind in _EXPECTED:
        return f"{value_text(value)} is not valid (expected {_EXPECTED[kind]})"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{value_text(value)} is out of range ({detail['msg'].lower()})"
    if kind == "too_short":
        return f"is empty or too short ({detail['msg'].lower()})"
    if kind == "value_error":
        return str(ctx.get("error", detail["msg"]))
    return f"{value_text(value)} is not valid: {detail['msg']} (expected a valid value here)"


def value_text(value: object) -> str:
    if isinstance(value, dict | list):
        return "a " + type(value).__name__.replace("dict", "mapping")
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
