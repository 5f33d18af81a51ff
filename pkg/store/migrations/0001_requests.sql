-- 0001: one row per proxied request.
-- Times are unix milliseconds (UTC), durations microseconds, money nano-USD,
-- booleans 0 or 1.
CREATE TABLE requests (
	id                    INTEGER PRIMARY KEY,
	time_ms               INTEGER NOT NULL,
	request_id            TEXT    NOT NULL DEFAULT '',
	model                 TEXT    NOT NULL DEFAULT '',
	path                  TEXT    NOT NULL DEFAULT '',
	status                INTEGER NOT NULL DEFAULT 0,
	stream                INTEGER NOT NULL DEFAULT 0,
	input_tokens          INTEGER NOT NULL DEFAULT 0,
	output_tokens         INTEGER NOT NULL DEFAULT 0,
	cache_write_5m_tokens INTEGER NOT NULL DEFAULT 0,
	cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,
	cache_read_tokens     INTEGER NOT NULL DEFAULT 0,
	cost_nano             INTEGER NOT NULL DEFAULT 0,
	cost_known            INTEGER NOT NULL DEFAULT 1,
	cache_hit             INTEGER NOT NULL DEFAULT 0,
	saved_nano            INTEGER NOT NULL DEFAULT 0,
	latency_us            INTEGER NOT NULL DEFAULT 0,
	ttfb_us               INTEGER NOT NULL DEFAULT 0,
	error_type            TEXT    NOT NULL DEFAULT ''
);
