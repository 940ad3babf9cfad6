"""The table of SMDR families, by `format:` name. Adding one is a module and a line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from drivers.sources.smdr.avaya_ipoffice import IpOfficeParser
from drivers.sources.smdr.config import SmdrConfig
from drivers.sources.smdr.custom import CustomParser
from drivers.sources.smdr.mitel_5000 import Mitel5000Parser
from drivers.sources.smdr.mitel_mivb import MitelMivbParser
from drivers.sources.smdr.nec import NecParser
from drivers.sources.smdr.panasonic import PanasonicParser
from drivers.sources.smdr.parsing import LineParser, ParseContext
from drivers.sources.smdr.samsung import SamsungParser
from drivers.sources.smdr.threecx import ThreeCxParser

FAMILIES: dict[str, Callable[[ParseContext], LineParser]] = {
    "avaya_ipoffice": IpOfficeParser,
    "mitel_mivb": MitelMivbParser,
    "mitel_5000": Mitel5000Parser,
    "nec": NecParser,
    "panasonic": PanasonicParser,
    "samsung": SamsungParser,
    "threecx": ThreeCxParser,
    "custom": CustomParser,
}


def make_parser(config: SmdrConfig, tz: tzinfo) -> LineParser:
    return FAMILIES[config.format](ParseContext.build(config, tz))
