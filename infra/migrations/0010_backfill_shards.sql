-- Sharded backfills (flows/backfill.py): one row per shard, so an interrupted
-- backfill resumes where it stopped. The shard key is a hash of the shard's
-- files (path, size, mtime) and the processing parameters: the same files with
-- the same parameters are the same shard, whichever backfill run meets them.

CREATE TABLE IF NOT EXISTS backfill_shards (
    shard_key     text PRIMARY KEY,
    backfill_key  text NOT NULL,                  -- hash of the input paths and parameters
    shard_index   integer NOT NULL,               -- position in the sorted walk
    files         integer NOT NULL,
    bytes         bigint NOT NULL,
    first_path    text NOT NULL,
    last_path     text NOT NULL,
    status        text NOT NULL DEFAULT 'running' -- running | done | failed
                  CHECK (status IN ('running', 'done', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    flow_run_id   text,                           -- the Prefect flow run of the last attempt
    error         text,
    summary       jsonb NOT NULL DEFAULT '{}'::jsonb,
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX IF NOT EXISTS backfill_shards_backfill_key ON backfill_shards (backfill_key, shard_index);
CREATE INDEX IF NOT EXISTS backfill_shards_status ON backfill_shards (status);
