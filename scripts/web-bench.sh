#!/usr/bin/env bash
# What the HTTP and token layers cost: `oha` against GET /v1/tasks (a first
# page of 50 of a user's 100 tasks) and POST /v1/tasks, beside the library
# called directly (crates/todo-store-web/examples/direct.rs) on the same
# database, user and client counts, alternating, in one run; and the token
# check alone. EdDSA tokens under a key set file, as Better Auth issues them.
# Release builds; a scratch database of its own, dropped at the end.
#
#   scripts/web-bench.sh            # SECONDS_EACH=10 CLIENTS="1 4" ROUNDS=2
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${SECONDS_EACH:-10}"
clients="${CLIENTS:-1 4}"
rounds="${ROUNDS:-2}"
command -v oha >/dev/null || { echo "needs oha (cargo install oha --locked)"; exit 1; }

source scripts/scratch.sh
cargo build --quiet --release --locked -p todo-store-web -p todo-store-cli
cargo build --quiet --release --locked -p todo-store-web --example direct
bin="$(binaries release)"
scratch webbench
migrated "$bin"
app_url="postgres://${role}@localhost/${db}?sslmode=${SSLMODE:-require}"

# An Ed25519 key set and a token under it, made with Node's crypto.
issuer="http://auth.bench.invalid"
node - "$work" "$issuer" <<'JS'
const crypto = require("node:crypto"), fs = require("node:fs");
const [dir, issuer] = process.argv.slice(2);
const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
const jwk = { ...publicKey.export({ format: "jwk" }), kid: "bench", alg: "EdDSA" };
fs.writeFileSync(`${dir}/jwks.json`, JSON.stringify({ keys: [jwk] }));
const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const claims = { sub: "bench-sub", email: "bench@example.com", emailVerified: true, name: "Bench",
                 iat: now, exp: now + 3600, iss: issuer, aud: issuer };
const signing = `${b64({ alg: "EdDSA", kid: "bench", typ: "JWT" })}.${b64(claims)}`;
fs.writeFileSync(`${dir}/token`, `${signing}.${crypto.sign(null, Buffer.from(signing), privateKey).toString("base64url")}`);
JS
token="$(cat "$work/token")"

port="$(free_port)"
api="http://127.0.0.1:${port}"
"$bin/todo-store-web" --database-url "$app_url" --jwks-file "$work/jwks.json" \
    --issuer "$issuer" --audience "$issuer" --listen "127.0.0.1:${port}" >"$work/service.log" 2>&1 &
started $!
wait_for "$api/readyz"
# Creates pile up during a run (deleted after each): room for them.
"$bin/todo-store" --database-url "postgres://localhost/${db}" limit set 1000000 >/dev/null
# The user's account (first sight) and 100 tasks.
for n in $(seq 1 100); do
    curl -fs -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' \
        -d "{\"title\": \"Task $n\"}" "$api/v1/tasks"
done

http() { # METHOD CLIENTS
    local extra=()
    [[ "$1" == POST ]] && extra=(-m POST -T application/json -d '{"title": "Bench"}')
    oha --no-tui --output-format json -z "${seconds}s" -c "$2" -H "Authorization: Bearer $token" \
        "${extra[@]}" "$api/v1/tasks" >"$work/oha.json"
    psql "postgres://localhost/${db}" -qc "DELETE FROM tasks WHERE title = 'Bench'"
    python3 - "$work/oha.json" "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = r["summary"]; p = r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
print(f"| HTTP {sys.argv[2]} /v1/tasks | {sys.argv[3]} | {p['p50']*1000:.3f} | {p['p95']*1000:.3f} | {s['requestsPerSec']:.0f} | {codes} |")
PY
}
direct() { # SHAPE CLIENTS
    local line
    line="$("$bin/examples/direct" "$app_url" bench-sub "$1" "$2" "$seconds" "$work/jwks.json" "$issuer" "$token")"
    python3 - "$line" "$1" "$2" <<'PY'
import re, sys
line, shape, clients = sys.argv[1:]
p50, p95, rate = re.search(r"p50 ([\d.]+) ms, p95 ([\d.]+) ms, (\d+) calls/s", line).groups()
print(f"| library {shape} | {clients} | {float(p50):.3f} | {float(p95):.3f} | {rate} | |")
PY
}
echo "| what | clients | p50 ms | p95 ms | per second | statuses |"
echo "|---|---:|---:|---:|---:|---|"
for c in $clients; do
    for round in $(seq 1 "$rounds"); do
        if (( round % 2 )); then http GET "$c"; direct list "$c"; else direct list "$c"; http GET "$c"; fi
    done
    for round in $(seq 1 "$rounds"); do
        if (( round % 2 )); then http POST "$c"; direct create "$c"; else direct create "$c"; http POST "$c"; fi
    done
    direct owner "$c"
    direct verify "$c"
done
