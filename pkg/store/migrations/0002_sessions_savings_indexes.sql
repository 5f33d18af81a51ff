-- 0002: prompt-cache savings, the client's user agent and Claude Code
-- session, and the indexes the stats and retention queries range over.
ALTER TABLE requests ADD COLUMN prompt_cache_saved_nano INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
CREATE INDEX requests_time ON requests (time_ms);
CREATE INDEX requests_model_time ON requests (model, time_ms);
