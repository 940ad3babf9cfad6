"""SmdrConfig validation, the example YAML section, and the honesty of the tables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from drivers.sources import SOURCES
from drivers.sources.smdr import families
from drivers.sources.smdr.config import Family, SmdrConfig
from tests.drivers.smdr.helpers import VENDORS, config

SECTION = Path(__file__).parents[3] / "config" / "sections" / "pbx-smdr.yaml"


def _uncommented(text: str) -> Any:
    """The section with its first-level comment markers removed (every option on)."""
    lines = [re.sub(r"^  #", "  ", line) for line in text.splitlines() if line.startswith("  #")]
    body = "\n".join(lines[3:])  # skip the three lines of prose before `- type:`
    return yaml.safe_load(body)


def test_example_section_documents_a_valid_ip_office_source() -> None:
    """Pins that config/sections/pbx-smdr.yaml, uncommented, is a valid smdr item
    (IP Office, listen mode) and mentions every option of SmdrConfig."""
    text = SECTION.read_text(encoding="utf-8")
    (item,) = _uncommented(text)
    cfg = SmdrConfig.model_validate(item)
    assert cfg.format == "avaya_ipoffice" and cfg.listen == "0.0.0.0:1150"
    for name in SmdrConfig.model_fields:
        assert re.search(rf"\b{name}:", text), f"option {name} is not documented"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": None}, "exactly one of `url`"),
        ({"listen": "0.0.0.0:1150"}, "exactly one of `url`"),
        ({"url": None, "listen": "nohost"}, "expected host:port"),
        ({"encoding": "klingon"}, "unknown encoding"),
        ({"threecx": {}}, "option block `threecx` given but format is 'nec'"),
        ({"serial": {"stopbits": 3}}, "stop bits must be 1, 1.5 or 2"),
        ({"pass_through": "127.0.0.1:99999"}, "expected host:port"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_config_errors_are_clear(options: dict[str, Any], message: str) -> None:
    """Pins the validation messages a technician sees for common mistakes."""
    with pytest.raises(ValidationError) as err:
        config("nec", **options)
    assert message in str(err.value)


def test_custom_needs_a_usable_description() -> None:
    """Pins the custom family's checks: its block, one shape, a start time, known
    group names, a regex that compiles."""
    with pytest.raises(ValidationError, match="needs a `custom:` block"):
        config("custom")
    with pytest.raises(ValidationError, match="unknown group"):
        config("custom", custom={"regex": r"(?P<start>.+) (?P<colour>\w+)"})
    with pytest.raises(ValidationError, match="does not compile"):
        config("custom", custom={"regex": r"(?P<start>"})
    with pytest.raises(ValidationError, match="needs a `start` field"):
        config("custom", custom={"csv_columns": {"caller": 1}})


def test_family_table_matches_the_format_names_and_fixtures() -> None:
    """Pins that every `format:` value has a parser in FAMILIES (and nothing else
    does), that every fixture vendor maps to one, and that SOURCES knows smdr with
    its replay function."""
    assert set(families.FAMILIES) == set(Family.__args__)  # type: ignore[attr-defined]
    assert set(VENDORS.values()) <= set(families.FAMILIES)
    entry = SOURCES["smdr"]
    assert entry.config is SmdrConfig
    assert entry.load().__name__ == "SmdrSource"
    replay = entry.load_replay()
    assert replay is not None and replay.__name__ == "replay"


def test_offline_replay_config_needs_no_endpoint() -> None:
    """Pins that `ringback replay --source smdr --format F` (validation context
    offline) builds a config without url or listen, while a live one still needs it."""
    data = {"type": "smdr", "name": "smdr", "format": "nec"}
    assert SmdrConfig.model_validate(data, context={"offline": True}).url is None
    with pytest.raises(ValidationError, match="exactly one of"):
        SmdrConfig.model_validate(data)
