-- Objects the `inbox` flow (flows/serve.py) has landed from an S3 prefix: an
-- object is read again only when its ETag (its content) changes.

CREATE TABLE IF NOT EXISTS inbox_objects (
    bucket        text NOT NULL,
    key           text NOT NULL,
    etag          text NOT NULL,
    size          bigint NOT NULL DEFAULT 0,
    run_id        text,                          -- the ingest run that landed it
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, key, etag)
);
