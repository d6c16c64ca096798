#!/usr/bin/env bash
# The README's quick start, end to end: a fresh database holding both Better
# Auth's tables and the library's, linked (`setup --better-auth`); a real
# Better Auth app (examples/better-auth, from the npm registry) and
# todo-store-web beside it; then the README's curl examples with a token from
# Better Auth, each checked. Everything it starts or creates is stopped or
# dropped at the end. Needs Node.js and npm, and the local PostgreSQL.
#
#   scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/scratch.sh
step() { printf '\n--> %s\n' "$*"; }

cargo build --quiet --locked -p todo-store-web -p todo-store-cli
bin="$(binaries debug)"
app=examples/better-auth
[[ -d "$app/node_modules" ]] || (cd "$app" && npm ci --no-audit --no-fund --silent)

step "a fresh database with Better Auth's tables and the library's, linked"
scratch quickstart
export AUTH_DB="postgres://$(id -un)@localhost/${db}"
auth_port="$(free_port)"
export PORT="$auth_port" BETTER_AUTH_SECRET
BETTER_AUTH_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
(cd "$app" && node migrate.mjs)
migrated "$bin" --better-auth

step "Better Auth and todo-store-web"
(cd "$app" && exec node server.mjs) >"$work/better-auth.log" 2>&1 &
started $!
auth="http://localhost:${auth_port}"
wait_for "$auth/api/auth/jwks"
api_port="$(free_port)"
API="http://127.0.0.1:${api_port}"
"$bin/todo-store-web" --database-url "postgres://${role}@localhost/${db}" \
    --better-auth-url "$auth" --listen "127.0.0.1:${api_port}" >"$work/web.log" 2>&1 &
started $!
wait_for "$API/readyz"

step "tokens from Better Auth"
TOKEN="$(cd "$app" && node token.mjs "$auth" ada@example.com "Ada Lovelace")"
OTHER="$(cd "$app" && node token.mjs "$auth" grace@example.com "Grace Hopper")"

# `call STATUS ARGS…`: curl, and fail unless the answer has that status.
call() {
    local expected="$1"; shift
    local status
    status="$(curl -s -o "$work/body" -w '%{http_code}' "$@")"
    if [[ "$status" != "$expected" ]]; then
        echo "expected $expected, got $status: curl $*"; cat "$work/body"; echo; return 1
    fi
    cat "$work/body"; echo
}
json() { python3 -c "import json,sys; print(json.load(open('$work/body'))$1)"; }

step "the README's curl examples, every route"
AUTH="Authorization: Bearer $TOKEN"
JSON='content-type: application/json'
call 204 "$API/healthz"
call 204 "$API/readyz"
call 200 -H "$AUTH" "$API/v1/sync-token"
SINCE="$(json '["token"]')"
call 201 -H "$AUTH" -H "$JSON" -d '{"title": "Buy milk", "priority": 2}' "$API/v1/tasks"
ID="$(json '["id"]')"
client_id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
call 201 -H "$AUTH" -H "$JSON" -d "{\"id\": \"$client_id\", \"title\": \"Call Ada\"}" "$API/v1/tasks"
call 201 -H "$AUTH" -H "$JSON" -d "{\"id\": \"$client_id\", \"title\": \"Call Ada\"}" "$API/v1/tasks"
[[ "$(json '["version"]')" == 1 ]]    # the retry returned the same task
OTHER_ID="$client_id"
call 200 -H "$AUTH" "$API/v1/tasks?status=open&sort=priority&order=asc&limit=20"
[[ "$(json '["items"][0]["id"]')" == "$ID" ]]
call 200 -H "$AUTH" "$API/v1/tasks?q=milk&due_before=2027-01-01T00:00:00Z"
call 200 -H "$AUTH" "$API/v1/tasks?limit=1"
NEXT="$(json '["next_cursor"]')"
call 200 -H "$AUTH" "$API/v1/tasks?limit=1&cursor=$NEXT"
[[ "$(json '["next_cursor"]')" == None ]]
call 200 -H "$AUTH" "$API/v1/tasks/$ID"
call 200 -H "$AUTH" -H 'If-Match: "1"' -H "$JSON" -X PATCH \
  -d '{"due_at": "2026-12-24T18:00:00Z", "description": "2 litres"}' "$API/v1/tasks/$ID"
call 412 -H "$AUTH" -H 'If-Match: "1"' -H "$JSON" -X PATCH -d '{"title": "A lost update"}' "$API/v1/tasks/$ID"
call 200 -H "$AUTH" -X POST "$API/v1/tasks/$ID/complete"
[[ "$(json '["status"]')" == "done" ]]
call 200 -H "$AUTH" -X POST "$API/v1/tasks/$ID/reopen"
[[ "$(json '["version"]')" == 4 ]]
call 200 -H "$AUTH" "$API/v1/tasks/$ID/history?limit=10"
[[ "$(json '["changes"][0]["kind"]')" == "reopen" ]]
call 200 -H "$AUTH" "$API/v1/changes?since=$SINCE&limit=100"
[[ "$(json '["more"]')" == False ]]
call 204 -H "$AUTH" -H 'If-Match: "4"' -X DELETE "$API/v1/tasks/$ID"
call 200 -H "$AUTH" -H "$JSON" -d "{\"ids\": [\"$OTHER_ID\"]}" "$API/v1/tasks/bulk-delete"
[[ "$(json '["deleted"]')" == 1 ]]
call 200 -H "$AUTH" "$API/v1/account"
[[ "$(json '["display_name"]')" == "Ada Lovelace" ]]
call 200 -H "$AUTH" -H "$JSON" -X PATCH -d '{"time_zone": "Europe/London"}' "$API/v1/account"
call 200 "$API/openapi.json"
call 201 -H "$AUTH" -H "$JSON" -d '{"title": "Kept until Better Auth deletes Ada"}' "$API/v1/tasks"
ID="$(json '["id"]')"

step "another user sees none of it"
call 404 -H "Authorization: Bearer $OTHER" "$API/v1/tasks/$ID"
call 200 -H "Authorization: Bearer $OTHER" "$API/v1/tasks"
[[ "$(json '["items"]')" == "[]" ]]
call 401 -H "Authorization: Bearer not-a-token" "$API/v1/tasks"
call 204 -H "Authorization: Bearer $OTHER" -X DELETE "$API/v1/account"

step "deleting the user in Better Auth deletes their account and tasks here"
psql "$AUTH_DB" -qc "DELETE FROM \"user\" WHERE email = 'ada@example.com'"
[[ "$(psql "$AUTH_DB" -Atc "SELECT count(*) FROM tasks")" == 0 ]]
[[ "$(psql "$AUTH_DB" -Atc "SELECT count(*) FROM users WHERE email = 'ada@example.com'")" == 0 ]]

echo; echo "quick start: every step answered as the README says"
