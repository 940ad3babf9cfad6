"""Who holds a TCP port: the one line `ringback run` adds when its address is in use.

Reads Linux's /proc (`/proc/net/tcp{,6}` for the listening socket's inode, then each
process's open files for that inode). Best effort: another user's processes are only
visible to root, and off Linux nothing is known; the answer is then None.
"""

from __future__ import annotations

import os
from pathlib import Path

LISTEN = "0A"


def listening_inodes(port: int, proc: Path = Path("/proc")) -> set[str]:
    """Inodes of the sockets listening on `port`, on any address."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            local_port = fields[1].rpartition(":")[2]
            if int(local_port, 16) == port and fields[9] != "0":
                inodes.add(fields[9])
    return inodes


def port_holder(port: int, proc: Path = Path("/proc")) -> str | None:
    """`pid 1234 (nginx)` for the process listening on `port`, or None if unknown."""
    inodes = listening_inodes(port, proc)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in proc.iterdir():
        if not entry.name.isdigit() or entry.name == str(os.getpid()):
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if links & wanted:
            try:
                name = (entry / "comm").read_text(encoding="utf-8").strip()
            except OSError:
                name = "?"
            return f"pid {entry.name} ({name})"
    return None


def cannot_listen(what: str, listen: str, port: int, err: OSError) -> str:
    """The one line for a server that cannot bind: the address, why, and who holds it."""
    reason = os.strerror(err.errno) if err.errno else str(err)
    holder = port_holder(port) if port else None
    held = f" (held by {holder})" if holder else ""
    return f"{what} cannot listen on {listen}: {reason.lower()}{held}"
