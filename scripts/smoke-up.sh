#!/usr/bin/env bash
# make test: `make up` exactly as a new user runs it (defaults, one replica each) on ports of its
# own: it must exit 0, answer on the five health endpoints, and `make down` must stop everything.
# Every port is below the kernel's ephemeral range (32768+), where the connections the test suite
# just made may still hold a port (seen: the edge's :38000 taken).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export RUN_DIR="$ROOT_DIR/.run/smoke" PORT_OFFSET=4000 REGISTRAR_PG_PORT=15436 REGISTRAR_REDIS_PORT=16383 SKIP_BUILD=1
unset DATABASE_URL REDIS_URL USERS_API_REPLICAS AUTH_API_REPLICAS MAILER_REPLICAS SMTP_MOCK_REPLICAS
cleanup() { "$ROOT_DIR/scripts/stack.sh" down >/dev/null 2>&1 || true; rm -rf "$RUN_DIR"; }
trap cleanup EXIT
rm -rf "$RUN_DIR"
"$ROOT_DIR/scripts/stack.sh" up >"$ROOT_DIR/.run/smoke-up.log" 2>&1 || { tail -20 "$ROOT_DIR/.run/smoke-up.log" >&2; die "make up exited non-zero"; }
for url in 12000/health 12081/health/ready 12082/health/ready 12083/health/ready 12025/health/ready; do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$url")"
    [ "$code" = 200 ] || die "after make up, :$url answered $code"
done
# Abuse protection (issue 11) end to end, against these defaults (BCRYPT_COST 12, one replica).
log "abuse protection: scripts/abuse.py against the make up defaults"
abuse_status=0
ABUSE_EDGE="http://127.0.0.1:$((8000 + PORT_OFFSET))" ABUSE_SMTP="http://127.0.0.1:$((8025 + PORT_OFFSET))" \
    ABUSE_DATABASE_URL="postgresql://app:app@127.0.0.1:$REGISTRAR_PG_PORT/app" ABUSE_RUN_DIR="$RUN_DIR" \
    ABUSE_REDIS_PORT="$REGISTRAR_REDIS_PORT" timeout 180 python3 "$ROOT_DIR/scripts/abuse.py" || abuse_status=$?
# The edge (issue 13) at its defaults: problem+json errors, request ids, per-address limits,
# strict bodies, /docs in headless Chromium, slowloris.
log "the edge: scripts/edge.py against the make up defaults"
edge_status=0
EDGE_URL="http://127.0.0.1:$((8000 + PORT_OFFSET))" EDGE_RUN_DIR="$RUN_DIR" timeout 180 python3 "$ROOT_DIR/scripts/edge.py" || edge_status=$?
pids="$(cat "$RUN_DIR"/pids/*.pid)"
"$ROOT_DIR/scripts/stack.sh" down >/dev/null 2>&1 || die "make down exited non-zero"
for pid in $pids; do kill -0 "$pid" 2>/dev/null && die "make down left pid $pid running"; done
[ "$abuse_status" -eq 0 ] || die "scripts/abuse.py failed (exit $abuse_status; its FAIL lines are above)"
[ "$edge_status" -eq 0 ] || die "scripts/edge.py failed (exit $edge_status; its FAIL lines are above)"
log "make up / make down smoke: exit 0, five health endpoints 200, abuse and edge checks passed, nothing left running"
rm -f "$ROOT_DIR/.run/smoke-up.log"
