-- The upload queue: a job per file, a row per part. Every state change is a guarded
-- UPDATE (see queue/mod.rs); a part counts as progress only once its ack is committed here.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL,
    source       BLOB    NOT NULL,   -- the path's exact OS bytes (names need not be UTF-8)
    name         TEXT    NOT NULL,   -- remote file name
    dest         TEXT    NOT NULL DEFAULT '',
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    inode        INTEGER,
    sha1         TEXT,
    state        TEXT    NOT NULL,
    session      TEXT,               -- the provider's session (JSON), once initiated
    part_size    INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_run_at  INTEGER NOT NULL DEFAULT 0,   -- unix ms: a retry waits until then
    error_kind   TEXT,
    error        TEXT,               -- human text of the last error
    result       TEXT,               -- the provider's Committed (JSON), once done
    bytes_sent   INTEGER NOT NULL DEFAULT 0,   -- every part attempt's bytes, acked or not
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    finished_at  INTEGER
);
CREATE INDEX jobs_by_state ON jobs (state, next_run_at, id);

CREATE TABLE parts (
    job_id    INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    number    INTEGER NOT NULL,      -- 1-based
    offset    INTEGER NOT NULL,
    length    INTEGER NOT NULL,
    state     TEXT    NOT NULL,      -- pending | in_flight | acked
    receipt   TEXT,                  -- the provider's ack (JSON)
    attempts  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, number)
) WITHOUT ROWID;

-- Engine settings (concurrency, bandwidth, part size), as text.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
