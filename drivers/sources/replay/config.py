from pathlib import Path
from typing import Literal

from pydantic import Field

from drivers.base import DriverConfig


class ReplayConfig(DriverConfig):
    """Options of the `replay` source.

    `path` is a JSON-lines file of call records (one object per line with the
    `CallRecord` fields); empty means the calls bundled with ringback for the demo.
    `speed` scales the recorded gaps between hang-ups (0 = as fast as possible).
    `shift_to_now` moves the recording so that its last call ends now.
    """

    type: Literal["replay"] = "replay"
    path: Path | None = None
    speed: float = Field(default=0.0, ge=0.0)
    shift_to_now: bool = True
