"""Shared fixtures: real storage for tests.

``services`` (session scope): a REAL embedded PostgreSQL (pgserver) and S3
endpoint (rclone serve s3) in a fresh temporary NEWSFLOW_HOME. For the whole
session it sets NEWSFLOW_HOME and removes NEWSFLOW_DATABASE_URL /
NEWSFLOW_S3_* from os.environ, so ``Settings.from_env()``, ``tasks.land`` and
any subprocess started with ``os.environ`` (plus ``services.env()`` if it must
not start anything itself) use these servers. Yields an
``infra.services.Services`` (database_url, s3_endpoint, s3_access_key,
s3_secret_key, s3_bucket, ``minio()``, ``env()``); the schema is migrated
and the bucket exists. The servers are stopped at the end of the session.

``clean_storage`` (function scope): the same services, with every newsflow
table truncated and the bucket emptied before the test.

Tests that need their own isolated home (e.g. tests/test_e2e.py) can ignore
these and pass NEWSFLOW_HOME to subprocesses instead.
"""
from __future__ import annotations

import os

import pytest

TABLES = ("entities", "dates", "documents", "canonical_entities", "quarantine", "runs", "backfill_shards", "inbox_objects")


@pytest.fixture(scope="session")
def services(tmp_path_factory):
    from infra import embedded
    from infra import services as services_mod
    from newsflow.config import Settings
    from tasks import land

    home = tmp_path_factory.mktemp("newsflow-home")
    saved = {k: v for k, v in os.environ.items() if k.startswith("NEWSFLOW_")}
    for k in saved:
        del os.environ[k]
    os.environ["NEWSFLOW_HOME"] = str(home)
    for k in ("NEWSFLOW_BATCH_SIZE", "NEWSFLOW_WORKERS", "NEWSFLOW_MAX_BYTES", "NEWSFLOW_TASK_RUNNER"):
        if k in saved:
            os.environ[k] = saved[k]
    settings = Settings.from_env()
    try:
        yield services_mod.services(settings)
    finally:
        land.reset()
        embedded.down(settings)
        for k in [k for k in os.environ if k.startswith("NEWSFLOW_")]:
            del os.environ[k]
        os.environ.update(saved)


@pytest.fixture
def clean_storage(services):
    """The session's services with empty tables and an empty bucket."""
    import psycopg

    from tasks import land

    with psycopg.connect(services.database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    land.default_lander().lake.clear()
    return services
