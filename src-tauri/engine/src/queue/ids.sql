-- Job ids are never reused (AUTOINCREMENT): a stale reference (a watch's record, a
-- window's tombstone) can never meet a new job under an old id. SQLite cannot add
-- AUTOINCREMENT to a table, so the table is rebuilt (foreign keys are off meanwhile,
-- and checked before this commits).
DROP TRIGGER part_changed;
CREATE TABLE jobs_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL,
    source       BLOB    NOT NULL,
    name         TEXT    NOT NULL,
    dest         TEXT    NOT NULL DEFAULT '',
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    inode        INTEGER,
    sha1         TEXT,
    state        TEXT    NOT NULL,
    session      TEXT,
    part_size    INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_run_at  INTEGER NOT NULL DEFAULT 0,
    error_kind   TEXT,
    error        TEXT,
    result       TEXT,
    bytes_sent   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    rev          INTEGER NOT NULL DEFAULT 0
);
INSERT INTO jobs_new (id, account_id, source, name, dest, size, mtime_ns, inode, sha1, state, session, part_size,
                      attempts, next_run_at, error_kind, error, result, bytes_sent, created_at, updated_at, finished_at, rev)
    SELECT id, account_id, source, name, dest, size, mtime_ns, inode, sha1, state, session, part_size,
           attempts, next_run_at, error_kind, error, result, bytes_sent, created_at, updated_at, finished_at, rev
    FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_by_state ON jobs (state, next_run_at, id);
CREATE INDEX jobs_by_rev ON jobs (rev);
-- Above every id ever handed out, including removed jobs still remembered as tombstones.
DELETE FROM sqlite_sequence WHERE name IN ('jobs', 'jobs_new');
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'jobs', MAX(COALESCE((SELECT MAX(id) FROM jobs), 0), COALESCE((SELECT MAX(id) FROM removed_jobs), 0));

CREATE TRIGGER job_added AFTER INSERT ON jobs BEGIN
    UPDATE queue_rev SET rev = rev + 1;
    UPDATE jobs SET rev = (SELECT rev FROM queue_rev) WHERE id = NEW.id;
END;

CREATE TRIGGER job_changed AFTER UPDATE ON jobs WHEN NEW.rev = OLD.rev BEGIN
    UPDATE queue_rev SET rev = rev + 1;
    UPDATE jobs SET rev = (SELECT rev FROM queue_rev) WHERE id = NEW.id;
END;

CREATE TRIGGER part_changed AFTER UPDATE OF state ON parts WHEN NEW.state <> OLD.state BEGIN
    UPDATE queue_rev SET rev = rev + 1;
    UPDATE jobs SET rev = (SELECT rev FROM queue_rev) WHERE id = NEW.job_id;
END;

CREATE TRIGGER job_removed AFTER DELETE ON jobs BEGIN
    UPDATE queue_rev SET rev = rev + 1;
    INSERT OR REPLACE INTO removed_jobs (id, rev) VALUES (OLD.id, (SELECT rev FROM queue_rev));
END;
