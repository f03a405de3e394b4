-- Watched folders, and what each has queued: the version of every file it sent (so a
-- restart catches up without re-uploading) and whether its after-upload action ran.
CREATE TABLE watches (
    id          INTEGER PRIMARY KEY,
    dir         BLOB    NOT NULL,            -- the folder's exact OS bytes
    recursive   INTEGER NOT NULL DEFAULT 1,
    account_id  INTEGER NOT NULL,
    dest        TEXT    NOT NULL DEFAULT '',
    include     TEXT    NOT NULL DEFAULT '[]',   -- JSON array of globs
    exclude     TEXT    NOT NULL DEFAULT '[]',
    after       TEXT    NOT NULL DEFAULT 'keep', -- keep | delete | move:<dir>
    quiet_secs  INTEGER NOT NULL DEFAULT 3,
    enabled     INTEGER NOT NULL DEFAULT 1,
    status      TEXT    NOT NULL DEFAULT 'starting',
    detail      TEXT,
    pending     INTEGER NOT NULL DEFAULT 0,      -- files waiting to settle
    created_at  INTEGER NOT NULL
);

CREATE TABLE watch_files (
    watch_id  INTEGER NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    path      BLOB    NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    inode     INTEGER,
    job_id    INTEGER,
    state     TEXT    NOT NULL,   -- queued | uploaded | failed | acted
    PRIMARY KEY (watch_id, path)
) WITHOUT ROWID;
CREATE INDEX watch_files_by_job ON watch_files (job_id);
CREATE INDEX watch_files_by_version ON watch_files (size, mtime_ns, inode);
