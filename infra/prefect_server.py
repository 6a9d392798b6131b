"""A local Prefect server (API + UI) whose database is newsflow's PostgreSQL.

    newsflow up --prefect   -> up(settings)      start (or find) the server
    newsflow down           -> down(settings)    stop it (data kept in PostgreSQL)
    newsflow status         -> status(settings)

Without a server, every Prefect process starts its own temporary server over
SQLite (~/.prefect/prefect.db): 7-15 s per process start and "database is
locked" errors under task-heavy flows. This server instead:

* runs ``prefect server start`` detached on a free loopback port, its state
  (pid, port) in ``$NEWSFLOW_HOME/prefect.json``, its log in
  ``$NEWSFLOW_HOME/prefect-server.log``; a live server is reused;
* keeps its database ``prefect`` on the same PostgreSQL as newsflow (the
  embedded pgserver by default, which listens on a Unix socket only: the URL is
  ``postgresql+asyncpg://postgres:@/prefect?host=<socket dir>``, SQLAlchemy's
  asyncpg dialect passes ``host`` to asyncpg, which takes a directory as a
  Unix socket); the database URL reaches the server through its environment,
  never argv or logs;
* is tuned for batch writes: a larger SQLAlchemy pool, longer statement and
  connection timeouts for a busy machine, bigger event-persister batches,
  ``synchronous_commit=off`` on the ``prefect`` database (run metadata, not the
  documents: a crash can lose the last few hundred ms of UI history, never
  corrupt it), telemetry and automations (triggers) off;
* is made the API of the ``newsflow`` Prefect profile, which becomes the active
  profile, so ``prefect artifact ls``, ``prefect deployment ls`` and every
  newsflow command in this environment talk to it. ``down`` switches back to
  the profile that was active before.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from newsflow.config import Settings

PROFILE = "newsflow"
DATABASE = "prefect"
STARTUP_TIMEOUT = 180.0

# Settings for the server process (see the module docstring); the caller's
# environment can override any of them.
SERVER_TUNING = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE": "10",
    "PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW": "20",
    "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_TIMEOUT": "60",
    "PREFECT_SERVER_DATABASE_TIMEOUT": "30",
    "PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT": "15",
    "PREFECT_SERVER_DATABASE_SQLALCHEMY_CONNECT_ARGS_APPLICATION_NAME": "prefect-server",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": "2",
    # a short-interval schedule (newsflow serve --interval 10) gets its runs promptly
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "10",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT_UI_SHOW_PROMOTIONAL_CONTENT": "false",
}


def state_path(home: Path) -> Path:
    return home / "prefect.json"


def log_path(home: Path) -> Path:
    return home / "prefect-server.log"


def asyncpg_url(database_url: str) -> str:
    """A libpq URL (``postgresql://...``) as Prefect wants it (``postgresql+asyncpg://...``).
    asyncpg has no ``sslmode`` query parameter: it becomes ``ssl``."""
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgres", "postgresql", "postgresql+asyncpg"):
        raise ValueError("the Prefect server needs a postgresql:// URL for its database")
    query = parts.query.replace("sslmode=", "ssl=")
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg", query=query))


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))
    return url


def _has_trgm(url: str) -> bool:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").fetchone() is not None


def prefect_database_url(settings: Settings) -> tuple[str, str]:
    """(asyncpg URL of the Prefect database, where it lives). In order:
    PREFECT_SERVER_DATABASE_CONNECTION_URL; a ``prefect`` database on newsflow's
    PostgreSQL when it has the pg_trgm extension Prefect's migrations need (the
    production PostgreSQL, any stock postgres image); else a Prefect-only
    cluster of the system PostgreSQL under $NEWSFLOW_HOME/prefect-pg, because the
    pgserver wheel (PostgreSQL 16 without contrib) has no pg_trgm."""
    explicit = os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL")
    if explicit:
        return explicit, "PREFECT_SERVER_DATABASE_CONNECTION_URL"
    import psycopg

    from infra.services import services

    svc = services(settings)
    if _has_trgm(svc.database_url):
        url = svc.database_url_for(DATABASE, create=True)
        where = "newsflow's PostgreSQL" + (" (embedded)" if svc.embedded_database else "")
    else:
        url = start_cluster(settings.home)
        where = f"PostgreSQL cluster {cluster_dir(settings.home)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {DATABASE} SET synchronous_commit = off")
    return asyncpg_url(url), where


# --------------------------------------------------------------------------- Prefect-only PostgreSQL cluster

def cluster_dir(home: Path) -> Path:
    return home / "prefect-pg"


def _pg_bindir() -> Path:
    """Binaries of a PostgreSQL that ships pg_trgm: $NEWSFLOW_PREFECT_PG_BINDIR, else `pg_config --bindir`."""
    explicit = os.environ.get("NEWSFLOW_PREFECT_PG_BINDIR")
    try:
        if explicit:
            bindir = Path(explicit)
            sharedir = Path(subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True,
                                           text=True, check=True).stdout.strip())
        else:
            import glob
            import shutil

            # pg_config on PATH, else the newest Debian/Ubuntu install (postgresql-NN without libpq-dev)
            candidates = [shutil.which("pg_config")] + sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_config"),
                                                               key=lambda p: int(p.split("/")[4]), reverse=True)
            pg_config = next((c for c in candidates if c), "pg_config")
            out = subprocess.run([pg_config, "--bindir", "--sharedir"], capture_output=True, text=True,
                                 check=True).stdout.split()
            bindir, sharedir = Path(out[0]), Path(out[1])
    except (OSError, subprocess.CalledProcessError, IndexError):
        raise RuntimeError(_NO_TRGM) from None
    if not (sharedir / "extension" / "pg_trgm.control").exists() or not (bindir / "initdb").exists():
        raise RuntimeError(_NO_TRGM)
    return bindir


_NO_TRGM = ("the Prefect server needs PostgreSQL's pg_trgm extension, which the embedded pgserver lacks: "
            "install a system PostgreSQL with contrib (apt-get install postgresql postgresql-contrib), "
            "or set PREFECT_SERVER_DATABASE_CONNECTION_URL / NEWSFLOW_DATABASE_URL to a PostgreSQL that has it")


def _as_pg_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as pgserver's system user, like the embedded one."""
    if os.geteuid() != 0:
        return cmd
    from infra import embedded

    embedded._import_pgserver()
    from pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")
    return ["runuser", "-u", "pgserver", "--", *cmd]


def start_cluster(home: Path) -> str:
    """Start (initdb on first use) the Prefect-only cluster; returns the libpq URL of its
    ``prefect`` database. Unix socket in the data directory, no TCP port."""
    from infra import embedded
    from infra.services import database_url_for

    bindir = _pg_bindir()
    data = cluster_dir(home).resolve()
    base = f"postgresql://postgres:@/postgres?host={data}"
    with embedded.locked(home):
        if not (data / "PG_VERSION").exists():
            data.mkdir(parents=True, exist_ok=True)
            data.chmod(0o700)
            if os.geteuid() == 0:
                import pwd

                from pgserver.utils import ensure_prefix_permissions

                _as_pg_user([])  # creates the user
                ensure_prefix_permissions(data)
                entry = pwd.getpwnam("pgserver")
                os.chown(data, entry.pw_uid, entry.pw_gid)
            subprocess.run(_as_pg_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                        "-E", "UTF8", "--no-locale"]), check=True, capture_output=True, text=True)
        status = subprocess.run(_as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "status"]),
                                capture_output=True, text=True)
        if status.returncode != 0:
            opts = (f"-c listen_addresses='' -c unix_socket_directories='{data}' -c synchronous_commit=off "
                    "-c max_connections=100 -c shared_buffers=64MB -c wal_buffers=4MB -c checkpoint_timeout=15min")
            res = subprocess.run(_as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(data / "log"),
                                              "-w", "-t", "120", "-o", opts, "start"]),
                                 capture_output=True, text=True)
            if res.returncode != 0:
                tail = (data / "log").read_text(errors="replace")[-2000:] if (data / "log").exists() else ""
                raise RuntimeError(f"could not start the Prefect PostgreSQL in {data}: {res.stderr}\n{tail}")
    return database_url_for(base, DATABASE, create=True)


def stop_cluster(home: Path) -> bool:
    data = cluster_dir(home).resolve()
    if not (data / "postmaster.pid").exists():
        return False
    try:
        bindir = _pg_bindir()
    except RuntimeError:
        return False
    res = subprocess.run(_as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                         capture_output=True, text=True)
    return res.returncode == 0


def _health(api_url: str, timeout: float = 2.0) -> bool:
    parts = urlsplit(api_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path.rstrip("/") + "/health")
        resp = conn.getresponse()
        return resp.status == 200 and resp.read().strip() == b"true"
    except OSError:
        return False
    finally:
        conn.close()


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and any("prefect" in p for p in proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _read_state(home: Path) -> dict[str, Any] | None:
    try:
        return json.loads(state_path(home).read_text())
    except (OSError, ValueError):
        return None


def _running(state: dict | None) -> bool:
    return bool(state and _alive(state.get("pid")) and _health(state["api_url"]))


# --------------------------------------------------------------------------- Prefect profile

def _profiles():
    from prefect.settings.profiles import load_profiles

    return load_profiles(include_defaults=True)


def use_profile(api_url: str) -> str | None:
    """Point the ``newsflow`` profile at `api_url` and make it active.
    Returns the name of the profile that was active before."""
    from prefect.settings import PREFECT_API_URL
    from prefect.settings.profiles import Profile, save_profiles

    profiles = _profiles()
    previous = profiles.active_name
    if PROFILE in profiles.names:
        profiles.update_profile(PROFILE, {PREFECT_API_URL: api_url})
    else:
        profiles.add_profile(Profile(name=PROFILE, settings={PREFECT_API_URL: api_url}))
    profiles.set_active(PROFILE)
    save_profiles(profiles)
    return previous


def restore_profile(previous: str | None) -> None:
    from prefect.settings.profiles import save_profiles

    profiles = _profiles()
    if profiles.active_name != PROFILE:
        return  # the user switched profiles since: leave their choice alone
    profiles.set_active(previous if previous and previous in profiles.names else "ephemeral")
    save_profiles(profiles)


# --------------------------------------------------------------------------- public API

def up(settings: Settings, port: int | None = None, set_profile: bool = True) -> dict[str, Any]:
    """Start (or find) the Prefect server. Returns where it runs and how long the start took (no secrets)."""
    from infra import embedded

    home = settings.home
    t0 = time.perf_counter()
    db_url, db_where = prefect_database_url(settings)  # starts PostgreSQL if needed (own lock)
    with embedded.locked(home):
        state = _read_state(home)
        if _running(state):
            if set_profile:
                use_profile(state["api_url"])
            return {"api_url": state["api_url"], "ui_url": state["ui_url"], "pid": state["pid"],
                    "already_running": True, "profile": PROFILE if set_profile else None,
                    "database": redact(state.get("database", ""))}
        port = port or embedded._free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        env = dict(os.environ)
        for k, v in SERVER_TUNING.items():
            env.setdefault(k, v)
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = db_url
        env["PREFECT_API_URL"] = api_url
        env["PREFECT_UI_API_URL"] = api_url
        env.pop("PREFECT_PROFILE", None)
        cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port),
               "--no-background"]
        log = open(log_path(home), "ab")
        try:
            proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, close_fds=True, cwd=str(home))
        finally:
            log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _health(api_url):
            if proc.poll() is not None or time.monotonic() > deadline:
                if proc.poll() is None:
                    proc.kill()
                tail = log_path(home).read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the Prefect server did not start (see {log_path(home)}):\n{tail}")
            time.sleep(0.25)
        previous = _profiles().active_name
        state = {"pid": proc.pid, "port": port, "api_url": api_url, "ui_url": f"http://127.0.0.1:{port}",
                 "database": redact(db_url), "database_where": db_where, "previous_profile": previous if previous != PROFILE else None,
                 "started_at": time.time()}
        if set_profile:
            prev = use_profile(api_url)
            state["previous_profile"] = prev if prev != PROFILE else (_read_state(home) or {}).get("previous_profile")
        embedded._write_private(state_path(home), state)
    return {"api_url": api_url, "ui_url": state["ui_url"], "pid": proc.pid, "already_running": False,
            "profile": PROFILE if set_profile else None, "database": state["database"],
            "database_where": db_where, "seconds": round(time.perf_counter() - t0, 2), "log": str(log_path(home))}


def down(settings: Settings) -> bool:
    """Stop the server started by :func:`up` and restore the previous Prefect profile."""
    from infra import embedded

    home = settings.home
    with embedded.locked(home):
        state = _read_state(home)
        if not state:
            return False
        pid = int(state.get("pid") or 0)
        stopped = False
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM)  # the server and its uvicorn/service children
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 20
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
            stopped = True
        try:
            restore_profile(state.get("previous_profile"))
        except Exception:  # noqa: BLE001 - a broken profiles file must not block `down`
            pass
        state_path(home).unlink(missing_ok=True)
        stop_cluster(home)
    return stopped


def status(settings: Settings) -> dict[str, Any]:
    state = _read_state(settings.home)
    if not state:
        return {"running": False}
    return {"running": _running(state), "api_url": state["api_url"], "ui_url": state["ui_url"],
            "pid": state["pid"], "database": state.get("database")}


def server_env(settings: Settings) -> dict[str, str]:
    """PREFECT_API_URL of the running server, for a subprocess (empty if none runs)."""
    state = _read_state(settings.home)
    return {"PREFECT_API_URL": state["api_url"]} if _running(state) else {}


# --------------------------------------------------------------------------- secrets from Prefect Secret blocks

# Secret block name -> environment variable it fills (only when that variable is unset).
SECRET_BLOCKS = {
    "newsflow-database-url": "NEWSFLOW_DATABASE_URL",
    "newsflow-s3-access-key": "NEWSFLOW_S3_ACCESS_KEY",
    "newsflow-s3-secret-key": "NEWSFLOW_S3_SECRET_KEY",
}


def apply_secret_blocks(force: bool = False) -> list[str]:
    """With NEWSFLOW_SECRET_BLOCKS=1 (or `force`), fill unset NEWSFLOW_* secrets from the
    Prefect Secret blocks of SECRET_BLOCKS (create them in the UI under Blocks, or
    ``Secret(value=...).save("newsflow-s3-secret-key")``). Returns the names of the
    variables set; values are never logged or returned. Missing blocks are skipped."""
    if not (force or os.environ.get("NEWSFLOW_SECRET_BLOCKS", "").lower() in ("1", "true", "yes")):
        return []
    set_now: list[str] = []
    for block, var in SECRET_BLOCKS.items():
        if os.environ.get(var):
            continue
        try:
            from prefect.blocks.system import Secret

            value = Secret.load(block).get()
        except Exception:  # noqa: BLE001 - no such block (or no API): the environment decides
            continue
        if value:
            os.environ[var] = str(value)
            set_now.append(var)
    return set_now
