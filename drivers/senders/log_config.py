from typing import Literal

from pydantic import Field

from drivers.base import DriverConfig


class LogConfig(DriverConfig):
    """Options of the `log` sender (dry run): nothing leaves the machine.

    `print` writes each text it would send to standard output as well as the log.
    `fail_every` makes every n-th send answer RetryLater (0 = never), for drills.
    """

    type: Literal["log"] = "log"
    print: bool = True
    fail_every: int = Field(default=0, ge=0)
