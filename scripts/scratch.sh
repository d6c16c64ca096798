# Sourced by the scripts beside it: a scratch database on the local
# PostgreSQL with an application role of its own, the build's binaries,
# free ports, and a clean-up (on exit, whatever happened) of the database,
# the role, the scratch directory and every process started with `started`.

# `binaries PROFILE`: the directory of the workspace's binaries (debug or release).
binaries() {
    local target_dir
    target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    echo "${target_dir}/$1"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# `scratch NAME`: sets db, role, admin, work and creates the database.
scratch() {
    db="todo_store_${1}_$$"
    role="todo_store_${1}_app_$$"
    admin="postgres://localhost/postgres"
    work="$(mktemp -d)"
    pids=()
    trap scratch_cleanup EXIT
    psql "$admin" -qc "CREATE DATABASE ${db}"
}

# `started PID`: stopped at the end.
started() { pids+=("$1"); }

scratch_cleanup() {
    set +e
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    psql "$admin" -qc "DROP DATABASE IF EXISTS ${db} WITH (FORCE)"
    psql "$admin" -qc "DROP ROLE IF EXISTS ${role}"
    rm -rf "$work"
}

# `migrated BIN_DIR [SETUP_FLAGS…]`: the library's migrations and the
# application role on the scratch database.
migrated() {
    local bin="$1"; shift
    "$bin/todo-store" --database-url "postgres://localhost/${db}" migrate run >/dev/null
    "$bin/todo-store" --database-url "postgres://localhost/${db}" setup --app-role "$role" "$@" >/dev/null
}

# `wait_for URL`: until it answers 2xx (10 s), else the logs and failure.
wait_for() {
    for _ in $(seq 1 100); do curl -fs "$1" >/dev/null && return 0; sleep 0.1; done
    echo "no answer from $1"; cat "$work"/*.log 2>/dev/null; return 1
}
