#!/usr/bin/env bash
# make bench: release build, its own stack (ports +20000, .run/bench), bench/bench.py, stop.
# Bounded: about 15 s per load scenario plus the mail pipeline; everything stops by itself.
# Abuse limits (issue 11) are raised for the stack: wrk is one client (one address) that registers
# and logs in at full speed. bench.py restarts users-api-1 with the default registration limit for
# its last two scenarios (login while registrations flood), through scripts/stack.sh and these exports.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
# The binaries the container image ships (deploy/compose/Dockerfile): release, Swift runtime and
# Foundation linked statically; own build folder, so the dynamic `make up` build is left alone.
export RUN_DIR="$ROOT_DIR/.run/bench" BUILD_CONFIGURATION=release
export SWIFT_BUILD_FLAGS="--static-swift-stdlib --scratch-path $ROOT_DIR/.build-static"
export PORT_OFFSET=20000 REGISTRAR_PG_PORT=55435 REGISTRAR_REDIS_PORT=56382
# SESSION_MAX_PER_USER: the bench logs one account in hundreds of times; the cap would end the
# sessions the /me scenarios use.
export LOG_LEVEL=warning RESEND_THROTTLE_SECONDS=0 LOGIN_MAX_FAILURES=100000 SESSION_MAX_PER_USER=10000 REDIS_POOL_SIZE="${REDIS_POOL_SIZE:-4}"
export REGISTRATION_MAX_PER_ADDRESS=100000 MAIL_MAX_PER_RECIPIENT_PER_DAY=100000 MAIL_MAX_PER_MINUTE=1000000 \
    CLIENT_MAX_FAILURES=100000 ACCOUNT_MAX_FAILURES=100000
# The edge's per-address limits too (wrk is one address with 64 connections at thousands of req/s).
export EDGE_CONNECTIONS_PER_ADDRESS=60000 EDGE_RATE=1000000r/s EDGE_BURST=1000000 EDGE_PASSWORD_RATE=1000000r/s \
    EDGE_PASSWORD_BURST=1000000
unset DATABASE_URL REDIS_URL
command -v wrk >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cleanup() { "$ROOT_DIR/scripts/stack.sh" down >/dev/null 2>&1 || true; rm -rf "$RUN_DIR"; }
trap cleanup EXIT
rm -rf "$RUN_DIR"
(cd "$ROOT_DIR" && swift build -c release $SWIFT_BUILD_FLAGS --product bcrypt-ceiling >/dev/null)
PG_EXTRA_OPTS="-c max_connections=300" "$ROOT_DIR/scripts/stack.sh" up 2>&1 | grep -E "ready|edge on|error|Build" || true
for instance in users-api-1 auth-api-1 mailer-1 smtp-mock-1; do
    [ -f "$RUN_DIR/pids/$instance.pid" ] && kill -0 "$(cat "$RUN_DIR/pids/$instance.pid")" 2>/dev/null \
        || { tail -3 "$RUN_DIR/logs/$instance.log" >&2; die "the bench stack did not start ($instance)"; }
done
BENCH_EDGE="http://127.0.0.1:$((8000 + PORT_OFFSET))" BENCH_SMTP="http://127.0.0.1:$((8025 + PORT_OFFSET))" \
    BENCH_USERS_API="http://127.0.0.1:$((8081 + PORT_OFFSET))" BENCH_MAILER="http://127.0.0.1:$((8083 + PORT_OFFSET))" \
    BENCH_DATABASE_URL="postgresql://app:app@127.0.0.1:$REGISTRAR_PG_PORT/app" BENCH_REDIS_PORT="$REGISTRAR_REDIS_PORT" \
    BENCH_RUN_DIR="$RUN_DIR" BENCH_BIN_DIR="$(cd "$ROOT_DIR" && swift build -c release $SWIFT_BUILD_FLAGS --show-bin-path)" \
    timeout 720 python3 "$ROOT_DIR/bench/bench.py"
