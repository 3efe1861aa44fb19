#!/usr/bin/env bash
# The local stack without Docker: Postgres, Redis, the four services (each with N replicas) and an
# nginx edge, detached, on loopback.
# Usage: stack.sh up [SERVICE|INSTANCE] | down [SERVICE|INSTANCE] | ps | logs NAME | migrate | wait-db | clean
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RUN_DIR="${RUN_DIR:-$ROOT_DIR/.run}"
BUILD_CONFIGURATION="${BUILD_CONFIGURATION:-debug}"
PORT_OFFSET="${PORT_OFFSET:-0}"
PG_PORT="${REGISTRAR_PG_PORT:-55432}"
REDIS_PORT="${REGISTRAR_REDIS_PORT:-56379}"
EDGE_PORT="${EDGE_PORT:-$((8000 + PORT_OFFSET))}"
INTERNAL_EDGE_PORT="${INTERNAL_EDGE_PORT:-$((8090 + PORT_OFFSET))}"
SERVICES=(users-api auth-api mailer smtp-mock)

# Replica i of a service listens on its base port + 100·(i−1).
declare -A BASE_PORT=([users-api]=8081 [auth-api]=8082 [mailer]=8083 [smtp-mock]=8025)
declare -A REPLICAS=(
    [users-api]="${USERS_API_REPLICAS:-1}" [auth-api]="${AUTH_API_REPLICAS:-1}"
    [mailer]="${MAILER_REPLICAS:-1}" [smtp-mock]="${SMTP_MOCK_REPLICAS:-1}"
)

export DATABASE_URL="${DATABASE_URL:-postgresql://app:app@127.0.0.1:$PG_PORT/app}"
# Swagger UI's files for users-api's /docs (scripts/fetch-swagger-ui.sh; never committed), shared
# by every stack of this checkout.
export SWAGGER_UI_DIR="${SWAGGER_UI_DIR:-$ROOT_DIR/.run/cache/swagger-ui}"
if [ -n "${REDIS_TLS_DIR:-}" ]; then
    # The Redis speaks TLS only (lib.sh redis_start): the services verify it with the test CA.
    export REDIS_URL="${REDIS_URL:-rediss://127.0.0.1:$REDIS_PORT/0}" REDIS_TLS_CA_FILE="${REDIS_TLS_CA_FILE:-$REDIS_TLS_DIR/ca.crt}"
else
    export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
fi

# SWIFT_BUILD_FLAGS: extra `swift build` flags (make bench builds as the container image does).
read -r -a SWIFT_BUILD_FLAGS <<<"${SWIFT_BUILD_FLAGS:-}"
bin_dir() { (cd "$ROOT_DIR" && swift build -c "$BUILD_CONFIGURATION" "${SWIFT_BUILD_FLAGS[@]}" --show-bin-path); }
port_of() { echo $((${BASE_PORT[$1]} + PORT_OFFSET + 100 * ($2 - 1))); }
instances_of() { local i; for i in $(seq 1 "${REPLICAS[$1]}"); do echo "$1-$i"; done; }
service_of() { echo "${1%-*}"; }
index_of() { echo "${1##*-}"; }

internal_token() {
    if [ -n "${INTERNAL_API_TOKEN:-}" ]; then echo "$INTERNAL_API_TOKEN"; return; fi
    local f="$RUN_DIR/secrets/internal-api-token"
    if [ ! -s "$f" ]; then
        mkdir -p "$RUN_DIR/secrets" && chmod 700 "$RUN_DIR/secrets"
        head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$f"
    fi
    cat "$f"
}

build() {
    log "building ($BUILD_CONFIGURATION)"
    mkdir -p "$RUN_DIR/logs"
    (cd "$ROOT_DIR" && swift build -c "$BUILD_CONFIGURATION" "${SWIFT_BUILD_FLAGS[@]}") >"$RUN_DIR/logs/build.log" 2>&1 \
        || { grep -E "error|warning: unre" "$RUN_DIR/logs/build.log" | head -20 >&2; die "build failed (see $RUN_DIR/logs/build.log)"; }
    tail -1 "$RUN_DIR/logs/build.log" >&2
}

migrate() {
    log "applying migrations"
    "$(bin_dir)/users-api" migrate >>"$RUN_DIR/logs/migrate.log" 2>&1 || { tail -5 "$RUN_DIR/logs/migrate.log" >&2; die "migrations failed"; }
}

# start_instance users-api-2
start_instance() {
    local instance="$1" service index port bin
    service="$(service_of "$instance")"; index="$(index_of "$instance")"; port="$(port_of "$service" "$index")"
    bin="$(bin_dir)/$service"
    [ -x "$bin" ] || die "$bin is missing: run make up (it builds)"
    if pid_alive "$instance"; then
        if [ "$bin" -nt "$RUN_DIR/pids/$instance.pid" ]; then
            log "$instance was rebuilt: restarting"
            stop_pid "$instance"
        else
            log "$instance already running on :$port"
            return 0
        fi
    fi
    mkdir -p "$RUN_DIR/pids" "$RUN_DIR/logs"
    # The SMTP mock's SMTP listener (replica i on 1025 + offset + 100·(i−1)) offers STARTTLS with a
    # certificate made here for 127.0.0.1 (local use only); MAIL_TRANSPORT=smtp sends to replica 1.
    make_test_certificates "$RUN_DIR/tls"
    HTTP_PORT="$port" INTERNAL_API_TOKEN="$(internal_token)" \
        USERS_API_URL="${USERS_API_URL:-http://127.0.0.1:$INTERNAL_EDGE_PORT}" \
        MAILER_ID="${MAILER_ID:-$instance}" SMTP_MOCK_CONSUMER="${SMTP_MOCK_CONSUMER:-$instance}" \
        SMTP_MOCK_SMTP_PORT="${SMTP_MOCK_SMTP_PORT:-$((1025 + PORT_OFFSET + 100 * (index - 1)))}" \
        SMTP_MOCK_TLS_CERT_FILE="${SMTP_MOCK_TLS_CERT_FILE:-$RUN_DIR/tls/server.crt}" \
        SMTP_MOCK_TLS_KEY_FILE="${SMTP_MOCK_TLS_KEY_FILE:-$RUN_DIR/tls/server.key}" \
        SMTP_URL="${SMTP_URL:-smtp://127.0.0.1:$((1025 + PORT_OFFSET))}" SMTP_TLS_CA_FILE="${SMTP_TLS_CA_FILE:-$RUN_DIR/tls/ca.crt}" \
        nohup "$bin" >>"$RUN_DIR/logs/$instance.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/pids/$instance.pid"
    wait_http "http://127.0.0.1:$port/health/ready" 60 || { tail -5 "$RUN_DIR/logs/$instance.log" >&2; die "$instance is not ready on :$port"; }
    log "$instance ready on 127.0.0.1:$port"
}

upstream_servers() { # upstream_servers users-api → "server 127.0.0.1:8081; server 127.0.0.1:8181;"
    local i out=""
    for i in $(seq 1 "${REPLICAS[$1]}"); do out+="server 127.0.0.1:$(port_of "$1" "$i") max_fails=1 fail_timeout=2s; "; done
    echo "$out"
}

write_edge_config() {
    mkdir -p "$RUN_DIR/nginx/tmp" "$RUN_DIR/logs" "$RUN_DIR/pids"
    if [ "$(id -u)" -eq 0 ]; then chown -R www-data: "$RUN_DIR/nginx/tmp"; fi
    "$ROOT_DIR/scripts/render-edge-config.sh" local "$RUN_DIR" "$EDGE_PORT" \
        "$(upstream_servers users-api)" "$(upstream_servers auth-api)" "$INTERNAL_EDGE_PORT" >"$RUN_DIR/nginx/nginx.conf"
}

start_edge() {
    write_edge_config
    if pid_alive edge; then
        "$(nginx_bin)" -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx/nginx.conf" -s reload
        log "edge reloaded"
    else
        "$(nginx_bin)" -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx/nginx.conf"
        log "edge on 127.0.0.1:$EDGE_PORT (internal API for services on 127.0.0.1:$INTERNAL_EDGE_PORT)"
    fi
    wait_http "http://127.0.0.1:$EDGE_PORT/health" 10 || die "edge is not answering on :$EDGE_PORT"
}

stop_edge() {
    local pid
    pid_alive edge || { rm -f "$RUN_DIR/pids/edge.pid"; return 0; }
    pid="$(cat "$RUN_DIR/pids/edge.pid")"
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$RUN_DIR/pids/edge.pid"
    log "edge stopped"
}

# resolve NAME: the instances NAME designates (a service → all its replicas; an instance → itself).
resolve() {
    local s
    for s in "${SERVICES[@]}"; do
        if [ "$1" = "$s" ]; then instances_of "$s"; return 0; fi
        if [[ "$1" =~ ^$s-[0-9]+$ ]]; then echo "$1"; return 0; fi
    done
    die "unknown service '$1' (one of ${SERVICES[*]}, or an instance such as mailer-2)"
}

all_instances() { local s; for s in "${SERVICES[@]}"; do instances_of "$s"; done; }

cmd_up() {
    local only="${1:-}" instance
    mkdir -p "$RUN_DIR/logs"
    if [ "$only" = edge ]; then start_edge; return; fi  # re-render (EDGE_* limits) and reload
    if [ -n "$only" ]; then
        for instance in $(resolve "$only"); do start_instance "$instance"; done
        return
    fi
    ensure_packages
    "$ROOT_DIR/scripts/fetch-swagger-ui.sh" "$SWAGGER_UI_DIR" \
        || log "warning: Swagger UI could not be fetched (offline?): /docs says how to get it"
    if [ -z "${SKIP_BUILD:-}" ]; then build; fi
    pg_start "$PG_PORT"
    redis_start "$REDIS_PORT"
    migrate
    start_edge # first: auth-api reaches users-api through its internal listener
    for instance in $(all_instances); do start_instance "$instance"; done
    local s summary="" more
    for s in "${SERVICES[@]}"; do
        more=""
        if [ "${REPLICAS[$s]}" -gt 1 ]; then more=" (+100 per replica)"; fi
        summary+="  $(printf '%-12s' "$s") ${REPLICAS[$s]} × http://127.0.0.1:$(port_of "$s" 1)$more"$'\n'
    done
    cat >&2 <<TXT

Registrar is up:
  API (edge)   http://localhost:$EDGE_PORT          Swagger: http://localhost:$EDGE_PORT/docs
$summary  Postgres     $DATABASE_URL
  Redis        $REDIS_URL
Demo: scripts/demo.sh   Logs: make logs s=users-api   Stop: make down
TXT
}

cmd_down() {
    local only="${1:-}" instance f
    if [ -n "$only" ]; then
        if [ "$only" = edge ]; then stop_edge; return; fi
        for instance in $(resolve "$only"); do stop_pid "$instance"; done
        return
    fi
    stop_edge
    # Every instance with a pid file, whatever the replica counts are now.
    for f in "$RUN_DIR"/pids/*.pid; do
        [ -e "$f" ] || continue
        instance="$(basename "$f" .pid)"
        [ "$instance" = redis ] || stop_pid "$instance"
    done
    stop_pid redis
    pg_stop
}

cmd_ps() {
    local name state f
    for f in "$RUN_DIR"/pids/*.pid; do
        [ -e "$f" ] || continue
        name="$(basename "$f" .pid)"
        if pid_alive "$name"; then state="running (pid $(cat "$f"))"; else state="stopped"; fi
        printf '%-12s %s\n' "$name" "$state"
    done
    if as_pg "$PG_BIN/pg_ctl" -D "$(pg_base_dir)/data" status >/dev/null 2>&1; then state="running"; else state="stopped"; fi
    printf '%-12s %s\n' postgres "$state"
}

cmd_logs() {
    local name="${1:-}"
    case "$name" in
        "") die "usage: make logs s=NAME (${SERVICES[*]}, an instance such as mailer-2, edge, redis, db)" ;;
        db | postgres) exec tail -n 100 -F "$(pg_base_dir)/postgres.log" ;;
        edge | nginx) exec tail -n 100 -F "$RUN_DIR/logs/edge-access.log" "$RUN_DIR/logs/edge-error.log" ;;
        redis) exec tail -n 100 -F "$RUN_DIR/logs/redis.log" ;;
        *) local files=(); for i in $(resolve "$name"); do files+=("$RUN_DIR/logs/$i.log"); done; exec tail -n 100 -F "${files[@]}" ;;
    esac
}

cmd_wait_db() {
    for _ in $(seq 1 100); do
        pg_isready -h 127.0.0.1 -p "$PG_PORT" -q && { log "Postgres is ready"; return 0; }
        sleep 0.2
    done
    die "Postgres is not ready on :$PG_PORT (make up starts it)"
}

case "${1:-}" in
    up) cmd_up "${2:-}" ;;
    down) cmd_down "${2:-}" ;;
    ps) cmd_ps ;;
    logs) cmd_logs "${2:-}" ;;
    migrate) mkdir -p "$RUN_DIR/logs"; cmd_wait_db; migrate; log "migrations applied" ;;
    wait-db) cmd_wait_db ;;
    clean) cmd_down; rm -rf "$RUN_DIR" "$(dirname "$(pg_base_dir)")"; log "removed $RUN_DIR" ;;
    *) die "usage: stack.sh up|down [SERVICE|INSTANCE] | ps | logs NAME | migrate | wait-db | clean" ;;
esac
