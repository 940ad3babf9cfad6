"""Options of the `smdr` source: where the SMDR stream comes from and how to read it.

Light on purpose (pydantic only): the SOURCES table imports it eagerly. Family
options live in one optional block per family; a block for another family than
`format` is refused so that a copy-pasted section fails loudly.
"""

import codecs
import re
from typing import Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from drivers.base import DriverConfig, is_offline

Family = Literal[
    "avaya_ipoffice",
    "mitel_mivb",
    "mitel_5000",
    "nec",
    "panasonic",
    "samsung",
    "threecx",
    "custom",
]

_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]*):(?P<port>\d{1,5})$")


def split_host_port(value: str) -> tuple[str, int]:
    """`host:port` -> (host, port); `[::1]:9000` for IPv6; empty host = all addresses."""
    match = _HOST_PORT.match(value.strip())
    if not match or not 0 < int(match["port"]) < 65536:
        raise ValueError(f"expected host:port (e.g. 0.0.0.0:1150), got {value!r}")
    return match["host"].strip("[]"), int(match["port"])


def _host_port(value: str | None) -> str | None:
    if value is not None:
        split_host_port(value)
    return value


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SerialSettings(_Block):
    """Line settings for a serial device (ignored for socket:// and listen)."""

    baudrate: int = Field(9600, gt=0, description="bits per second, as set on the PBX")
    bytesize: Literal[5, 6, 7, 8] = Field(8, description="data bits")
    parity: Literal["N", "E", "O", "M", "S"] = Field("N", description="N, E, O, M or S")
    stopbits: float = Field(1, description="stop bits: 1, 1.5 or 2")
    xonxoff: bool = Field(False, description="software flow control")
    rtscts: bool = Field(False, description="hardware (RTS/CTS) flow control")

    @field_validator("stopbits")
    @classmethod
    def _stopbits(cls, value: float) -> float:
        if value not in (1, 1.5, 2):
            raise ValueError("stop bits must be 1, 1.5 or 2")
        return value


class ThreeCxOptions(_Block):
    fields: tuple[str, ...] = Field(
        (
            "historyid", "callid", "duration", "time-start", "time-answered", "time-end",
            "reason-terminated", "from-no", "to-no", "from-dn", "to-dn", "dial-no",
            "reason-changed", "final-number", "final-dn", "bill-code", "bill-rate",
            "bill-cost", "bill-name", "chain", "from-type", "to-type", "final-type",
            "from-dispname", "to-dispname", "final-dispname", "missed-queue-calls",
        ),
        description="the CDR field list, in the order set in 3CX (Settings > CDR)",
    )  # fmt: skip
    times_are_utc: bool = Field(
        False, description="true if this 3CX version writes UTC times (else site local)"
    )

    @field_validator("fields")
    @classmethod
    def _needs_core(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        missing = {"time-start", "from-no"} - set(value)
        if missing:
            raise ValueError(f"3CX field list must contain {', '.join(sorted(missing))}")
        return value


class MitelMivbOptions(_Block):
    columns: dict[str, tuple[int, int]] = Field(
        default_factory=dict,
        description="override 1-based inclusive column ranges, e.g. {ani: [114, 133]}",
    )


class Mitel5000Options(_Block):
    framing: Literal["auto", "lines", "length_prefixed"] = Field(
        "auto", description="auto: length-prefixed on TCP (url socket://), lines on serial"
    )
    password: SecretStr | None = Field(None, description="SMDR socket password (often empty)")


class PanasonicOptions(_Block):
    date_order: Literal["auto", "mdy", "dmy"] = Field(
        "auto", description="auto: DD/MM when the first number > 12, else MM/DD"
    )
    time_marks: Literal["start", "end"] = Field(
        "end", description="KX-TDA/TDE/NS print the END time of the call; KX-TA the start"
    )


CustomField = Literal[
    "start", "date", "time", "caller", "caller_name", "dialed", "extension",
    "direction", "status", "ring", "talk", "call_id",
]  # fmt: skip


class CustomOptions(_Block):
    regex: str | None = Field(None, description="a regex with named groups (CustomField names)")
    csv_columns: dict[CustomField, int] | None = Field(
        None, description="0-based CSV column of each field (instead of regex)"
    )
    csv_delimiter: str = Field(",", min_length=1, max_length=1)
    datetime_format: str = Field(
        "%Y/%m/%d %H:%M:%S", description="strptime format of `start` or of `date time`"
    )
    inbound: tuple[str, ...] = Field(("I", "IN", "INBOUND"), description="direction values")
    outbound: tuple[str, ...] = Field(("O", "OUT", "OUTBOUND"), description="direction values")
    internal: tuple[str, ...] = Field(("INT", "INTERNAL", "L"), description="direction values")
    unanswered_status: tuple[str, ...] = Field(
        (), description="status values meaning not answered (else: talk time 0 = unanswered)"
    )

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        if (self.regex is None) == (self.csv_columns is None):
            raise ValueError("custom: give exactly one of `regex` or `csv_columns`")
        if self.regex is not None:
            try:
                groups = set(re.compile(self.regex).groupindex)
            except re.error as err:
                raise ValueError(f"custom.regex does not compile: {err}") from None
        else:
            groups = set(self.csv_columns or {})
        if not ({"start"} <= groups or {"date", "time"} <= groups):
            raise ValueError("custom: needs a `start` field, or `date` and `time` fields")
        unknown = groups - set(CustomField.__args__)  # type: ignore[attr-defined]
        if unknown:
            raise ValueError(f"custom.regex: unknown group(s) {', '.join(sorted(unknown))}")
        return self


_FAMILY_BLOCKS = {
    "threecx": "threecx",
    "mitel_mivb": "mitel_mivb",
    "mitel_5000": "mitel_5000",
    "panasonic": "panasonic",
    "custom": "custom",
}


class SmdrConfig(DriverConfig):
    """Options of the `smdr` source (see config/sections/pbx-smdr.yaml)."""

    type: Literal["smdr"] = "smdr"
    format: Family = Field(description="PBX family: which parser reads the lines")
    url: str | None = Field(
        None,
        description="pyserial URL or device path: /dev/serial/by-id/..., socket://host:port "
        "(ringback connects), rfc2217://host:port",
    )
    listen: str | None = Field(None, description="host:port where the PBX connects to ringback")
    serial: SerialSettings = Field(default_factory=SerialSettings)
    encoding: str = Field("utf-8", description="text encoding of the lines")
    voicemail: tuple[str, ...] = Field(
        (), description="voicemail devices/extensions/numbers (glob patterns, e.g. V95*)"
    )
    auto_attendant: tuple[str, ...] = Field(
        (), description="auto-attendant devices/extensions/called numbers (glob patterns)"
    )
    short_abandon_seconds: float = Field(
        0.0, ge=0, description="a missed call that rang less than this is short_abandon (0=off)"
    )
    continuation_timeout_seconds: float = Field(
        7200.0, gt=0, description="emit a multi-record call whose last record never came"
    )
    clock_tolerance_seconds: float = Field(
        300.0, ge=0, description="PBX clock ahead of ours by more than this = clamp, count"
    )
    reconnect_max_seconds: float = Field(30.0, ge=1, description="cap of the reconnect backoff")
    max_line_bytes: int = Field(4096, ge=128, description="longer lines are cut and counted")
    bad_lines_kept: int = Field(20, ge=0, le=1000, description="last bad raw lines kept")
    pass_through: str | None = Field(
        None, description="host:port that receives every raw byte unchanged (call accounting)"
    )
    pass_through_listen: str | None = Field(
        None, description="host:port where call-accounting clients connect for the raw bytes"
    )
    pass_through_serial: str | None = Field(
        None, description="serial device or pyserial URL that gets every raw byte unchanged"
    )
    pass_through_serial_settings: SerialSettings = Field(default_factory=SerialSettings)
    threecx: ThreeCxOptions | None = None
    mitel_mivb: MitelMivbOptions | None = None
    mitel_5000: Mitel5000Options | None = None
    panasonic: PanasonicOptions | None = None
    custom: CustomOptions | None = None

    _check_listen = field_validator("listen", "pass_through", "pass_through_listen")(_host_port)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, cp1252, ascii)") from None
        return value

    @model_validator(mode="after")
    def _coherent(self, info: ValidationInfo) -> Self:
        offline = is_offline(info)  # `ringback replay`
        if (self.url is None) == (self.listen is None) and not (offline and self.url is None):
            raise ValueError("give exactly one of `url` (ringback connects) or `listen`")
        for block, family in _FAMILY_BLOCKS.items():
            if getattr(self, block) is not None and self.format != family:
                raise ValueError(f"option block `{block}` given but format is {self.format!r}")
        if self.format == "custom" and self.custom is None:
            raise ValueError("format custom needs a `custom:` block (regex or csv_columns)")
        return self
