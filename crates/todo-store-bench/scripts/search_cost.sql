-- Server time of the library's search statement (first page, newest first) for
-- the 10 users with the most tasks and 10 users with about 1,000, for two kinds of
-- word: a common one (the longest word of the user's newest title: 3-7 % of the
-- seed's tasks) and a rare one (a ticket number of the seed's titles, #100 to #999:
-- a handful of matches). The library's statement (candidates from the search keys,
-- probed by primary key, then ILIKE), then the ILIKE alone (the search before any
-- index), twice, alternating.
-- Run: psql -d DB -f search_cost.sql
CREATE TEMP TABLE probe AS
WITH heavy AS (SELECT user_id FROM task_counts ORDER BY total DESC LIMIT 10),
     light AS (SELECT user_id FROM task_counts WHERE total BETWEEN 900 AND 1100 ORDER BY user_id LIMIT 10),
     who AS (SELECT 'heavy' AS kind, user_id FROM heavy UNION ALL SELECT 'light', user_id FROM light)
SELECT w.kind, 'common' AS word_kind, w.user_id,
       (SELECT (SELECT x FROM unnest(regexp_split_to_array(t.title, ' ')) x ORDER BY length(x) DESC, x LIMIT 1)
          FROM tasks t WHERE t.user_id = w.user_id ORDER BY created_at DESC LIMIT 1) AS word
  FROM who w
UNION ALL
SELECT w.kind, 'rare', w.user_id, '#' || (100 + (abs(hashtext(w.user_id::text)) % 900))::text
  FROM who w;
CREATE FUNCTION pg_temp.run(k text, wk text, reps int, keyed bool) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; r record; n int := 0;
BEGIN
  t0 := clock_timestamp();
  FOR i IN 1..reps LOOP
    FOR r IN SELECT * FROM probe WHERE kind = k AND word_kind = wk LOOP
      -- A statement planned for its values, as the library's uncached list is.
      EXECUTE format('SELECT count(*) FROM (SELECT * FROM tasks WHERE user_id = %L %s
                       AND (title ILIKE %L OR description ILIKE %L)
                     ORDER BY created_at DESC, id DESC LIMIT 51) s',
                     r.user_id,
                     CASE WHEN keyed THEN format('AND id = ANY ((SELECT todo_store_search_candidates(%L, %L))::uuid[])',
                                                r.user_id, '%' || r.word || '%')
                          ELSE '' END,
                     '%' || r.word || '%', '%' || r.word || '%');
      n := n + 1;
    END LOOP;
  END LOOP;
  RETURN round(extract(epoch FROM clock_timestamp() - t0) * 1000 / NULLIF(n, 0), 3);
END $$;
CREATE FUNCTION pg_temp.pass(keyed bool) RETURNS TABLE (statement text, word text, heavy_ms numeric, light_ms numeric)
LANGUAGE sql AS $$
  SELECT CASE WHEN keyed THEN 'search keys' ELSE 'ILIKE alone' END, wk,
         pg_temp.run('heavy', wk, 20, keyed), pg_temp.run('light', wk, 20, keyed)
    FROM unnest(ARRAY['rare', 'common']) wk
$$;
SELECT kind, word_kind, string_agg(word, ', ') AS words FROM probe GROUP BY 1, 2 ORDER BY 1, 2;
SELECT * FROM pg_temp.pass(true);
SELECT * FROM pg_temp.pass(false);
SELECT * FROM pg_temp.pass(true);
SELECT * FROM pg_temp.pass(false);
