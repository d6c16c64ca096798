-- As search_common_word.sql, for a rare word: a ticket number of the seed's
-- titles (#100 to #999), a handful of matches per user.
-- Run: psql -d DB -f search_rare_word.sql
CREATE TEMP TABLE probe AS
WITH heavy AS (SELECT user_id FROM task_counts ORDER BY total DESC LIMIT 10),
     light AS (SELECT user_id FROM task_counts WHERE total BETWEEN 900 AND 1100 ORDER BY user_id LIMIT 10),
     who AS (SELECT 'heavy' AS kind, user_id FROM heavy UNION ALL SELECT 'light', user_id FROM light)
SELECT w.kind, w.user_id, '#' || (100 + (abs(hashtext(w.user_id::text)) % 900))::text AS word
  FROM who w;
CREATE FUNCTION pg_temp.run(k text, reps int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; r record; n int := 0;
BEGIN
  t0 := clock_timestamp();
  FOR i IN 1..reps LOOP
    FOR r IN SELECT * FROM probe WHERE kind = k LOOP
      -- A statement planned for its values, as the library's uncached list is.
      EXECUTE format('SELECT count(*) FROM (SELECT * FROM tasks WHERE user_id = %L
                       AND (title ILIKE %L OR description ILIKE %L)
                     ORDER BY created_at DESC, id DESC LIMIT 51) s',
                     r.user_id, '%' || r.word || '%', '%' || r.word || '%');
      n := n + 1;
    END LOOP;
  END LOOP;
  RETURN round(extract(epoch FROM clock_timestamp() - t0) * 1000 / n, 3);
END $$;
SELECT kind, string_agg(word, $$, $$) FROM probe GROUP BY kind;
SET enable_bitmapscan = on;  SELECT 'index' AS with_gin, pg_temp.run('heavy', 20) AS heavy_ms, pg_temp.run('light', 20) AS light_ms;
SET enable_bitmapscan = off; SELECT 'no index' AS with_gin, pg_temp.run('heavy', 20) AS heavy_ms, pg_temp.run('light', 20) AS light_ms;
SET enable_bitmapscan = on;  SELECT 'index' AS with_gin, pg_temp.run('heavy', 20) AS heavy_ms, pg_temp.run('light', 20) AS light_ms;
SET enable_bitmapscan = off; SELECT 'no index' AS with_gin, pg_temp.run('heavy', 20) AS heavy_ms, pg_temp.run('light', 20) AS light_ms;
