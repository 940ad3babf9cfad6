"""Options of the `asterisk` source (light: pydantic only, imported by the table)."""

from typing import ClassVar, Literal, Self

from pydantic import Field, SecretStr, model_validator

from drivers.base import DriverConfig, ReadableFile, read_secret
from drivers.sources.asterisk.cdr.config import CatchupConfig

Patterns = list[str]


class AsteriskConfig(DriverConfig):
    """How to reach the Asterisk Manager Interface and how to read its dialplan.

    Context and application names are shell-style patterns (`ivr-*`), matched
    case-sensitively like Asterisk does. Every default fits a stock FreePBX.
    """

    type: Literal["asterisk"] = "asterisk"
    host: str = Field(default="127.0.0.1", description="AMI host (manager.conf bindaddr)")
    port: int = Field(default=5038, ge=1, le=65535, description="AMI TCP port")
    username: str = Field(default="ringback", min_length=1, description="AMI user")
    secret: SecretStr | None = Field(default=None, description="AMI secret")
    secret_file: ReadableFile | None = Field(default=None, description="file holding the secret")

    connect_timeout_seconds: float = Field(default=10.0, gt=0, description="TCP connect + login")
    ping_interval_seconds: float = Field(default=20.0, gt=0, description="keep-alive Ping period")
    ping_timeout_seconds: float = Field(default=10.0, gt=0, description="Pong wait")
    reconnect_min_seconds: float = Field(default=1.0, gt=0, description="first reconnect delay")
    reconnect_max_seconds: float = Field(default=60.0, gt=0, description="reconnect delay cap")
    event_filter: bool = Field(
        default=True, description="ask Asterisk (Filter action) for the needed events only"
    )
    max_frame_bytes: int = Field(
        default=65536, ge=1024, description="frames longer than this are dropped and counted"
    )

    inbound_contexts: Patterns = Field(
        default=["from-pstn", "from-pstn-*", "from-trunk", "from-trunk-*", "from-did-direct"],
        description="a call whose first channel starts here is inbound",
    )
    trunks: Patterns = Field(
        default=[], description="trunk endpoints (the `pstn` of PJSIP/pstn-0001); inbound too"
    )
    internal_contexts: Patterns = Field(
        default=["from-internal", "from-internal-*", "ext-local"],
        description="contexts of desk phones: internal or outbound calls start here",
    )
    outbound_contexts: Patterns = Field(
        default=["outbound-allroutes", "outrt-*", "macro-dialout-trunk", "sub-dialout-trunk*"],
        description="a call from a phone that passes here is outbound",
    )
    external_min_digits: int = Field(
        default=7, ge=1, description="a phone dialling at least this many digits calls out"
    )
    ivr_contexts: Patterns = Field(default=["ivr-*"], description="phone menu contexts")
    queue_contexts: Patterns = Field(default=["ext-queues"], description="queue contexts")
    voicemail_contexts: Patterns = Field(
        default=["macro-vm", "sub-vm*", "app-vmmain", "vmx-*"], description="voicemail contexts"
    )
    voicemail_applications: Patterns = Field(
        default=["VoiceMail", "VoiceMailMain"], description="dialplan apps that take a message"
    )
    ringgroup_contexts: Patterns = Field(
        default=["ext-group"], description="ring group contexts (their extension is recorded)"
    )
    short_abandon_seconds: float = Field(
        default=4.0, ge=0, description="caller gone within this many seconds: short_abandon"
    )
    call_idle_timeout_seconds: float = Field(
        default=14400.0, gt=0, description="a call with no event this long is evicted"
    )

    catchup: CatchupConfig | None = Field(
        default=None, description="read the PBX's CDR/CEL rows after a start or reconnect"
    )

    originate_channel: str = Field(
        default="Local/{extension}@from-internal",
        description="the desk's click-to-call: the advisor's phone rung first",
    )
    originate_context: str = Field(
        default="from-internal", description="where the answered phone then dials the caller"
    )
    originate_exten: Literal["national", "e164", "digits"] = Field(
        default="national", description="how the caller's number is dialled from there"
    )

    secret_fields: ClassVar[tuple[str, ...]] = ("secret",)
    required_secrets: ClassVar[tuple[str, ...]] = ("secret",)

    @model_validator(mode="after")
    def _check_backoff(self) -> Self:
        if self.reconnect_max_seconds < self.reconnect_min_seconds:
            raise ValueError("reconnect_max_seconds must be >= reconnect_min_seconds")
        return self

    @model_validator(mode="after")
    def _catchup_password(self) -> Self:
        """The CDR password, like every secret: YAML, `password_file`, the environment
        (`RINGBACK_<NAME>_CDR_PASSWORD`) or the credential `<name>.cdr_password`."""
        cfg = self.catchup
        if cfg is not None and cfg.backend == "mysql":
            value = read_secret(self.name, "cdr_password", cfg.password, cfg.password_file)
            object.__setattr__(cfg, "password", value)
        return self
