#!/bin/bash
# seed_vs_copy.sh SOURCE_DB [seed flags…]: volume A loaded by `todo-store-bench seed` and by
# raw `\copy tasks from` (users loaded first, untimed) into fresh, migrated databases, in the
# order seed, COPY, COPY, seed. SOURCE_DB holds a volume A seeded with --seed 1, whose rows are
# dumped for the raw COPY in their physical order, which is the order the seed loaded them
# (a dump sorted by key would hand raw COPY index inserts in key order, which the seed's
# users, loaded in their plan's order, do not get). Needs `todo-store` and
# `todo-store-bench` on the PATH.
set -e
src=$1; shift
psql -qd "$src" -c "\copy (select * from users where email like '%@seed1.todo-store.invalid') to users.tsv" \
  -c "\copy (select * from tasks where title not like 'Bench task%') to tasks.tsv"
fresh() { psql -qd postgres -c "DROP DATABASE IF EXISTS todo_seedcmp_$1" >/dev/null 2>&1; createdb todo_seedcmp_$1
          todo-store --database-url postgres://localhost/todo_seedcmp_$1 setup >/dev/null; }
seed() { local name=$1; shift; fresh $name; /usr/bin/time -f "client: user %U s sys %S s maxrss %M kB" \
           todo-store-bench --database-url postgres://localhost/todo_seedcmp_$name seed --users 10000 --tasks-per-user 100 --seed 1 "$@" 2>&1 | grep -v '^$'; }
copy() { fresh $1; psql -qd todo_seedcmp_$1 -c "\copy users from users.tsv"; s=$(date +%s.%N)
         psql -qd todo_seedcmp_$1 -c "\copy tasks from tasks.tsv"; e=$(date +%s.%N)
         echo "raw COPY: 1000000 tasks in $(echo "$e - $s" | bc) s, $(echo "1000000 / ($e - $s)" | bc) rows/s"; }
seed s1 "$@"; copy c1; copy c2; seed s2 "$@"
for d in s1 c1 c2 s2; do psql -qd postgres -c "DROP DATABASE todo_seedcmp_$d"; done
