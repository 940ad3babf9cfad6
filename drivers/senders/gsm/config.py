"""Options of the `gsm` sender (a GSM/LTE modem on a serial port). Light imports only."""

import re
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from drivers.base import DriverConfig, ReadableFile, e164_problem


class GsmConfig(DriverConfig):
    """A USB or serial modem that sends texts in PDU mode and reads the replies."""

    type: Literal["gsm"] = "gsm"
    port: Path = Field(
        description="The modem's AT port, by its stable name: "
        "/dev/serial/by-id/usb-<vendor>_<product>_<serial>-ifNN-port0 (never ttyUSBn)."
    )
    baudrate: int = Field(default=115200, gt=0, description="Ignored by USB modems.")
    rtscts: bool = Field(
        default=False, description="RTS/CTS flow control; only on an RS-232 link wiring it."
    )
    pin: SecretStr | None = Field(
        default=None,
        description="SIM PIN, sent once if the SIM asks; a rejected PIN is never retried.",
    )
    pin_file: ReadableFile | None = Field(
        default=None, description="File holding the SIM PIN (systemd credential)."
    )
    smsc: str | None = Field(
        default=None,
        description="SMS centre number (E.164) written in every PDU; empty = the SIM's.",
    )
    validity_minutes: int | None = Field(
        default=None,
        ge=5,
        description="How long the network keeps trying an undelivered text; empty = its default.",
    )
    status_reports: bool = Field(
        default=True,
        description="Ask the network for a delivery report for each part (TP-SRR) and "
        "hand the text's state to the daemon.",
    )
    max_parts: int = Field(
        default=6, ge=1, le=255, description="Longer texts are refused (cost guard)."
    )
    command_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Answer to a simple command."
    )
    sim_timeout_seconds: float = Field(default=10.0, gt=0, description="Answer to AT+CPIN.")
    prompt_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Wait for the '>' prompt after AT+CMGS."
    )
    submit_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Wait for +CMGS after the PDU; past it the outcome is unknown.",
    )
    health_poll_seconds: float = Field(
        default=60.0, gt=0, description="How often signal and registration are read."
    )
    inbox_poll_seconds: float = Field(
        default=300.0, gt=0, description="How often the SIM is listed for missed replies."
    )
    reopen_min_seconds: float = Field(
        default=1.0, gt=0, description="First wait before reopening a lost port."
    )
    reopen_max_seconds: float = Field(
        default=60.0, gt=0, description="Longest wait between reopen tries."
    )
    not_ready_retry_seconds: float = Field(
        default=60.0, ge=0, description="RetryLater hint while the modem is not ready."
    )
    device_fault_retry_seconds: float = Field(
        default=900.0,
        gt=0,
        description="After a SIM/plan fault, wait this long before re-initialising.",
    )
    inbound_part_wait_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Hand over an incomplete multi-part reply after this long.",
    )
    quiet_seconds: float = Field(
        default=0.2, gt=0, description="Silence that ends the discard after an ESC."
    )
    extra_init: list[str] = Field(
        default_factory=list,
        description="Vendor commands sent after initialisation, e.g. AT^CURC=0 (Huawei).",
    )

    secret_fields: ClassVar[tuple[str, ...]] = ("pin",)

    @field_validator("smsc")
    @classmethod
    def _smsc_e164(cls, value: str | None) -> str | None:
        problem = e164_problem(value, strict=False) if value else None
        if problem:
            raise ValueError(problem)
        return value or None

    @field_validator("extra_init")
    @classmethod
    def _at_commands(cls, value: list[str]) -> list[str]:
        for command in value:
            if not re.fullmatch(r"AT[ -~]{0,200}", command, re.IGNORECASE):
                raise ValueError(f"{command!r} is not a printable AT command")
        return value
