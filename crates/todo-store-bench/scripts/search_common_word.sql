-- Server time of the library's search (first page, newest first) for the 10 heavy
-- users and 10 light users: a common word of their titles (the longest word of the
-- newest title). With the trigram index usable, then not (no bitmap scans), twice.
-- Run: psql -d DB -f search_common_word.sql
CREATE TEMP TABLE probe AS
WITH heavy AS (SELECT user_id FROM task_counts ORDER BY total DESC LIMIT 10),
     light AS (SELECT user_id FROM task_counts WHERE total BETWEEN 900 AND 1100 ORDER BY user_id LIMIT 10),
     who AS (SELECT 'heavy' AS kind, user_id FROM heavy UNION ALL SELECT 'light', user_id FROM light)
SELECT w.kind, w.user_id, (SELECT (SELECT x FROM unnest(regexp_split_to_array(t.title, ' ')) x ORDER BY length(x) DESC, x LIMIT 1) FROM tasks t WHERE t.user_id = w.user_id ORDER BY created_at DESC LIMIT 1) AS word
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
