#!/usr/bin/env bash
# The seed README's cURL demo, against a running stack (make up), then the account lifecycle:
# register → read the code from the SMTP mock inbox → activate → login → /me → sessions →
# change the password → forgotten password and reset → change the email → logout → delete.
# Usage: scripts/demo.sh [EDGE_URL] [SMTP_MOCK_URL]; exits non-zero if any step misbehaves.
set -euo pipefail
API="${1:-http://localhost:8000}"
SMTP="${2:-http://127.0.0.1:8025}"
EMAIL="me+$RANDOM$RANDOM@example.com"
PASS="s3cret-passw0rd"
OUT=/tmp/registrar-demo.$$
trap 'rm -f "$OUT"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
expect() { # expect STATUS ACTUAL WHAT
    [ "$1" = "$2" ] || { echo "FAILED: $3 answered $2, expected $1" >&2; cat "$OUT" >&2 2>/dev/null || true; exit 1; }
}
# call METHOD PATH [JSON] [curl options…]: prints the body, echoes the status to fd 3.
call() {
    local method="$1" path="$2" body="${3:-}"
    shift 3 || shift $#
    if [ -n "$body" ]; then
        curl -s -o "$OUT" -w '%{http_code}' -X "$method" "$API$path" -H 'Content-Type: application/json' -d "$body" "$@"
    else
        curl -s -o "$OUT" -w '%{http_code}' -X "$method" "$API$path" "$@"
    fi
}
show() { cat "$OUT"; echo; }
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$OUT" "$1"; }
# inbox_code ADDRESS PATTERN [DIGITS]: the code in the newest mail to ADDRESS matching PATTERN.
inbox_code() {
    local code="" digits="${3:-4}"
    for _ in $(seq 1 100); do
        code=$(curl -s "$SMTP/messages?to=$1" | grep -Eo "$2 [0-9]{$digits}" | head -1 | grep -Eo "[0-9]{$digits}" || true)
        [ -n "$code" ] && break
        sleep 0.1
    done
    [ -n "$code" ] || { echo "FAILED: no '$2' mail arrived for $1" >&2; exit 1; }
    echo "$code"
}

step "register $EMAIL"
status=$(call POST /v1/users/ "{\"email\":\"$EMAIL\",\"password\":\"$PASS\"}"); show
expect 202 "$status" "register"

step "read the code from the SMTP mock inbox"
CODE=$(inbox_code "$EMAIL" 'Your code is')
echo "code: $CODE"

step "activate (Basic auth)"
status=$(call POST /v1/users/activate "{\"code\":\"$CODE\"}" -u "$EMAIL:$PASS"); show
expect 200 "$status" "activate"

step "login (Basic auth) → token"
status=$(call POST /v1/users/login "" -u "$EMAIL:$PASS")
expect 200 "$status" "login"
TOKEN=$(json token)
echo "token: ${TOKEN:0:6}… (expires_in $(json expires_in) s)"

step "/me (Bearer)"
status=$(call GET /v1/users/me "" -H "Authorization: Bearer $TOKEN"); show
expect 200 "$status" "/me"

step "sessions: list them (no tokens, the current one marked)"
status=$(call GET /v1/users/me/sessions "" -H "Authorization: Bearer $TOKEN"); show
expect 200 "$status" "GET /v1/users/me/sessions"

step "change the password (every other session ends)"
NEWPASS="n3w-passw0rd-$RANDOM"
status=$(call POST /v1/users/me/password "{\"current_password\":\"$PASS\",\"new_password\":\"$NEWPASS\"}" -H "Authorization: Bearer $TOKEN")
expect 204 "$status" "POST /v1/users/me/password"
expect 200 "$(call GET /v1/users/me "" -H "Authorization: Bearer $TOKEN")" "/me with the session that changed it"

step "forgotten password: a reset code by mail (202 for any address), then a new password"
status=$(call POST /v1/users/password/forgot "{\"email\":\"$EMAIL\"}"); show
expect 202 "$status" "POST /v1/users/password/forgot"
RESET=$(inbox_code "$EMAIL" 'Your password reset code is' 8)  # RESET_CODE_LENGTH
echo "reset code: $RESET"
PASS="r3set-passw0rd-$RANDOM"
status=$(call POST /v1/users/password/reset "{\"email\":\"$EMAIL\",\"code\":\"$RESET\",\"password\":\"$PASS\"}"); show
expect 200 "$status" "POST /v1/users/password/reset"
expect 401 "$(call GET /v1/users/me "" -H "Authorization: Bearer $TOKEN")" "/me after the reset (every session ended)"
status=$(call POST /v1/users/login "" -u "$EMAIL:$PASS")
expect 200 "$status" "login with the reset password"
TOKEN=$(json token)

step "change the email: a code to the new address, then confirm it"
NEWEMAIL="moved+$RANDOM$RANDOM@example.com"
status=$(call POST /v1/users/me/email "{\"password\":\"$PASS\",\"new_email\":\"$NEWEMAIL\"}" -H "Authorization: Bearer $TOKEN"); show
expect 202 "$status" "POST /v1/users/me/email"
CONFIRM=$(inbox_code "$NEWEMAIL" 'Your confirmation code is')
echo "confirmation code: $CONFIRM"
status=$(call POST /v1/users/me/email/confirm "{\"code\":\"$CONFIRM\"}" -H "Authorization: Bearer $TOKEN"); show
expect 200 "$status" "POST /v1/users/me/email/confirm"
EMAIL="$NEWEMAIL"

step "logout, then /me is 401"
expect 204 "$(call POST /v1/users/logout "" -H "Authorization: Bearer $TOKEN")" "logout"
expect 401 "$(call GET /v1/users/me "" -H "Authorization: Bearer $TOKEN")" "/me after logout"

step "delete the account (password required): its sessions and codes go, the address is free"
status=$(call POST /v1/users/login "" -u "$EMAIL:$PASS")
expect 200 "$status" "login with the new address"
TOKEN=$(json token)
expect 204 "$(call DELETE /v1/users/me "{\"password\":\"$PASS\"}" -H "Authorization: Bearer $TOKEN")" "DELETE /v1/users/me"
expect 401 "$(call GET /v1/users/me "" -H "Authorization: Bearer $TOKEN")" "/me after deletion"
expect 401 "$(call POST /v1/users/login "" -u "$EMAIL:$PASS")" "login after deletion"
printf '\n\033[1mdemo passed\033[0m\n'
