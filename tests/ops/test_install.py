"""`ringback install --root DIR` and `uninstall`, file by file, in a temporary directory.

Nothing here touches the real /etc or /var/lib: every install is staged with --root,
and the one run without --root runs as an unprivileged user, which is refused first.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli.parser import main

REPO = Path(__file__).resolve().parents[2]
RINGBACK = str(Path(sys.executable).parent / "ringback")


def install(root: Path, *args: str, stdin: str = "") -> int:
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        return main(["install", "--root", str(root), *args])
    finally:
        sys.stdin = old


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    out = {}
    for path in sorted(root.rglob("*")):
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        out[str(path.relative_to(root))] = (mode(path), data)
    return out


def test_staged_install_file_by_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A fresh staged install lays out every file with its mode, records the intended
    owners in the manifest, writes the secret given on stdin, generates a status token,
    and writes the unit with this ringback in ExecStart and one LoadCredential= each."""
    root = tmp_path / "stage"
    assert install(root, "--secret", "pbx.secret", stdin="ami-s3cret\n") == 0
    etc = root / "etc/ringback"
    assert mode(etc) == 0o750
    assert mode(etc / "credentials") == 0o700
    assert mode(root / "var/lib/ringback") == 0o750
    assert mode(etc / "ringback.yaml") == 0o640
    assert (etc / "ringback.yaml").read_bytes() == (
        REPO / "config/ringback.example.yaml"
    ).read_bytes()
    assert mode(etc / "credentials/pbx.secret") == 0o600
    assert (etc / "credentials/pbx.secret").read_text() == "ami-s3cret"
    assert len((etc / "credentials/status.token").read_text().strip()) >= 32
    unit = (root / "etc/systemd/system/ringback.service").read_text()
    assert mode(root / "etc/systemd/system/ringback.service") == 0o644
    # staged for an image: the shipped unit's path, not this build's virtualenv
    assert "ExecStart=/opt/ringback/venv/bin/ringback run -c /etc/ringback/ringback.yaml" in unit
    assert RINGBACK not in unit
    assert "(uncomment the ones" not in unit
    assert "# (one line per file of /etc/ringback/credentials" in unit
    assert "LoadCredential=pbx.secret:/etc/ringback/credentials/pbx.secret" in unit
    assert "LoadCredential=status.token:/etc/ringback/credentials/status.token" in unit
    assert "#LoadCredential" not in unit
    shipped = (REPO / "systemd/ringback.service").read_text().splitlines()
    rewritten = ("ExecStart=", "#LoadCredential=", "# (uncomment the ones")
    kept = [line for line in shipped if not line.startswith(rewritten)]
    assert [
        line
        for line in unit.splitlines()
        if not line.startswith(("ExecStart=", "LoadCredential=", "# (one line per file"))
    ] == kept
    link = root / "etc/systemd/system/multi-user.target.wants/ringback.service"
    assert os.readlink(link) == "/etc/systemd/system/ringback.service"
    manifest = json.loads((root / ".ringback-manifest.json").read_text())
    assert manifest["user"] == {"name": "ringback", "system": True, "groups": ["dialout"]}
    owners = {e["path"]: (e["owner"], e["group"], e["mode"]) for e in manifest["entries"]}
    assert owners["/etc/ringback"] == ("root", "ringback", "0750")
    assert owners["/etc/ringback/ringback.yaml"] == ("root", "ringback", "0640")
    assert owners["/etc/ringback/credentials"] == ("root", "root", "0700")
    assert owners["/etc/ringback/credentials/pbx.secret"] == ("root", "root", "0600")
    assert owners["/var/lib/ringback"] == ("ringback", "ringback", "0750")
    out = capsys.readouterr().out
    assert "ami-s3cret" not in out
    assert "--secret twilio.auth_token" in out  # the example's other required secret
    steps = [line.split(".")[0].strip() for line in out.splitlines() if line[:4].strip(" .")]
    numbered = [n for n in steps if n.isdigit()]
    assert numbered == [str(n) for n in range(1, len(numbered) + 1)] and len(numbered) >= 4
    assert f"staged into {root}: owners not set" in out
    assert "root:ringback" not in out  # owners it did not set are not printed as set


def test_packaged_copies_match_the_repository() -> None:
    """The example config and unit shipped inside the package (what install writes from
    a wheel) are the repository's own files; after editing those, copy them to
    agent/resources/."""
    resources = REPO / "agent/resources"
    for shipped, source in (
        ("ringback.example.yaml", "config/ringback.example.yaml"),
        ("ringback.service", "systemd/ringback.service"),
    ):
        same = (resources / shipped).read_bytes() == (REPO / source).read_bytes()
        assert same, f"stale copy: cp {source} agent/resources/{shipped}"


def test_rerun_repairs_a_half_finished_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tree left by an interrupted run (loose modes, a stray temporary file, a missing
    unit) is repaired; the technician's edited config is kept; a second run is all
    `kept`."""
    root = tmp_path / "stage"
    assert install(root) == 0
    etc = root / "etc/ringback"
    edited = (etc / "ringback.yaml").read_text().replace("Garage Exemple", "Garage Tremblay")
    (etc / "ringback.yaml").write_text(edited)
    etc.chmod(0o777)
    (etc / "credentials").chmod(0o755)
    (etc / "credentials/status.token").chmod(0o644)
    (root / "etc/systemd/system/ringback.service").unlink()
    stray = root / "etc/systemd/system/.ringback-tmp-ringback.service"
    stray.write_text("half a unit")
    capsys.readouterr()
    assert install(root) == 0
    out = capsys.readouterr().out
    assert mode(etc) == 0o750 and mode(etc / "credentials") == 0o700
    assert mode(etc / "credentials/status.token") == 0o600
    assert (etc / "ringback.yaml").read_text() == edited
    assert (root / "etc/systemd/system/ringback.service").is_file()
    assert not stray.exists()
    assert "fixed" in out and "created" in out
    assert install(root) == 0
    third = capsys.readouterr().out
    assert "fixed" not in third and "created" not in third and "updated" not in third


def test_existing_invalid_config_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing config with an error stops install before any change, with the
    problem and its line; a missing secret alone is not an error (install may be the
    one putting it in place)."""
    root = tmp_path / "stage"
    assert install(root) == 0
    config = root / "etc/ringback/ringback.yaml"
    config.write_text(
        config.read_text().replace("timezone: America/Toronto", "timezone: Mars/Base")
    )
    (root / "etc/ringback").chmod(0o777)
    before = snapshot(root)
    capsys.readouterr()
    assert install(root, "--secret", "pbx.secret", stdin="x\n") == 2
    err = capsys.readouterr().err
    assert "existing configuration has errors; nothing was changed" in err
    assert "site.timezone: unknown time zone 'Mars/Base'" in err
    assert "secret is missing" not in err
    assert snapshot(root) == before


def test_failed_write_undoes_everything(tmp_path: Path) -> None:
    """When the disk refuses a write half-way (simulated with a file size limit, as a
    full disk would), install says which file failed and leaves nothing behind."""
    root = tmp_path / "stage"
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "from agent.cli.parser import main\n"
        f"sys.exit(main(['install', '--root', {str(root)!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    assert "ringback.yaml" in done.stderr and "File too large" in done.stderr
    assert "every change of this run was undone" in done.stderr
    assert not root.exists()


def test_install_without_root_is_refused(tmp_path: Path) -> None:
    """Without --root, a user who is not root is told to use sudo or --root, before
    anything is looked at (exit 2). As root, the check runs with an unprivileged
    effective uid, which could not write /etc anyway."""
    code = (
        "import os, sys\n"
        "from agent.cli.parser import main\n"
        "import agent.cli.commands, agent.ops.install, agent.ops.install_steps, agent.daemon.logs\n"
        "if os.geteuid() == 0:\n"
        "    os.setegid(65534)\n"
        "    os.seteuid(65534)\n"
        "sys.exit(main(['install']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "must run as root" in done.stderr and "--root DIR" in done.stderr


def test_uninstall_keeps_data_unless_purge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Uninstall removes the unit and its enable link but keeps configuration,
    credentials and database; --purge erases those too."""
    root = tmp_path / "stage"
    assert install(root) == 0
    (root / "var/lib/ringback/ringback.db").write_bytes(b"data")
    assert main(["uninstall", "--root", str(root)]) == 0
    assert not (root / "etc/systemd/system/ringback.service").exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/ringback.service").is_symlink()
    assert (root / "etc/ringback/ringback.yaml").is_file()
    assert (root / "var/lib/ringback/ringback.db").read_bytes() == b"data"
    assert "uninstall --purge" in capsys.readouterr().out
    assert main(["uninstall", "--root", str(root), "--purge"]) == 0
    assert not (root / "etc/ringback").exists()
    assert not (root / "var/lib/ringback").exists()
