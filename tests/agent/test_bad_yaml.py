"""Broken YAML of the corpus (tests/fixtures/bad_yaml/) is a ConfigError at its line.

A tag that does not construct, an alias inside the node it names, nesting thousands
deep, aliases that expand to a billion values: each must come back as a ConfigError
whose every problem reads `file:line: ...`, never as RecursionError, ValueError or
AttributeError out of the YAML library. The chaos suite sends the same files to the
running daemon with SIGHUP and at start."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.config.lines import MAX_DEPTH
from agent.config.settings import load
from agent.errors import ConfigError

CORPUS = Path(__file__).parent.parent / "fixtures" / "bad_yaml"
FILES = sorted(CORPUS.glob("*.yaml"))


def test_the_corpus_is_there() -> None:
    """The corpus holds the cases the issue names (a guard against an empty glob)."""
    names = {f.stem for f in FILES}
    assert {"timestamp_tag", "alias_self", "nesting_deep", "billion_laughs"} <= names


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_broken_yaml_is_a_config_error_with_its_line(path: Path) -> None:
    """Every file of the corpus is refused with `file:line:` problems."""
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.problems
    for problem in caught.value.problems:
        assert re.match(rf"{re.escape(str(path))}:\d+: ", problem), problem


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("timestamp_tag.yaml", 3, "timestamp value"),
        ("int_tag.yaml", 3, "int value 'zzz'"),
        ("alias_self.yaml", 3, "alias *a is inside the node it names"),
        ("alias_list.yaml", 1, "contains itself"),
        ("nesting_deep.yaml", 3, f"nested deeper than {MAX_DEPTH} levels"),
        ("nesting_deep_block.yaml", MAX_DEPTH + 1, "nested deeper"),
        ("billion_laughs.yaml", 5, "aliases expand to more than"),
    ],
)
def test_the_problem_names_what_and_where(name: str, line: int, words: str) -> None:
    """The message says what is wrong at the line where it is."""
    path = CORPUS / name
    with pytest.raises(ConfigError) as caught:
        load(path)
    first = caught.value.problems[0]
    assert first.startswith(f"{path}:{line}: "), first
    assert words in first


def test_anchors_and_aliases_that_are_fine_still_load(tmp_path: Path) -> None:
    """The shape check does not refuse ordinary anchors: an alias reused twice, a
    merge key, nesting a few levels deep."""
    from tests.agent.test_config import GOOD

    text = GOOD.replace('tue: "07:30-17:30"', 'tue: &h "07:30-17:30"\n      wed: *h\n      thu: *h')
    path = tmp_path / "ringback.yaml"
    path.write_text(text)
    loaded = load(path)
    assert loaded.settings.site.name == "Garage Laval"


def test_libyaml_and_the_python_parser_read_the_same() -> None:
    """A valid file is read with libyaml's parser (a hundred times faster than PyYAML's
    Python one, most of the daemon's start-up otherwise): the data, the line of every
    key and the keys given twice must be exactly what the Python parser reads."""
    from importlib import resources

    from agent.config import lines

    assert lines._FastLoader is not None, "PyYAML is built without libyaml here"
    example = resources.files("agent").joinpath("resources/ringback.example.yaml").read_text()
    twice = example.replace("  country: CA\n", "  country: CA\n  country: CA\n", 1)
    for text in (example, twice):
        fast = lines._parse(text, Path("x.yaml"), lines._FastLoader)
        slow = lines._parse(text, Path("x.yaml"), lines._LineLoader)
        assert fast == slow
    assert fast.problems, "the key given twice is reported"


def _outcome(read: Callable[[], object]) -> object:
    try:
        return read()
    except ConfigError as err:
        return err.problems


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_a_refused_file_reads_as_the_python_parser_words_it(path: Path) -> None:
    """Whatever libyaml says about a broken file, the technician reads PyYAML's message
    (the file is read again with the Python parser)."""
    from agent.config import lines

    text = path.read_text(errors="replace")
    fast = _outcome(lambda: lines.parse_yaml(text, path))
    assert fast == _outcome(lambda: lines._parse(text, path, lines._LineLoader))
