"""Where storage is, for this process: external services from the environment,
else the embedded ones (infra/embedded.py), started on demand.

    from infra.services import services
    svc = services(Settings.from_env())
    svc.database_url, svc.s3_endpoint, svc.s3_bucket, svc.minio()

The database schema is brought up to date the first time a process asks for
the services of a database (`migrate`): SQL files in infra/migrations named
NNNN_name.sql are applied in file-name order, each once, in its own
transaction, recorded in `schema_migrations`, under a PostgreSQL advisory lock
so concurrent processes do not race. Production sets NEWSFLOW_DATABASE_URL and
NEWSFLOW_S3_ENDPOINT (+ keys) and runs the same code against PostgreSQL and MinIO.
"""
from __future__ import annotations

import hashlib
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsflow.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_\-]+\.sql$")
# pg_advisory_lock key for migrations (any constant; 'newsflow' in ASCII, as a bigint).
MIGRATION_LOCK = 0x6E657773666C6F77


@dataclass(frozen=True)
class Services:
    database_url: str
    s3_endpoint: str  # host:port, as the minio client takes it
    s3_access_key: str | None
    s3_secret_key: str | None
    s3_bucket: str
    s3_secure: bool
    s3_region: str | None
    embedded_database: bool
    embedded_s3: bool

    def minio(self):
        """A new minio client for this endpoint (thread-safe; keep one per process)."""
        from minio import Minio

        return Minio(self.s3_endpoint, access_key=self.s3_access_key, secret_key=self.s3_secret_key,
                     secure=self.s3_secure, region=self.s3_region)

    def database_url_for(self, name: str, create: bool = True) -> str:
        """The URL of another database on the same server (e.g. one for the Prefect
        server), created if missing and `create` (needs CREATEDB on an external server)."""
        return database_url_for(self.database_url, name, create=create)

    def env(self) -> dict[str, str]:
        """Environment variables that point another process at these same services."""
        out = {"NEWSFLOW_DATABASE_URL": self.database_url, "NEWSFLOW_S3_ENDPOINT": self.s3_endpoint,
               "NEWSFLOW_S3_BUCKET": self.s3_bucket, "NEWSFLOW_S3_SECURE": "1" if self.s3_secure else "0"}
        if self.s3_access_key:
            out["NEWSFLOW_S3_ACCESS_KEY"] = self.s3_access_key
        if self.s3_secret_key:
            out["NEWSFLOW_S3_SECRET_KEY"] = self.s3_secret_key
        if self.s3_region:
            out["NEWSFLOW_S3_REGION"] = self.s3_region
        return out

    def __repr__(self) -> str:  # never print the secret key
        return (f"Services(database_url={self.database_url!r}, s3_endpoint={self.s3_endpoint!r}, "
                f"s3_bucket={self.s3_bucket!r}, embedded_database={self.embedded_database}, "
                f"embedded_s3={self.embedded_s3})")


def database_url_for(database_url: str, name: str, create: bool = True) -> str:
    """`database_url` with its database swapped for `name` (URL or key=value form)."""
    import psycopg
    from psycopg import sql
    from urllib.parse import urlsplit, urlunsplit

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"database names here are plain identifiers, not {name!r}")
    if "://" in database_url:
        url = urlunsplit(urlsplit(database_url)._replace(path="/" + name))
    else:
        url = psycopg.conninfo.make_conninfo(database_url, dbname=name)
    if create:
        with psycopg.connect(database_url, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                try:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                except psycopg.errors.DuplicateDatabase:
                    pass
    return url


def split_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    """'http://host:9000' -> ('host:9000', False); 'host:9000' keeps `secure`."""
    if "://" in endpoint:
        scheme, rest = endpoint.split("://", 1)
        return rest.rstrip("/"), scheme.lower() == "https"
    return endpoint.rstrip("/"), secure


_cache: dict[Settings, Services] = {}
_migrated: set[str] = set()
_lock = threading.Lock()


def services(settings: Settings | None = None, *, migrate_schema: bool = True) -> Services:
    """The services for `settings` (default: from the environment), starting the
    embedded ones if needed and migrating the schema, once per process."""
    settings = settings or Settings.from_env()
    with _lock:
        svc = _cache.get(settings)
        if svc is None or not _still_running(svc, settings):
            svc = _resolve(settings)
            _cache[settings] = svc
        if migrate_schema and svc.database_url not in _migrated:
            migrate(svc.database_url)
            _migrated.add(svc.database_url)
            ensure_bucket(svc)
    return svc


def forget() -> None:
    """Drop what this process knows (after `newsflow down`, or in tests)."""
    with _lock:
        _cache.clear()
        _migrated.clear()


def _still_running(svc: Services, settings: Settings) -> bool:
    """For embedded services, that the servers we know of still run (they may have been
    stopped or restarted by `newsflow down/up` in another process). Sub-millisecond."""
    if not (svc.embedded_database or svc.embedded_s3):
        return True
    from infra import embedded

    return ((not svc.embedded_database or embedded.postgres_running(settings.home))
            and (not svc.embedded_s3 or embedded.s3_running(settings.home, svc.s3_endpoint)))


def _resolve(settings: Settings) -> Services:
    database_url = settings.database_url
    s3: dict[str, Any] | None = None
    if database_url is None or settings.s3_endpoint is None:
        from infra import embedded

        with embedded.locked(settings.home):
            if database_url is None:
                database_url, _ = embedded.start_postgres(settings.home)
            if settings.s3_endpoint is None:
                s3, _ = embedded.start_s3(settings.home)
    if s3 is not None:
        return Services(database_url=database_url, s3_endpoint=s3["endpoint"], s3_access_key=s3["access_key"],
                        s3_secret_key=s3["secret_key"], s3_bucket=settings.s3_bucket, s3_secure=False,
                        s3_region=settings.s3_region or s3.get("region"), embedded_database=settings.database_url is None,
                        embedded_s3=True)
    endpoint, secure = split_endpoint(settings.s3_endpoint, settings.s3_secure)
    return Services(database_url=database_url, s3_endpoint=endpoint, s3_access_key=settings.s3_access_key,
                    s3_secret_key=settings.s3_secret_key, s3_bucket=settings.s3_bucket, s3_secure=secure,
                    s3_region=settings.s3_region, embedded_database=settings.database_url is None, embedded_s3=False)


def ensure_bucket(svc: Services) -> None:
    """Create the bucket if missing (for the embedded endpoint: a directory of the lake)."""
    from minio.error import S3Error

    client = svc.minio()
    if not client.bucket_exists(svc.s3_bucket):
        try:
            client.make_bucket(svc.s3_bucket)
        except S3Error as exc:  # another process made it first
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise


# --------------------------------------------------------------------------- migrations

@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """NNNN_name.sql files in file-name order; two files with one number is an error."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        m = _MIGRATION_NAME.match(path.name)
        if not m:
            warnings.warn(f"ignoring migration file with an unexpected name: {path.name}", stacklevel=2)
            continue
        found.append(Migration(version=m.group(1), name=path.stem, path=path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        dupes = sorted({v for v in versions if versions.count(v) > 1})
        raise RuntimeError(f"two migration files share a number: {dupes}")
    return found


def migrate(database_url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending migrations; returns the names applied (empty when up to date)."""
    import psycopg

    applied_now: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                                version text PRIMARY KEY,
                                name text NOT NULL,
                                checksum text NOT NULL,
                                applied_at timestamptz NOT NULL DEFAULT now())""")
            done = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
            for mig in discover_migrations(directory):
                if mig.version in done:
                    if done[mig.version] != mig.checksum:
                        warnings.warn(f"migration {mig.name} changed after it was applied; "
                                      "add a new migration instead of editing an applied one", stacklevel=2)
                    continue
                with conn.transaction():
                    conn.execute(mig.sql)
                    conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                                 (mig.version, mig.name, mig.checksum))
                applied_now.append(mig.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return applied_now
