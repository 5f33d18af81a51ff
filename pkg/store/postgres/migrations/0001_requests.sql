-- 0001 (PostgreSQL): one row per proxied request, as SQLite's 0001.
-- Times are unix milliseconds (UTC), durations microseconds, money nano-USD,
-- booleans 0 or 1: the same numbers as in SQLite, so that one set of queries
-- sums both the same way. Text sorts by byte (COLLATE "C"), as SQLite's does.
CREATE TABLE requests (
	id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time_ms               BIGINT NOT NULL,
	request_id            TEXT COLLATE "C" NOT NULL DEFAULT '',
	model                 TEXT COLLATE "C" NOT NULL DEFAULT '',
	path                  TEXT COLLATE "C" NOT NULL DEFAULT '',
	status                BIGINT NOT NULL DEFAULT 0,
	stream                BIGINT NOT NULL DEFAULT 0,
	input_tokens          BIGINT NOT NULL DEFAULT 0,
	output_tokens         BIGINT NOT NULL DEFAULT 0,
	cache_write_5m_tokens BIGINT NOT NULL DEFAULT 0,
	cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0,
	cache_read_tokens     BIGINT NOT NULL DEFAULT 0,
	cost_nano             BIGINT NOT NULL DEFAULT 0,
	cost_known            BIGINT NOT NULL DEFAULT 1,
	cache_hit             BIGINT NOT NULL DEFAULT 0,
	saved_nano            BIGINT NOT NULL DEFAULT 0,
	latency_us            BIGINT NOT NULL DEFAULT 0,
	ttfb_us               BIGINT NOT NULL DEFAULT 0,
	error_type            TEXT COLLATE "C" NOT NULL DEFAULT ''
);
