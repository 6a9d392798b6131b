-- newsflow schema, version 1. Applied once by infra/services.py:migrate.
-- Rows are only ever written after the objects they point at (tasks/land.py).

CREATE TABLE IF NOT EXISTS runs (
    id           text PRIMARY KEY,
    flow_run_id  text,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text NOT NULL DEFAULT 'running',
    params       jsonb NOT NULL DEFAULT '{}'::jsonb,
    counts       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS runs_started_at ON runs (started_at);

CREATE TABLE IF NOT EXISTS documents (
    id                text PRIMARY KEY,          -- content hash (newsflow.document.content_id)
    source            text NOT NULL,
    object_key        text NOT NULL,             -- clean JSON: clean/<id[:2]>/<id>.json
    raw_key           text NOT NULL,             -- original bytes: raw/<id[:2]>/<id><raw_ext>
    doc_sha256        text NOT NULL,             -- sha256 of the clean JSON object's bytes
    title             text,
    text              text NOT NULL DEFAULT '',
    language          text,
    language_score    double precision,
    languages         jsonb NOT NULL DEFAULT '{}'::jsonb,
    published         text,                      -- ISO 8601 at its own precision
    published_source  text,
    publisher         text,
    author            text,
    site_name         text,
    url               text,
    reference_date    text,
    pipeline_version  text NOT NULL,
    doc               jsonb NOT NULL,            -- Document.to_json(), as stored under object_key
    run_id            text,                      -- the run that last changed the row
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS documents_language ON documents (language);
CREATE INDEX IF NOT EXISTS documents_published ON documents (published);
CREATE INDEX IF NOT EXISTS documents_updated_at ON documents (updated_at);
CREATE INDEX IF NOT EXISTS documents_run_id ON documents (run_id);

CREATE TABLE IF NOT EXISTS canonical_entities (
    id         text PRIMARY KEY,                 -- sha256(type || NUL || canonical)[:32]
    type       text NOT NULL,
    canonical  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (type, canonical)
);

CREATE TABLE IF NOT EXISTS entities (
    doc_id        text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ord           integer NOT NULL,              -- position in Document.entities
    start         integer NOT NULL,
    "end"         integer NOT NULL,
    text          text NOT NULL,
    type          text NOT NULL,
    canonical_id  text NOT NULL REFERENCES canonical_entities (id),
    score         double precision,
    PRIMARY KEY (doc_id, ord)
);
CREATE INDEX IF NOT EXISTS entities_canonical_id ON entities (canonical_id);

CREATE TABLE IF NOT EXISTS dates (
    doc_id       text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ord          integer NOT NULL,               -- position in Document.dates
    start        integer NOT NULL,
    "end"        integer NOT NULL,
    text         text NOT NULL,
    value        text,                           -- ISO 8601 at its granularity; 'start/end' for ranges
    granularity  text NOT NULL,
    relative     boolean NOT NULL DEFAULT false,
    calendar     text NOT NULL DEFAULT 'gregorian',
    hijri        text,
    PRIMARY KEY (doc_id, ord)
);
CREATE INDEX IF NOT EXISTS dates_value ON dates (value);

CREATE TABLE IF NOT EXISTS quarantine (
    id          text PRIMARY KEY,                -- Quarantined.id: hash of source and raw bytes
    source      text NOT NULL,
    reason      text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    object_key  text NOT NULL,                   -- quarantine/<id[:2]>/<id><raw_ext>
    bytes       bigint NOT NULL,
    run_id      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS quarantine_reason ON quarantine (reason);
