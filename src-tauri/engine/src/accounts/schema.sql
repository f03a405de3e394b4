-- Provider accounts. Secrets are NOT here: only the names of the secret settings that
-- are stored in the OS keyring under (app id, "<uid>/<key>").
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    uid         TEXT    NOT NULL UNIQUE,   -- random; keys the keyring entries
    name        TEXT    NOT NULL UNIQUE,
    provider    TEXT    NOT NULL,
    endpoint    TEXT,
    settings    TEXT    NOT NULL,          -- JSON object of non-secret settings
    secret_keys TEXT    NOT NULL,          -- JSON array of secret setting names
    created_at  INTEGER NOT NULL,          -- unix seconds
    updated_at  INTEGER NOT NULL
);
