-- 0004 (PostgreSQL): as SQLite's 0004: the message id of each answer, and
-- rows imported from Claude Code's own logs.
ALTER TABLE requests ADD COLUMN message_id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN imported BIGINT NOT NULL DEFAULT 0;
