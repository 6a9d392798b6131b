"""Settings, all from the environment, with embedded defaults.

With no NEWSFLOW_DATABASE_URL, newsflow starts a PostgreSQL from `pgserver`
under $NEWSFLOW_HOME/pg; with no NEWSFLOW_S3_ENDPOINT, an S3 endpoint from
`rclone serve s3` over $NEWSFLOW_HOME/lake. Setting them points the same code
at an external PostgreSQL and MinIO.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {value!r}") from None


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    s3_endpoint: str | None
    s3_access_key: str | None
    s3_secret_key: str | None
    s3_bucket: str
    s3_secure: bool
    s3_region: str | None
    batch_size: int
    workers: int
    max_bytes: int

    @classmethod
    def from_env(cls) -> "Settings":
        home = Path(os.environ.get("NEWSFLOW_HOME") or Path.home() / ".newsflow").expanduser()
        return cls(
            home=home,
            database_url=os.environ.get("NEWSFLOW_DATABASE_URL") or None,
            s3_endpoint=os.environ.get("NEWSFLOW_S3_ENDPOINT") or None,
            s3_access_key=os.environ.get("NEWSFLOW_S3_ACCESS_KEY") or None,
            s3_secret_key=os.environ.get("NEWSFLOW_S3_SECRET_KEY") or None,
            s3_bucket=os.environ.get("NEWSFLOW_S3_BUCKET") or "newsflow",
            s3_secure=(os.environ.get("NEWSFLOW_S3_SECURE", "").lower() in ("1", "true", "yes")),
            s3_region=os.environ.get("NEWSFLOW_S3_REGION") or None,
            batch_size=_int("NEWSFLOW_BATCH_SIZE", 500),
            workers=_int("NEWSFLOW_WORKERS", 2),
            max_bytes=_int("NEWSFLOW_MAX_BYTES", 20 * 1024 * 1024),
        )
