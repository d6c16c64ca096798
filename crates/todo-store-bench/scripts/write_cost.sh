#!/bin/sh
# Usage: [N=writes] write_cost.sh DB ROUNDS — for each variant (all indexes, or one dropped / one trigger
# disabled, inside a transaction that is rolled back), time N single-row inserts, updates
# (title), status flips and deletes of random tasks, server-side (a PL/pgSQL loop: no network).
DB=$1; ROUNDS=${2:-1}; N=${N:-1000}
VARIANTS="all tasks_user_created_idx tasks_user_updated_idx tasks_user_priority_idx tasks_user_due_idx tasks_user_title_idx tasks_user_open_priority_idx task_search_keys_idx trigger:tasks_search_text_insert,tasks_search_text_update,tasks_search_text_delete trigger:tasks_history_insert,tasks_history_update,tasks_history_delete trigger:tasks_tally_insert,tasks_tally_update,tasks_tally_delete"
TOTAL=$(psql -Atd $DB -c "select reltuples::bigint from pg_class where relname='tasks'")
PCT=$(python3 -c "print(min(100, 4*$N*100/$TOTAL))")
k=0
for r in $(seq 1 $ROUNDS); do
for v in $VARIANTS; do
  k=$((k+1))
  case $v in
    all) drop="";;
    trigger:*) t=${v#trigger:}; drop=""; for x in $(echo $t | tr , ' '); do drop="$drop ALTER TABLE tasks DISABLE TRIGGER $x;"; done;;
    *) drop="DROP INDEX $v;";;
  esac
  psql -qAtd $DB 2>&1 <<SQL | sed "s/^NOTICE:  /$v /"
BEGIN;
$drop
CREATE TEMP TABLE picks ON COMMIT DROP AS
  SELECT user_id, id, row_number() OVER () AS n FROM tasks TABLESAMPLE BERNOULLI($PCT) REPEATABLE($k) LIMIT 3*$N;
DO \$\$
DECLARE t0 timestamptz; r record; ins interval; upd interval; flip interval; del interval;
BEGIN
  t0 := clock_timestamp();
  FOR r IN SELECT * FROM picks WHERE n <= $N LOOP
    INSERT INTO tasks (user_id, id, title, description) VALUES (r.user_id, gen_random_uuid(), 'Write the quarterly report', 'Ask Sam for the numbers');
  END LOOP;
  ins := clock_timestamp() - t0; t0 := clock_timestamp();
  FOR r IN SELECT * FROM picks WHERE n <= $N LOOP
    UPDATE tasks SET title = title || '!' WHERE user_id = r.user_id AND id = r.id;
  END LOOP;
  upd := clock_timestamp() - t0; t0 := clock_timestamp();
  FOR r IN SELECT * FROM picks WHERE n > $N AND n <= 2*$N LOOP
    UPDATE tasks SET completed = NOT completed, completed_at = CASE WHEN completed THEN NULL ELSE now() END WHERE user_id = r.user_id AND id = r.id;
  END LOOP;
  flip := clock_timestamp() - t0; t0 := clock_timestamp();
  FOR r IN SELECT * FROM picks WHERE n > 2*$N LOOP
    DELETE FROM tasks WHERE user_id = r.user_id AND id = r.id;
  END LOOP;
  del := clock_timestamp() - t0;
  RAISE NOTICE 'us_per_write insert % update % complete % delete %',
    round(extract(epoch from ins)*1e6/$N), round(extract(epoch from upd)*1e6/$N),
    round(extract(epoch from flip)*1e6/$N), round(extract(epoch from del)*1e6/$N);
END \$\$;
ROLLBACK;
SQL
done
done
