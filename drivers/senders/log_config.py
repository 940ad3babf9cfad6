from typing import Literal

from pydantic import Field

from drivers.base import DriverConfig


class LogConfig(DriverConfig):
    """Options of the `log` sender (dry run): nothing leaves the machine.

    `print` writes each text it would send to standard output as well as the log.
    `fail_every` makes every n-th send answer RetryLater (0 = never), for drills.
    `report` rehearses the carrier's delivery reports: each text sent is reported
    `delivered`, or `sms_incapable` (undelivered, the number cannot take texts, as a
    carrier says of a landline), at once -- before `send()` returns, as the fastest
    carrier can ("none": no report).
    """

    type: Literal["log"] = "log"
    print: bool = True
    fail_every: int = Field(default=0, ge=0)
    report: Literal["none", "delivered", "sms_incapable"] = "none"
