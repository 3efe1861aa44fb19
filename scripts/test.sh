#!/usr/bin/env bash
# make test: format lint, then `swift test` against an ephemeral Postgres and Redis of its own
# (own ports and directory, so it runs beside `make up`), torn down even on failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RUN_DIR="${TEST_RUN_DIR:-$ROOT_DIR/.run/test}"
# Below the ephemeral range (32768+): an outgoing connection can hold a port there, and a server
# then cannot listen on it (seen once: "bind: Address already in use").
PG_PORT="${TEST_PG_PORT:-15433}"
REDIS_PORT="${TEST_REDIS_PORT:-16380}"

ensure_packages
# Chromium (Debian package) for scripts/edge.py, which opens /docs in a headless browser.
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        log "installing chromium"
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        log "chromium is missing: the /docs checks will fail (sudo apt-get install -y chromium)"
    fi
fi

rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"

log "lint: swift format"
(cd "$ROOT_DIR" && swift format lint --strict --recursive --parallel Package.swift Sources services Tests bench) || die "formatting: run make format"

log "static checks: edge config, compose, kubernetes"
diff -u "$ROOT_DIR/deploy/compose/nginx.conf" <(env -u EDGE_CONNECTIONS_PER_ADDRESS -u EDGE_RATE -u EDGE_BURST -u EDGE_PASSWORD_RATE \
    -u EDGE_PASSWORD_BURST "$ROOT_DIR/scripts/render-edge-config.sh" compose) \
    || die "deploy/compose/nginx.conf is stale: scripts/render-edge-config.sh compose > deploy/compose/nginx.conf"
mkdir -p "$RUN_DIR/nginx-check/nginx/tmp" "$RUN_DIR/nginx-check/logs" "$RUN_DIR/nginx-check/pids"
"$ROOT_DIR/scripts/render-edge-config.sh" local "$RUN_DIR/nginx-check" 18000 "server 127.0.0.1:1;" "server 127.0.0.1:2;" 18090 \
    | sed 's/^user www-data;//' >"$RUN_DIR/nginx-check/nginx.conf"
"$(nginx_bin)" -t -q -p "$RUN_DIR/nginx-check" -c "$RUN_DIR/nginx-check/nginx.conf" || die "the edge configuration is invalid"
python3 "$ROOT_DIR/scripts/check-compose.py" "$ROOT_DIR/deploy/compose/docker-compose.yml" || die "deploy/compose is inconsistent"
python3 "$ROOT_DIR/scripts/check-kubernetes.py" || die "deploy/kubernetes is inconsistent"

cleanup() {
    # Anything a test spawned and could not stop (the test process died first).
    local f pid
    for f in "$RUN_DIR"/spawned/*; do
        pid="$(basename "$f")"
        if [ -e "$f" ] && grep -qaE "redis-server|/(users-api|auth-api|mailer|smtp-mock)" "/proc/$pid/cmdline" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    stop_pid redis
    pg_stop
    rm -rf "$RUN_DIR"
}
trap cleanup EXIT
# The test Postgres also speaks TLS (plaintext stays allowed), with certificates made here: the
# TLS suites connect with sslmode=verify-full and this CA, and with another CA that must fail.
tls_dir="$(dirname "$(pg_base_dir)")/tls"
make_test_certificates "$tls_dir"
PG_EXTRA_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c ssl=on \
-c ssl_cert_file=$tls_dir/server.crt -c ssl_key_file=$tls_dir/server.key" pg_start "$PG_PORT"
export TEST_POSTGRES_CA="$tls_dir/ca.crt" TEST_POSTGRES_OTHER_CA="$tls_dir/other-ca.crt" TEST_TLS_DIR="$tls_dir"
if [ -n "${TEST_REDIS_TLS:-}" ]; then
    # Every suite against a TLS-only Redis: the test Redis, the stacks of smoke-up.sh and e2e.sh
    # (lib.sh redis_start, stack.sh) and the services the tests spawn verify it with this CA.
    export REDIS_TLS_DIR="$tls_dir" TEST_REDIS_CA="$tls_dir/ca.crt"
    log "TEST_REDIS_TLS: every Redis speaks TLS only"
fi
redis_start "$REDIS_PORT"

export TEST_DATABASE_URL="postgresql://app:app@127.0.0.1:$PG_PORT/app"
export TEST_POSTGRES_ADMIN_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
export TEST_REDIS_URL="redis${TEST_REDIS_TLS:+s}://127.0.0.1:$REDIS_PORT/0"
export REDIS_SERVER_BINARY="$(command -v redis-server)"
export TEST_SPAWN_DIR="$RUN_DIR/spawned"
mkdir -p "$TEST_SPAWN_DIR"

log "swift build"
(cd "$ROOT_DIR" && swift build --build-tests >"$RUN_DIR/build.log" 2>&1) \
    || { grep -E "error:" -A3 "$RUN_DIR/build.log" | head -40 >&2; die "the build failed"; }
tail -1 "$RUN_DIR/build.log"
export BUILT_PRODUCTS_DIR="$(cd "$ROOT_DIR" && swift build --show-bin-path)"

# auth-api and the SMTP mock must not load full Foundation/ICU (~8 MB resident per process):
# a stray `import Foundation`, or a dependency that needs it, shows up as a NEEDED entry.
log "footprint: auth-api and smtp-mock link FoundationEssentials only"
for product in auth-api smtp-mock; do
    if readelf -d "$BUILT_PRODUCTS_DIR/$product" | grep -Eq 'NEEDED.*\[(libFoundation|libFoundationInternationalization|lib_FoundationICU)\.so\]'; then
        die "$product links full Foundation: use FoundationEssentials (see Package.swift)"
    fi
done

args=()
[ -n "${COVERAGE:-}" ] && args+=(--enable-code-coverage)
[ -n "${TEST_FILTER:-}" ] && args+=(--filter "$TEST_FILTER")
log "swift test"
cd "$ROOT_DIR"
set +e
swift test "${args[@]}" 2>&1 | grep --line-buffered -Ev "_FILE_OFFSET_BITS|unhandled; explicitly declare|^\s*$" | tee "$RUN_DIR/swift-test.log"
status=${PIPESTATUS[0]}
set -e
grep -Eq "Test run with [1-9][0-9]* tests" "$RUN_DIR/swift-test.log" || { log "no Swift Testing tests ran"; status=1; }
if [ -z "${TEST_FILTER:-}" ] || [ -n "${TEST_SMTP:-}" ]; then
    # Issue 14: the smtp transport against aiosmtpd relays, smtp-mock's listener from smtplib,
    # swaks and curl, its parser under abuse, and register → activate → login over SMTP.
    log "SMTP against third-party peers (scripts/smtp.py)"
    TEST_TLS_DIR="$tls_dir" SMTP_TEST_RUN_DIR="$RUN_DIR/smtp" python3 "$ROOT_DIR/scripts/smtp.py" || status=1
fi
if [ -z "${TEST_FILTER:-}" ]; then
    "$ROOT_DIR/scripts/smoke-up.sh" || status=1
    log "end to end: the whole system with two replicas of each service (scripts/e2e.sh)"
    "$ROOT_DIR/scripts/e2e.sh" || status=1
    log "Sentinel: kill -9 of the Redis primary under load (scripts/sentinel.sh)"
    "$ROOT_DIR/scripts/sentinel.sh" || status=1
fi
if [ -n "${COVERAGE:-}" ] && [ "$status" -eq 0 ]; then
    llvm-cov report "$(swift build --show-bin-path)/registrarPackageTests.xctest" \
        -instr-profile "$(swift build --show-bin-path)/codecov/default.profdata" -ignore-filename-regex='\.build|Tests' | tail -25
fi
exit "$status"
