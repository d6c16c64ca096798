#!/usr/bin/env bash
# Property-based fuzz of the web service's API from its own OpenAPI document
# (schemathesis, from PyPI), with a valid token: every generated request,
# valid or not, must get a documented status, no 5xx, a body and headers that
# match the document, and a refusal when the request violates the document.
#
# Runs against the local PostgreSQL (trust auth), in a scratch database with
# an application role of its own, both dropped at the end. The service
# verifies tokens with a throwaway HS256 secret (its development mode): the
# token path is tested with real keys in crates/todo-store-web/tests/.
#
#   scripts/api-fuzz.sh            # FUZZ_EXAMPLES=100 FUZZ_SEED=1 by default
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
examples="${FUZZ_EXAMPLES:-100}"
seed="${FUZZ_SEED:-1}"

if ! schemathesis --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    pip install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}"
fi
source scripts/scratch.sh
cargo build --quiet --locked -p todo-store-web -p todo-store-cli
bin="$(binaries debug)"
scratch fuzz
migrated "$bin"

port="$(free_port)"
secret="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
issuer="http://auth.fuzz.invalid"
JWT_HS256_SECRET="$secret" RUST_LOG=warn "$bin/todo-store-web" \
    --database-url "postgres://${role}@localhost/${db}" \
    --issuer "$issuer" --audience "$issuer" --listen "127.0.0.1:${port}" \
    >"$work/service.log" 2>&1 &
started $!
wait_for "http://127.0.0.1:${port}/readyz"

# A token as Better Auth's JWT plugin shapes it, signed with the secret.
token="$(SECRET="$secret" ISSUER="$issuer" python3 - <<'PY'
import base64, hashlib, hmac, json, os, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
claims = {"sub": "fuzz-user", "email": "fuzz@example.com", "emailVerified": True,
          "name": "Fuzz", "iat": now, "exp": now + 3600,
          "iss": os.environ["ISSUER"], "aud": os.environ["ISSUER"]}
signing = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
mac = hmac.new(os.environ["SECRET"].encode(), signing.encode(), hashlib.sha256).digest()
print(signing + "." + b64(mac))
PY
)"

status=0
schemathesis run "http://127.0.0.1:${port}/openapi.json" \
    --header "Authorization: Bearer ${token}" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection \
    --max-examples "$examples" --seed "$seed" --no-color || status=$?
if [[ "$status" != 0 ]]; then
    echo "--- service log ---"
    cat "$work/service.log"
fi
exit "$status"
