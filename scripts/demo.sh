#!/usr/bin/env bash
# The seed README's cURL demo, against a running stack (make up):
# register → read the code from the SMTP mock inbox → activate → login → /me → logout.
# Usage: scripts/demo.sh [EDGE_URL] [SMTP_MOCK_URL]; exits non-zero if any step misbehaves.
set -euo pipefail
API="${1:-http://localhost:8000}"
SMTP="${2:-http://127.0.0.1:8025}"
EMAIL="me+$RANDOM$RANDOM@example.com"
PASS="s3cret-passw0rd"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
expect() { # expect STATUS ACTUAL WHAT
    [ "$1" = "$2" ] || { echo "FAILED: $3 answered $2, expected $1" >&2; exit 1; }
}

step "register $EMAIL"
status=$(curl -s -o /tmp/registrar-demo.$$ -w '%{http_code}' -X POST "$API/v1/users/" \
    -H 'Content-Type: application/json' -d "{\"email\":\"$EMAIL\",\"password\":\"$PASS\"}")
cat /tmp/registrar-demo.$$; echo
expect 202 "$status" "register"

step "read the code from the SMTP mock inbox"
CODE=""
for _ in $(seq 1 50); do
    CODE=$(curl -s "$SMTP/messages?to=$EMAIL" | grep -Eo 'Your code is [0-9]{4}' | head -1 | grep -Eo '[0-9]{4}' || true)
    [ -n "$CODE" ] && break
    sleep 0.1
done
[ -n "$CODE" ] || { echo "FAILED: no code arrived in the inbox" >&2; exit 1; }
echo "code: $CODE"

step "activate (Basic auth)"
status=$(curl -s -o /tmp/registrar-demo.$$ -w '%{http_code}' -u "$EMAIL:$PASS" \
    -H 'Content-Type: application/json' -d "{\"code\":\"$CODE\"}" "$API/v1/users/activate")
cat /tmp/registrar-demo.$$; echo
expect 200 "$status" "activate"

step "login (Basic auth) → token"
status=$(curl -s -o /tmp/registrar-demo.$$ -w '%{http_code}' -u "$EMAIL:$PASS" -X POST "$API/v1/users/login")
expect 200 "$status" "login"
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' /tmp/registrar-demo.$$)
echo "token: ${TOKEN:0:6}… (expires_in $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["expires_in"])' /tmp/registrar-demo.$$) s)"

step "/me (Bearer)"
status=$(curl -s -o /tmp/registrar-demo.$$ -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API/v1/users/me")
cat /tmp/registrar-demo.$$; echo
expect 200 "$status" "/me"

step "logout, then /me is 401"
expect 204 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "$API/v1/users/logout")" "logout"
expect 401 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API/v1/users/me")" "/me after logout"
rm -f /tmp/registrar-demo.$$
printf '\n\033[1mdemo passed\033[0m\n'
