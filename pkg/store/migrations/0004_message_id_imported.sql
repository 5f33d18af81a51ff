-- 0004: the message id of each answer, rows imported from Claude Code's
-- own logs, and the indexes that find a request or a message by its id.
--
-- message_id is the answer's message.id (msg_...), '' when it had none;
-- imported is 1 for a row `cco stats import` read from Claude Code's
-- session logs, 0 for a request cco proxied itself. An import skips a
-- message whose request id or message id is already in a row.
ALTER TABLE requests ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;
CREATE INDEX requests_request_id ON requests (request_id);
CREATE INDEX requests_message_id ON requests (message_id);
