-- 0002 (PostgreSQL): as SQLite's 0002.
ALTER TABLE requests ADD COLUMN prompt_cache_saved_nano BIGINT NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN user_agent TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN session_id TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX requests_time ON requests (time_ms);
CREATE INDEX requests_model_time ON requests (model, time_ms);
