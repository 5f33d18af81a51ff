-- 0004: the message id of each answer, and rows imported from Claude
-- Code's own logs.
--
-- message_id is the answer's message.id (msg_...), '' when it had none;
-- imported is 1 for a row `cco stats import` read from Claude Code's
-- session logs, 0 for a request cco proxied itself. An import skips a
-- message whose request id or message id is in a row near its time (found
-- through requests_time: no index on the ids, which would slow every
-- batch the writer commits).
ALTER TABLE requests ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;
