-- 0003: who asked and which replica answered, and the rollups the stats
-- read instead of every row.
--
-- replica is the cco that served the request (server.replica); credential
-- a hash of the API key or token the client sent (never the secret);
-- user_name the client's x-cco-user header.
--
-- rollups sums the rows per bucket of time, per dimension and model: dim
-- 'm' per model in 15-minute buckets (every local day and hour starts on
-- one); 'S' (Claude Code session), 'U' (user: x-cco-user, else "key:" and
-- the credential) and 'R' (replica) in UTC days, and 's', 'u' and 'r' the
-- same in hours. The writer adds each batch to them in the batch's own
-- transaction; retention deletes rows of requests and leaves the rollups.
ALTER TABLE requests ADD COLUMN replica TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN credential TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN user_name TEXT NOT NULL DEFAULT '';
CREATE TABLE rollups (
	dim                     TEXT    NOT NULL,
	bucket_ms               INTEGER NOT NULL,
	grp                     TEXT    NOT NULL,
	model                   TEXT    NOT NULL,
	first_ms                INTEGER NOT NULL,
	last_ms                 INTEGER NOT NULL,
	requests                INTEGER NOT NULL,
	errors                  INTEGER NOT NULL,
	cache_hits              INTEGER NOT NULL,
	unknown_cost            INTEGER NOT NULL,
	input_tokens            INTEGER NOT NULL,
	output_tokens           INTEGER NOT NULL,
	cache_write_5m_tokens   INTEGER NOT NULL,
	cache_write_1h_tokens   INTEGER NOT NULL,
	cache_read_tokens       INTEGER NOT NULL,
	cost_nano               INTEGER NOT NULL,
	saved_nano              INTEGER NOT NULL,
	prompt_cache_saved_nano INTEGER NOT NULL,
	PRIMARY KEY (dim, bucket_ms, grp, model)
) WITHOUT ROWID;
-- One session's (or user's, or replica's) rollups, whatever their time.
CREATE INDEX rollups_group ON rollups (dim, grp);
INSERT INTO rollups
SELECT 'm', time_ms - time_ms % 900000, '', model, min(time_ms), max(time_ms), count(*),
	sum(CASE WHEN status >= 400 OR error_type <> '' THEN 1 ELSE 0 END),
	sum(CASE WHEN cache_hit <> 0 THEN 1 ELSE 0 END),
	sum(CASE WHEN cost_known = 0 THEN 1 ELSE 0 END),
	sum(input_tokens), sum(output_tokens), sum(cache_write_5m_tokens), sum(cache_write_1h_tokens),
	sum(cache_read_tokens), sum(cost_nano), sum(saved_nano), sum(prompt_cache_saved_nano)
FROM requests GROUP BY time_ms - time_ms % 900000, model;
INSERT INTO rollups
SELECT d.dim, time_ms - time_ms % d.size, CASE WHEN d.dim IN ('s', 'S') THEN session_id ELSE '' END, model,
	min(time_ms), max(time_ms), count(*),
	sum(CASE WHEN status >= 400 OR error_type <> '' THEN 1 ELSE 0 END),
	sum(CASE WHEN cache_hit <> 0 THEN 1 ELSE 0 END),
	sum(CASE WHEN cost_known = 0 THEN 1 ELSE 0 END),
	sum(input_tokens), sum(output_tokens), sum(cache_write_5m_tokens), sum(cache_write_1h_tokens),
	sum(cache_read_tokens), sum(cost_nano), sum(saved_nano), sum(prompt_cache_saved_nano)
FROM requests JOIN (
	SELECT 's' AS dim, 3600000 AS size UNION ALL SELECT 'S', 86400000
	UNION ALL SELECT 'u', 3600000 UNION ALL SELECT 'U', 86400000
	UNION ALL SELECT 'r', 3600000 UNION ALL SELECT 'R', 86400000
) d ON d.dim NOT IN ('s', 'S') OR session_id <> ''
GROUP BY d.dim, time_ms - time_ms % d.size, CASE WHEN d.dim IN ('s', 'S') THEN session_id ELSE '' END, model;
