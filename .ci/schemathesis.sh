#!/usr/bin/env bash
# Fuzzes the JSON API from its own OpenAPI document with schemathesis, against a real server
# (the debug binary the test step built), authenticated as an administrator.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import schemathesis' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore schemathesis
bin=target/debug/portcullis
[ -x "$bin" ] || cargo build --locked --quiet
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export PORTCULLIS_DATA_DIR="$data" PORTCULLIS_BIND="127.0.0.1:$port" PORTCULLIS_ISSUER="$base" PORTCULLIS_LOG=warn
printf '%s\n' 'schemathesis admin passphrase' | "$bin" user add --username fuzzadmin --email fuzz@example.com --admin --verified >/dev/null
"$bin" > "$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -sf "$base/health/ready" >/dev/null && break; sleep 0.1; done
token=$(curl -sf -H 'Content-Type: application/json' \
  -d '{"username":"fuzzadmin","password":"schemathesis admin passphrase"}' "$base/login" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# Sign-out revokes the grant behind the bearer token, so it runs last, alone: otherwise every
# operation fuzzed after it sees only 401 and the admin API goes untested.
fuzz() {
  timeout 600 schemathesis run "$base/openapi.json" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-30}" \
    -H "Authorization: Bearer $token" "$@"
}
fuzz --exclude-path-regex 'logout$'
fuzz --include-path-regex 'logout$'
