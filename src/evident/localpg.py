"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb and pg_ctl from
Debian's `postgresql` package (installed by `make postgres`), in a temporary folder, on a
free port, as the `postgres` user when run as root (PostgreSQL refuses to run as root).
One cluster serves a whole test session; each test gets its own database, copied from a
migrated template so it starts in milliseconds. Not for production data: fsync is off."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SKIP_HINT = (
    "install Debian's postgresql package (`make postgres`, or apt-get install postgresql) "
    "and the postgres extra (`.venv/bin/pip install 'psycopg[binary]==3.3.9' "
    "psycopg-pool==3.3.3`)"
)


def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin holding initdb, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    """A running throwaway cluster; url(name) gives a database's URL."""

    bindir: Path
    datadir: Path
    port: int
    user: str | None
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://evident@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement.encode())

    def new_database(self, template: str = "evident_template") -> str:
        """A fresh database copied from the template; returns its URL."""
        name = f"t{next(self._names)}_{os.getpid()}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)

    def stop(self) -> None:
        self.run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-m",
            "immediate",
            "stop",
            check=False,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_cluster() -> PgCluster:
    """Start a cluster, or raise RuntimeError saying why it cannot start."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(f"psycopg is not installed ({exc})") from exc
    user = None
    root = Path(tempfile.mkdtemp(prefix="evident-pg-"))
    datadir = root / "data"
    if os.geteuid() == 0:
        user = "postgres" if _has_user("postgres") else "nobody"
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    port = free_port()
    cluster = PgCluster(bindir, datadir, port, user)
    try:
        cluster.run(
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "evident",
            "--auth=trust",
            "--no-locale",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={datadir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        cluster.run(
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "-l",
            str(datadir / "server.log"),
            "start",
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"the PostgreSQL server did not start: {detail.strip()}") from exc
    # A migrated template, so each test's database is a quick copy.
    from evident.store.postgres import PostgresStore

    cluster.sql("CREATE DATABASE evident_template")
    PostgresStore(cluster.url("evident_template"), pool_size=1).close()
    return cluster


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
