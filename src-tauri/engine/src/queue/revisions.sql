-- Revisions: every change to a job (or to one of its parts' states) takes the next number
-- from queue_rev, so a reader (the window) asks "what changed since N" instead of listing
-- the whole queue again. Triggers do the counting, so no write path can forget it.
-- A deleted job leaves a tombstone with the revision of its deletion. Tombstones below
-- `floor` were pruned: a reader that far behind lists the queue again.
ALTER TABLE jobs ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET rev = id;
CREATE INDEX jobs_by_rev ON jobs (rev);

CREATE TABLE queue_rev (
    only  INTEGER PRIMARY KEY CHECK (only = 1),
    rev   INTEGER NOT NULL,
    floor INTEGER NOT NULL
);
INSERT INTO queue_rev (only, rev, floor) VALUES (1, (SELECT COALESCE(MAX(id), 0) FROM jobs), 0);

CREATE TABLE removed_jobs (
    id  INTEGER PRIMARY KEY,
    rev INTEGER NOT NULL
);
CREATE INDEX removed_jobs_by_rev ON removed_jobs (rev);

CREATE TRIGGER job_added AFTER INSERT ON jobs BEGIN
    UPDATE queue_rev SET rev = rev + 1;
    UPDATE jobs SET rev = (SELECT rev FROM queue_rev) WHERE id = NEW.id;
END;

-- The WHEN keeps the trigger's own UPDATE (and part_changed's) from counting twice.
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
