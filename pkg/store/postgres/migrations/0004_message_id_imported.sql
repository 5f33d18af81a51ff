-- 0004 (PostgreSQL): as SQLite's 0004: the message id of each answer, rows
-- imported from Claude Code's own logs, and the indexes that find a
-- request or a message by its id.
ALTER TABLE requests ADD COLUMN message_id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN imported BIGINT NOT NULL DEFAULT 0;
CREATE INDEX requests_request_id ON requests (request_id);
CREATE INDEX requests_message_id ON requests (message_id);
