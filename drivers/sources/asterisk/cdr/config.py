"""Options of the catch-up reader (`catchup:` under an `asterisk` source). Light."""

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from drivers.base import ReadableFile

# cdr_csv's columns in their fixed order: 16 always, then uniqueid (loguniqueid=yes),
# userfield (loguserfield=yes), then peeraccount, linkedid, sequence (newcdrcolumns=yes).
CSV_BASE = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
CSV_OPTIONAL = ("uniqueid", "userfield", "peeraccount", "linkedid", "sequence")
CsvOptional = Literal["uniqueid", "userfield", "peeraccount", "linkedid", "sequence"]


class CatchupConfig(BaseModel):
    """Where the PBX keeps its CDR/CEL rows and how far back to read them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["mysql", "csv", "sqlite"] = Field(
        description="mysql (FreePBX asteriskcdrdb), csv (Master.csv), sqlite (cdr_sqlite3_custom)"
    )
    # mysql
    host: str = Field(default="localhost", description="MariaDB/MySQL host")
    port: int = Field(default=3306, ge=1, le=65535, description="MariaDB/MySQL TCP port")
    unix_socket: Path | None = Field(default=None, description="socket path (instead of TCP)")
    user: str = Field(default="ringback", min_length=1, description="read-only user")
    password: SecretStr | None = Field(default=None, description="that user's password")
    password_file: ReadableFile | None = Field(default=None, description="file holding it")
    database: str = Field(default="asteriskcdrdb", min_length=1, description="CDR database")
    cdr_table: str = Field(default="cdr", pattern=r"^[A-Za-z0-9_]+$", description="CDR table")
    cel_table: str | None = Field(
        default="cel", pattern=r"^[A-Za-z0-9_]+$", description="CEL table; null: CDR only"
    )
    # csv / sqlite
    path: Path | None = Field(default=None, description="Master.csv or the SQLite file")
    csv_columns: list[CsvOptional] | None = Field(
        default=None,
        description="optional Master.csv columns present, in order; null: by column count",
    )
    sqlite_table: str = Field(default="cdr", pattern=r"^[A-Za-z0-9_]+$", description="table")
    # all
    times: Literal["local", "utc"] = Field(
        default="local", description="CDR times: site local time, or UTC (usegmtime=yes)"
    )
    max_lookback_hours: float = Field(default=24.0, gt=0, description="never read further back")
    overlap_minutes: float = Field(
        default=60.0, ge=0, description="re-read before the last call seen (late rows, batch mode)"
    )
    timeout_seconds: float = Field(default=10.0, gt=0, description="one read, connect included")
    retry_seconds: float = Field(default=60.0, gt=0, description="wait after a failed read")

    @model_validator(mode="after")
    def _check_backend(self) -> Self:
        if self.backend in ("csv", "sqlite") and self.path is None:
            raise ValueError(f"path is required for backend {self.backend}")
        if self.csv_columns is not None:
            order = [CSV_OPTIONAL.index(c) for c in self.csv_columns]
            if order != sorted(set(order)):
                raise ValueError(
                    "csv_columns must keep cdr_csv's order without repeats: "
                    + ", ".join(CSV_OPTIONAL)
                )
        return self
