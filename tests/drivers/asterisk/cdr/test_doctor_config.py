"""`ringback doctor` checks the catch-up back-end beside AMI; the `catchup:` options
are documented in the example section and their errors are specific."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from drivers.base import SiteContext
from drivers.sources.asterisk.cdr.config import CatchupConfig
from drivers.sources.asterisk.doctor import check
from drivers.sources.asterisk.fake_server import FakeAmiServer
from tests.drivers.asterisk.cdr.conftest import PASSWORD, make_config, mysql_options
from tests.peers.mariadb import MariaDB

SECTION = Path(__file__).parents[4] / "config" / "sections" / "pbx-asterisk.yaml"


def with_ami(server: FakeAmiServer, **catchup: Any) -> Any:
    config = make_config(**catchup)
    return config.model_copy(update={"port": server.port})


async def test_doctor_reaches_the_cdr_database(
    mariadb: MariaDB, cdrdb: str, site: SiteContext
) -> None:
    """With the read-only user, doctor passes and names the tables it could read."""
    async with FakeAmiServer() as server:
        result = await check(with_ami(server, **mysql_options(mariadb, cdrdb)), site, 10)
    assert result.ok, result.message
    assert f"database {cdrdb!r}" in result.message
    assert "table 'cdr' readable" in result.message and "CEL table 'cel' readable" in result.message


async def test_doctor_wrong_cdr_password_fails_with_a_hint(
    mariadb: MariaDB, cdrdb: str, site: SiteContext
) -> None:
    """A refused CDR login fails doctor even when AMI is fine; the hint names the
    credential and the grant; the password never appears."""
    options = mysql_options(mariadb, cdrdb, password="wrong-one")
    async with FakeAmiServer() as server:
        result = await check(with_ami(server, **options), site, 10)
    assert not result.ok
    assert "Access denied" in result.message
    assert "pbx.cdr_password" in result.hint
    assert "SELECT ON" in result.hint
    assert "wrong-one" not in result.message + result.hint and PASSWORD not in result.hint


async def test_doctor_missing_master_csv(tmp_path: Path, site: SiteContext) -> None:
    """A Master.csv that is not there fails doctor naming the path."""
    missing = tmp_path / "Master.csv"
    async with FakeAmiServer() as server:
        result = await check(with_ami(server, backend="csv", path=str(missing)), site, 10)
    assert not result.ok
    assert str(missing) in result.message and "catchup.path" in result.hint


def test_every_catchup_option_is_in_the_example_section() -> None:
    """Each CatchupConfig option is documented in the asterisk section, and the
    commented block, uncommented, is a valid `catchup:`."""
    text = SECTION.read_text(encoding="utf-8")
    for name in CatchupConfig.model_fields:
        assert f"{name}:" in text, name
    start = text.index("# catchup:")
    block = [re.sub(r"^\s*# ?", "", line) for line in text[start:].splitlines()]
    parsed = yaml.safe_load("\n".join(block))
    config = CatchupConfig(**parsed["catchup"])
    assert config.backend == "mysql" and config.database == "asteriskcdrdb"


def test_csv_backend_needs_a_path() -> None:
    """backend csv without `path` is refused with a message naming what is missing."""
    with pytest.raises(ValidationError, match="path is required for backend csv"):
        make_config(backend="csv")
