"""ringback's exception tree: shallow, one branch per boundary.

    RingbackError
     +-- ConfigError      the YAML, a secret file or an option is wrong (exit 2)
     +-- StoreError       the SQLite store cannot be opened, migrated or written
     +-- DriverError      a PBX or SMS driver cannot do what it was configured for
     +-- ListenError      the status API or the desk cannot listen where configured (exit 1)

Expected outcomes (a text refused, a PBX unreachable for a while) are return values
and health states, not exceptions. Library exceptions are wrapped at the driver
boundary with ``raise DriverError(...) from err``. Messages never contain secrets.
"""


class RingbackError(Exception):
    """Base of every error ringback raises on purpose."""


class ConfigError(RingbackError):
    """Invalid configuration. `problems` holds one `file:line: path: message` each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StoreError(RingbackError):
    """The store is unusable (unwritable directory, corrupt file, failed migration)."""


class DriverError(RingbackError):
    """A driver failed in a way its caller must handle (not a per-message result)."""


class ListenError(RingbackError):
    """A server of the daemon cannot listen on its configured address (in use, no such
    address, its TLS files unreadable): the start fails with this one line."""
