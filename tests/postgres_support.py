"""A throw-away PostgreSQL server for the tests: ``initdb`` in a temporary folder, a free port on
127.0.0.1, its socket folder beside it; one fresh database per test. As root the server runs as the
``postgres`` user (initdb refuses root). ``DEFLECT_REQUIRE_POSTGRES=1`` turns "cannot start one" from a
skip into a failure (CI)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

BIN_DIRS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin")


@dataclass
class Server:
    """A running server: ``url(db)`` addresses one of its databases; ``restart`` and ``stop`` it."""

    bin: Path
    data: Path
    port: int
    user: str | None   # run the server's programs as this user (we are root), else as ourselves
    log: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def ctl(self, *args: str) -> None:
        run(self, "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", *args)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.data.parent / 'socket'} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self.ctl("-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self.ctl("-m", mode, "stop")

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def run(server_or_bin, program: str, *args: str) -> None:
    bin_dir = server_or_bin.bin if isinstance(server_or_bin, Server) else server_or_bin
    user = server_or_bin.user if isinstance(server_or_bin, Server) else _user()
    command = [str(bin_dir / program), *args]
    if user:
        command = ["runuser", "-u", user, "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def _user() -> str | None:
    return "postgres" if os.geteuid() == 0 else None


def find_bin() -> Path | None:
    found = sorted(glob.glob(BIN_DIRS[0]), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                   else 0)
    for folder in [*reversed(found), BIN_DIRS[1]]:
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(base: Path) -> Server:
    """Start a new cluster under ``base`` (a folder the server user can reach); raises RuntimeError saying
    why it cannot."""
    bin_dir = find_bin()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server programs found (install the Debian package `postgresql`)")
    user = _user()
    if user:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise RuntimeError("running as root and there is no `postgres` user to run the server as") from None
        os.chmod(base, 0o755)
    data, sockets = base / "data", base / "socket"
    sockets.mkdir()
    if user:
        os.chown(base, entry.pw_uid, entry.pw_gid)
        os.chown(sockets, entry.pw_uid, entry.pw_gid)
    server = Server(bin_dir, data, free_port(), user, base / "server.log")
    try:
        run(server, "initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
            "--locale", "C")
        server.start()
    except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise RuntimeError(f"cannot start PostgreSQL: {exc} {detail.decode(errors='replace')[-500:]}") from exc
    return server
