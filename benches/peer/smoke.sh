#!/usr/bin/env bash
# Smoke test of the benchmark peer: starts server.mjs on a spare port, walks the interface with curl
# (discovery, JWKS, client_credentials JWTs, code flows with and without remembered consent, refresh
# rotation and replay, userinfo, /bench/login), prints each redirect hop, and stops the server.
# Needs curl, openssl and python3. Usage: bash smoke.sh   (run `npm ci` first)
set -uo pipefail
cd "$(dirname "$0")"
PORT=${SMOKE_PORT:-5187}
B=http://127.0.0.1:$PORT
TMP=$(mktemp -d)
PASS=0 FAIL=0
ok() { if [[ $1 == "$2" ]]; then PASS=$((PASS + 1)); echo "ok   $3"; else FAIL=$((FAIL + 1)); echo "FAIL $3 (got '$1', want '$2')"; fi; }
j() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }
jwt_alg() { python3 -c 'import json,sys,base64; p=sys.argv[1].split("."); h=p[0]+"="*(-len(p[0])%4); print(len(p), json.loads(base64.urlsafe_b64decode(h))["alg"])' "$1"; }
start() {
  PEER_PORT=$PORT PEER_ACCESS_TOKEN_ALG=$1 node server.mjs >"$TMP/out" 2>"$TMP/err" &
  PID=$!
  for _ in $(seq 50); do grep -q 'peer ready on' "$TMP/out" && return; sleep 0.1; done
  echo "server did not start"; cat "$TMP/err"; kill "$PID"; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null; }
cc() { curl -s -u bench-confidential:bench-secret-0123456789abcdef0123456789 -d grant_type=client_credentials -d scope=api:read "$B/token"; }

# hop METHOD URL [curl args]: one request with the jar, no redirects followed; sets CODE and LOC
hop() {
  local m=$1 u=$2; shift 2
  read -r CODE LOC < <(curl -s -o "$TMP/body" -c "$JAR" -b "$JAR" -X "$m" "$@" -w '%{http_code} %{redirect_url}\n' "$u")
  echo "     $m ${u#"$B"} -> $CODE ${LOC#"$B"}" | sed -E 's/(code_challenge|code)=[^&]+/\1=…/g'
}
# flow CLIENT JAR: a full code flow; prints the hops, sets CONSENTS and TOKENS (the /token response)
flow() {
  local client=$1 verifier challenge uid code
  JAR=$2 CONSENTS=0
  verifier=$(openssl rand -base64 48 | tr '+/' '-_' | tr -d '=\n')
  challenge=$(printf %s "$verifier" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n')
  hop GET "$B/auth?client_id=$client&response_type=code&scope=openid%20profile%20email%20offline_access&redirect_uri=http://127.0.0.1:5999/cb&code_challenge=$challenge&code_challenge_method=S256&state=s1&nonce=n1"
  for _ in $(seq 8); do
    case $LOC in
      http://127.0.0.1:5999/cb*) break ;;
      "$B"/interaction/*)
        uid=${LOC#"$B"/interaction/}
        hop GET "$LOC"
        if grep -q '/login"' "$TMP/body"; then
          hop POST "$B/interaction/$uid/login" --data-urlencode username=bench-user --data-urlencode 'password=correct horse battery staple bench'
        else
          CONSENTS=$((CONSENTS + 1))
          hop POST "$B/interaction/$uid/confirm" -d decision=allow
        fi ;;
      "$B"/auth/*) hop GET "$LOC" ;;
      *) break ;;
    esac
  done
  code=$(python3 -c 'import sys,urllib.parse as u; print(u.parse_qs(u.urlparse(sys.argv[1]).query).get("code", [""])[0])' "$LOC")
  local auth=(-d client_id="$client")
  [[ $client == bench-confidential ]] && auth=(-u bench-confidential:bench-secret-0123456789abcdef0123456789)
  TOKENS=$(curl -s "${auth[@]}" -d grant_type=authorization_code -d code="$code" -d redirect_uri=http://127.0.0.1:5999/cb -d code_verifier="$verifier" "$B/token")
}
refresh() { curl -s -d grant_type=refresh_token -d refresh_token="$1" -d client_id=bench-public "$B/token"; }
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

for alg in RS256 EdDSA; do
  start "$alg"; ok "$(jwt_alg "$(j "$(cc)" access_token)")" "3 $alg" "client_credentials JWT alg with PEER_ACCESS_TOKEN_ALG=$alg"; stop
done

start ES256
DISCO=$(curl -s "$B/.well-known/openid-configuration")
ok "$(j "$DISCO" token_endpoint)" "$B/token" "discovery lists /token"
ok "$(j "$DISCO" introspection_endpoint) $(j "$DISCO" revocation_endpoint)" "$B/token/introspection $B/token/revocation" "discovery lists introspection and revocation"
ok "$(curl -s "$B/jwks" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["keys"]))')" 3 "JWKS has 3 keys"
ok "$(jwt_alg "$(j "$(cc)" access_token)")" "3 ES256" "client_credentials JWT alg (default ES256)"

echo "---- first code flow (bench-public, new cookie jar)"
flow bench-public "$TMP/jar1"
ok "$CONSENTS" 1 "first flow shows the consent page once"
RT0=$(j "$TOKENS" refresh_token)
ok "$([[ -n $(j "$TOKENS" access_token) && -n $RT0 && -n $(j "$TOKENS" id_token) ]] && echo yes)" yes "code exchange returns access, refresh and ID tokens"
R1=$(refresh "$RT0"); RT1=$(j "$R1" refresh_token)
R2=$(refresh "$RT1"); RT2=$(j "$R2" refresh_token)
ok "$([[ -n $RT1 && -n $RT2 && $RT0 != "$RT1" && $RT1 != "$RT2" ]] && echo yes)" yes "refresh rotates the refresh token on every use"
ok "$(status -H "authorization: Bearer $(j "$R2" access_token)" "$B/me")" 200 "userinfo with the refreshed access token"

echo "---- second code flow (same user, new cookie jar)"
flow bench-public "$TMP/jar2"
ok "$CONSENTS" 0 "remembered consent: no consent page"
AT=$(j "$TOKENS" access_token)
ok "$(curl -s -H "authorization: Bearer $AT" "$B/me" | python3 -c 'import json,sys; print(bool(json.load(sys.stdin).get("sub")))')" True "userinfo returns sub"

ok "$(status -d grant_type=refresh_token -d refresh_token="$RT0" -d client_id=bench-public "$B/token")" 400 "replayed refresh token is rejected"
ok "$(status -d grant_type=refresh_token -d refresh_token="$RT2" -d client_id=bench-public "$B/token")" 400 "replay revokes that token family"
ok "$(status -H "authorization: Bearer $AT" "$B/me")" 200 "other sessions' tokens survive the replay"

echo "---- confidential code flow (basic auth at /token)"
flow bench-confidential "$TMP/jar3"
ok "$CONSENTS" 1 "confidential client asks consent once"
ok "$([[ -n $(j "$TOKENS" refresh_token) ]] && echo yes)" yes "confidential client gets tokens"

echo "---- POST /bench/login"
for body in '{"username":"bench-user","password":"correct horse battery staple bench"}=200' \
  '{"username":"bench-user","password":"wrong"}=401' '{"username":"nobody","password":"x"}=401'; do
  for _ in 1 2 3; do
    read -r code t < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H 'content-type: application/json' -d "${body%=*}" "$B/bench/login")
    ok "$code" "${body##*=}" "bench/login ${body%=*} (${t}s)"
  done
done
stop
rm -rf "$TMP"
echo "$PASS passed, $FAIL failed"
[[ $FAIL == 0 ]]
