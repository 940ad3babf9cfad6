"""`ringback install` / `ringback uninstall`: the service set up in one idempotent command.

    ringback install [--root DIR] [--secret NAME.FIELD ...] [--no-enable]
    ringback uninstall [--root DIR] [--purge]

What install makes sure of (each step fixes what an earlier, half-finished run left):

    user ringback (system, no shell, member of dialout for serial ports)
    /etc/ringback                      0750 root:ringback
    /etc/ringback/ringback.yaml        0640 root:ringback  (the example, only if none)
    /etc/ringback/credentials          0700 root:root      (systemd LoadCredential=)
    /etc/ringback/credentials/N.F      0600 root:root      (--secret N.F, status.token)
    /var/lib/ringback                  0750 ringback:ringback
    /etc/systemd/system/ringback.service  0644 root:root   (ExecStart = this ringback)
    /usr/local/share/bash-completion/completions/ringback, .../man/man1/ringback.1  0644
    daemon-reload, enable

Before changing anything it checks: root (unless --root), enough free disk, the
existing config (refused with its problems if invalid), the secrets to write (all
read first). Files are written to a temporary name and renamed; if a step still
fails (disk full, a command refused), everything this run created or changed is put
back as it was and the message says what failed.

`--root DIR` stages the same tree under DIR without touching the system (for packages
and tests): no user, no chown, no systemctl; the intended owners and modes are in
`DIR/.ringback-manifest.json` and enabling is the `multi-user.target.wants` link.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from agent.ops.install_steps import (
    COMPLETION_PATH,
    MAN_PATH,
    TMP_PREFIX,
    Journal,
    Layout,
    Planned,
    atomic_write,
    ensure_dir,
    fix_file,
)

USER = "ringback"
MIN_FREE_BYTES = 20 * 1024 * 1024
_SECRET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}\.[a-z][a-z0-9_]{0,31}$")


class InstallError(Exception):
    """A precondition failed: nothing was changed. `code` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Options:
    root: Path | None
    secret_names: list[str] = field(default_factory=list)
    enable: bool = True
    purge: bool = False
    # Files shipped beside the unit, by absolute path: the bash completion and the
    # man page, generated from the command's parser (agent/cli/docs.py).
    docs: dict[str, bytes] = field(default_factory=dict)


def cmd_install(args: argparse.Namespace, docs: dict[str, bytes] | None = None) -> int:
    options = Options(args.root, args.secret or [], enable=not args.no_enable, docs=docs or {})
    try:
        layout = preflight(options)
        values = read_secrets(options.secret_names)
        planned = apply(layout, options, values)
    except InstallError as err:
        print(f"ringback install: {err}", file=sys.stderr)
        return err.code
    if layout.staged:  # owners are recorded for whoever builds the image, not set
        manifest = layout.root / ".ringback-manifest.json"
        print(f"staged into {layout.root}: owners not set (listed in {manifest})")
    for item in planned:
        owner = "" if layout.staged else f" {item.owner}:{item.group}"
        print(f"{item.action:>8}  {item.mode:04o}{owner}  {item.path}")
    for line in next_steps(layout):
        print(line)
    return 0


def preflight(options: Options) -> Layout:
    """Everything that can be known before a change; raises InstallError."""
    if options.root is None and os.geteuid() != 0:
        raise InstallError(
            "must run as root (sudo ringback install), or stage into a directory with --root DIR",
            2,
        )
    root = options.root.resolve() if options.root else Path("/")
    if root.exists() and not root.is_dir():
        raise InstallError(f"--root {root} exists and is not a directory", 2)
    layout = Layout(root, staged=options.root is not None, user=USER)
    if not layout.staged:
        for tool in ("useradd", "usermod", "systemctl"):
            if shutil.which(tool) is None:
                raise InstallError(f"{tool} not found: this needs a Debian/Ubuntu with systemd")
    for place in (layout.path("/etc"), layout.path("/var/lib")):
        free = shutil.disk_usage(_existing_parent(place)).free
        if free < MIN_FREE_BYTES:
            raise InstallError(
                f"the disk holding {place} is full ({free // 1024} KiB free, "
                f"{MIN_FREE_BYTES // 1024 // 1024} MiB needed): free space, then run again"
            )
    for name in options.secret_names:
        if not _SECRET_NAME.match(name):
            raise InstallError(
                f"--secret {name!r}: expected <item name>.<field>, e.g. pbx.secret", 2
            )
    check_existing_config(layout)
    return layout


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def check_existing_config(layout: Layout) -> None:
    """An existing config must be valid (secrets aside: they may not be in place yet)."""
    path = layout.path(layout.config)
    if not path.exists():
        return
    from agent.config.check import offline_problems

    problems = offline_problems(path)
    if problems:
        listing = "\n  ".join(problems)
        raise InstallError(
            f"the existing configuration has errors; nothing was changed:\n  {listing}\n"
            f"fix them (ringback check-config {path}) and run install again",
            2,
        )


def read_secrets(names: list[str]) -> dict[str, str]:
    """Every value first (one line of stdin each, or a hidden prompt on a terminal)."""
    values: dict[str, str] = {}
    for name in names:
        if sys.stdin.isatty():
            value = getpass.getpass(f"{name}: ")
        else:
            value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise InstallError(f"no value given for --secret {name}; nothing was changed", 2)
        values[name] = value
    return values


def apply(layout: Layout, options: Options, values: dict[str, str]) -> list[Planned]:
    journal = Journal()
    try:
        planned = _steps(layout, options, values, journal)
    except (OSError, subprocess.CalledProcessError) as err:
        journal.undo()
        raise InstallError(
            f"stopped: {_why(err)}; every change of this run was undone, run it again once fixed"
        ) from None
    return planned


def _why(err: BaseException) -> str:
    if isinstance(err, subprocess.CalledProcessError):
        out = (err.stderr or b"").decode(errors="replace").strip()
        return f"{' '.join(map(str, err.cmd))} failed ({out or err.returncode})"
    if isinstance(err, OSError):
        return f"{err.filename or ''}: {err.strerror}".strip(": ")
    return str(err)


def _steps(
    layout: Layout, options: Options, values: dict[str, str], journal: Journal
) -> list[Planned]:
    user, group = layout.user, layout.user
    if not layout.staged:
        ensure_user(layout.user, journal)
    planned = [
        ensure_dir(layout, layout.etc, 0o750, "root", group, journal),
        ensure_dir(layout, layout.credentials, 0o700, "root", "root", journal),
        ensure_dir(layout, layout.state, 0o750, user, group, journal),
    ]
    config = layout.path(layout.config)
    if config.exists():
        planned.append(fix_file(layout, layout.config, 0o640, "root", group, journal))
    else:
        text = resources.files("agent").joinpath("resources/ringback.example.yaml").read_bytes()
        planned.append(atomic_write(layout, layout.config, text, 0o640, "root", group, journal))
    for name, value in sorted(values.items()):
        target = f"{layout.credentials}/{name}"
        planned.append(atomic_write(layout, target, value.encode(), 0o600, "root", "root", journal))
    for existing in sorted(layout.path(layout.credentials).iterdir()):
        name = existing.name
        if existing.is_file() and name not in values and not name.startswith(TMP_PREFIX):
            target = f"{layout.credentials}/{name}"
            planned.append(fix_file(layout, target, 0o600, "root", "root", journal))
    token = f"{layout.credentials}/status.token"
    if not layout.path(token).exists():
        raw = (secrets.token_urlsafe(32) + "\n").encode()
        planned.append(atomic_write(layout, token, raw, 0o600, "root", "root", journal))
    unit = render_unit(layout)
    planned.append(atomic_write(layout, layout.unit, unit.encode(), 0o644, "root", "root", journal))
    for target, data in sorted(options.docs.items()):
        planned.append(atomic_write(layout, target, data, 0o644, "root", "root", journal))
    if options.enable:
        planned.append(enable(layout, journal))
    if layout.staged:
        write_manifest(layout, planned)
    return planned


def ensure_user(user: str, journal: Journal) -> None:
    if subprocess.run(["getent", "passwd", user], capture_output=True, check=False).returncode != 0:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--home-dir", "/var/lib/ringback",
             "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            check=True, capture_output=True,
        )  # fmt: skip
        journal.on_undo(lambda: subprocess.run(["userdel", user], capture_output=True, check=False))
    if (
        subprocess.run(["getent", "group", "dialout"], capture_output=True, check=False).returncode
        == 0
    ):
        subprocess.run(["usermod", "-aG", "dialout", user], check=True, capture_output=True)


# Where a staged install (an image being built) expects ringback: the shipped unit's.
STAGED_COMMAND = "/opt/ringback/venv/bin/ringback"


def interpreter_command(layout: Layout | None = None) -> str:
    """How systemd starts ringback: this very installation, or for a staged install
    (`--root`, an image being built) the shipped unit's path, not the build's venv."""
    if layout is not None and layout.staged:
        return STAGED_COMMAND
    script = Path(sys.executable).parent / "ringback"
    if script.is_file():
        return str(script)
    return f"{sys.executable} -m agent.cli.parser"


def render_unit(layout: Layout) -> str:
    """The packaged unit with this ringback in ExecStart and one LoadCredential= per
    file in the credentials directory."""
    template = resources.files("agent").joinpath("resources/ringback.service").read_text()
    names = sorted(p.name for p in layout.path(layout.credentials).glob("*") if p.is_file())
    lines: list[str] = []
    for line in template.splitlines():
        if line.startswith("ExecStart="):
            line = f"ExecStart={interpreter_command(layout)} run -c {layout.config}"
        if "(uncomment the ones your configuration uses)" in line:
            line = (
                f"# (one line per file of {layout.credentials}, written by ringback install)."
                if names
                else "# (none yet: ringback install --secret NAME.FIELD adds them here)."
            )
        if line.startswith("#LoadCredential="):
            if names:
                lines += [f"LoadCredential={n}:{layout.credentials}/{n}" for n in names]
                names = []
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def enable(layout: Layout, journal: Journal) -> Planned:
    if layout.staged:
        link = layout.path(layout.wants)
        if not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(layout.unit)
            journal.created(link)
        return Planned(layout.wants, "enabled", 0o777, "root", "root", "link")
    if Path("/run/systemd/system").is_dir():
        subprocess.run(["systemctl", "daemon-reload"], check=True, capture_output=True)
    subprocess.run(["systemctl", "enable", "ringback.service"], check=True, capture_output=True)
    return Planned(layout.wants, "enabled", 0o777, "root", "root", "link")


def write_manifest(layout: Layout, planned: list[Planned]) -> None:
    doc = {
        "user": {"name": layout.user, "system": True, "groups": ["dialout"]},
        "exec_start": interpreter_command(layout),
        "entries": [asdict(p) | {"mode": f"{p.mode:04o}"} for p in planned],
    }
    target = layout.root / ".ringback-manifest.json"
    target.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def next_steps(layout: Layout) -> list[str]:
    from agent.config.check import missing_credentials

    config = layout.path(layout.config)
    missing = missing_credentials(config, layout.path(layout.credentials))
    todo = [f"edit {layout.config} (site, PBX, senders)"]
    if missing:
        todo.append(
            "give the secrets it needs: "
            f"ringback install --secret {' --secret '.join(missing)}  (one value per line "
            "on stdin, or typed at the prompt)"
        )
    todo += [
        f"ringback doctor -c {layout.config}",
        "systemctl start ringback; journalctl -u ringback -f",
    ]
    if layout.staged:
        todo.append(f"install ringback as {STAGED_COMMAND} in the image (the unit's ExecStart)")
    steps = ["", "next:", *(f"  {n}. {step}" for n, step in enumerate(todo, start=1))]
    home = sys.executable.startswith(("/home/", "/root/"))
    if home:
        steps.append(
            f"warning: {sys.executable} is under /home or /root, which the unit hides "
            "(ProtectHome=yes): install ringback into /opt/ringback/venv"
        )
    return steps


def cmd_uninstall(args: argparse.Namespace) -> int:
    if args.root is None and os.geteuid() != 0:
        print("ringback uninstall: must run as root (or --root DIR)", file=sys.stderr)
        return 2
    layout = Layout(
        args.root.resolve() if args.root else Path("/"), staged=args.root is not None, user=USER
    )
    if not layout.staged:
        running = Path("/run/systemd/system").is_dir()
        command = ["systemctl", "disable", *(["--now"] if running else []), "ringback.service"]
        subprocess.run(command, capture_output=True, check=False)
    removed = [layout.path(p) for p in (layout.wants, layout.unit, COMPLETION_PATH, MAN_PATH)]
    kept = [layout.etc, layout.state]
    if args.purge:
        removed += [layout.path(layout.etc), layout.path(layout.state)]
        kept = []
    for path in removed:
        if path.is_symlink() or path.is_file():
            path.unlink()
            print(f" removed  {path}")
        elif path.is_dir():
            shutil.rmtree(path)
            print(f" removed  {path}")
    if layout.staged:
        (layout.root / ".ringback-manifest.json").unlink(missing_ok=True)
    elif Path("/run/systemd/system").is_dir():
        subprocess.run(["systemctl", "daemon-reload"], capture_output=True, check=False)
    if args.purge and not layout.staged:
        subprocess.run(["userdel", USER], capture_output=True, check=False)
    for place in kept:
        print(f"    kept  {layout.path(place)} (configuration, credentials, database)")
    if kept:
        print("to erase them too: ringback uninstall --purge")
    return 0
