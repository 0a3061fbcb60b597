"""PostgreSQL: one cluster in the state folder, holding the MLflow and Prefect databases.

The cluster is initialised on first start (`initdb`, password authentication, TCP on 127.0.0.1
only, no Unix socket) and runs in the foreground under the stack's process handling. PostgreSQL
refuses to run as root, so when the stack runs as root the server runs as the unprivileged
`postgres` account that Debian's package creates; the data folder is then owned by it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

from stack.base import Service, StackError, StackSettings

DATABASES = ("mlflow", "prefect")
ACCOUNT = "postgres"


def bin_dir(settings: StackSettings) -> Path:
    """The folder holding `initdb` and `postgres` (Debian keeps them off PATH)."""
    if settings.postgres_bin:
        return settings.postgres_bin
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name)
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).parent
    raise StackError(
        "PostgreSQL is not installed: run `make setup` (installs Debian's postgresql-15), set "
        "RETRAIN_POSTGRES_BIN to the folder holding initdb and postgres, or run the stack on "
        "SQLite with STACK_DB=sqlite"
    )


def run_as() -> str | None:
    """The account the server runs as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(ACCOUNT)
    except KeyError:
        raise StackError(
            f"PostgreSQL refuses to run as root and there is no `{ACCOUNT}` account: install "
            "Debian's postgresql-15 (`make setup`) or run `make up` as an unprivileged user"
        ) from None
    return ACCOUNT


def url(settings: StackSettings, database: str, driver: str = "postgresql") -> str:
    """Connection URL of one database (holds the password: pass it in the environment only)."""
    password = quote(settings.postgres_password.get_secret_value(), safe="")
    return (
        f"{driver}://{quote(settings.postgres_user, safe='')}:{password}"
        f"@127.0.0.1:{settings.postgres_port}/{database}"
    )


def _check_reachable(data_dir: Path, user: str) -> None:
    """The server account must be able to walk down to the data folder's parent."""
    probe = subprocess.run(
        ["test", "-x", str(data_dir.parent)], user=user, group=user, extra_groups=[], check=False
    )
    if probe.returncode != 0:
        blocked = [p for p in reversed(data_dir.parents) if not os.stat(p).st_mode & 0o001]
        raise StackError(
            f"the `{user}` account cannot reach {data_dir.parent} (no search permission on "
            f"{', '.join(map(str, blocked)) or 'a parent folder'}): either `chmod o+x` those "
            "folders, or set RETRAIN_POSTGRES_DATA_DIR to a folder it can reach "
            f"(e.g. /var/lib/postgresql/retrain-{data_dir.parent.parent.name})"
        )


def initialise(settings: StackSettings) -> None:
    """`initdb` the cluster unless it exists; owned by the server account."""
    data = settings.postgres_data_dir
    user = run_as()
    data.parent.mkdir(parents=True, exist_ok=True)
    if user:
        _check_reachable(data, user)
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(mode=0o700, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", prefix="pgpass-", delete=False) as pwfile:
        pwfile.write(settings.postgres_password.get_secret_value() + "\n")
    try:
        if user:
            account = pwd.getpwnam(user)
            for path in (data, Path(pwfile.name)):
                os.chown(path, account.pw_uid, account.pw_gid)
        print(f"  postgres   initialising a cluster in {data}")
        done = subprocess.run(
            [
                str(bin_dir(settings) / "initdb"),
                "-D",
                str(data),
                "-U",
                settings.postgres_user,
                "--pwfile",
                pwfile.name,
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
            ],
            user=user,
            group=user,
            extra_groups=[] if user else None,
            cwd="/",
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.unlink(pwfile.name)
    if done.returncode != 0:
        raise StackError(f"initdb failed for {data}:\n{done.stdout}{done.stderr}")


def _connect(settings: StackSettings, database: str = "postgres") -> object:
    import psycopg2

    return psycopg2.connect(url(settings, database), connect_timeout=2)


def healthy(settings: StackSettings) -> bool:
    """The server accepts a login and a query."""
    import psycopg2

    try:
        conn = _connect(settings)
    except psycopg2.OperationalError:
        return False
    try:
        with conn.cursor() as cur:  # type: ignore[attr-defined]
            cur.execute("SELECT 1")
            return bool(cur.fetchone() == (1,))
    finally:
        conn.close()  # type: ignore[attr-defined]


def create_databases(settings: StackSettings) -> None:
    """Create the MLflow and Prefect databases unless they exist."""
    conn = _connect(settings)
    conn.autocommit = True  # type: ignore[attr-defined]  # CREATE DATABASE: no transaction
    try:
        with conn.cursor() as cur:  # type: ignore[attr-defined]
            cur.execute("SELECT datname FROM pg_database")
            existing = {row[0] for row in cur.fetchall()}
            for name in DATABASES:
                if name not in existing:
                    cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()  # type: ignore[attr-defined]


def _start_checks(settings: StackSettings) -> None:
    bin_dir(settings)
    initialise(settings)


def service(settings: StackSettings) -> Service:
    """The server; `up` also initialises the cluster first and creates the databases after."""
    data = settings.postgres_data_dir
    try:
        binaries, user = bin_dir(settings), run_as()
    except StackError:  # not installed: `down` and `status` still work, `up` says what to do
        binaries, user = Path("/usr/lib/postgresql/15/bin"), None
    return Service(
        "postgres",
        f"postgresql://127.0.0.1:{settings.postgres_port} (databases {', '.join(DATABASES)})",
        settings.postgres_port,
        [
            str(binaries / "postgres"),
            "-D",
            str(data),
            "-p",
            str(settings.postgres_port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",  # two servers' pools under load
        ],
        lambda: healthy(settings),
        marker=str(data),
        user=user,
        timeout=60.0,
        before_start=lambda: _start_checks(settings),
        after_start=lambda: create_databases(settings),
    )
