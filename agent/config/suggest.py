"""The key a technician probably meant: an unknown key compared with the keys the
commented example (`agent/resources/ringback.example.yaml`) has at the same place.

`did_you_mean(("pbx", 0, "usernam"))` is `"username"`: list items are compared with
every item of the example's list (any `type:`), so a key of another driver may be
suggested; nothing is suggested when no key is close (difflib, ratio 0.75). The
example is read once, only when a configuration has an unknown key.
"""

from __future__ import annotations

import difflib
from functools import cache
from importlib import resources

import yaml

Path_ = tuple[str | int, ...]


def did_you_mean(loc: Path_) -> str | None:
    """The example's key closest to the last part of `loc`, among its siblings."""
    if not loc or not isinstance(loc[-1], str):
        return None
    siblings = _keys().get(_general(loc[:-1]), set())
    found = difflib.get_close_matches(loc[-1], sorted(siblings), n=1, cutoff=0.75)
    return found[0] if found else None


def _general(loc: Path_) -> tuple[str, ...]:
    return tuple("*" if isinstance(part, int) else part for part in loc)


@cache
def _keys() -> dict[tuple[str, ...], set[str]]:
    text = resources.files("agent.resources").joinpath("ringback.example.yaml").read_text("utf-8")
    found: dict[tuple[str, ...], set[str]] = {}
    todo: list[tuple[tuple[str, ...], object]] = [((), yaml.safe_load(text))]
    while todo:
        where, node = todo.pop()
        if isinstance(node, dict):
            found.setdefault(where, set()).update(str(k) for k in node)
            todo.extend(((*where, str(k)), v) for k, v in node.items())
        elif isinstance(node, list):
            todo.extend(((*where, "*"), v) for v in node)
    return found
