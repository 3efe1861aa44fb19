#!/usr/bin/env bash
# The local stack without Docker: Postgres, Redis, the four services and an nginx edge, detached,
# on loopback. Usage: stack.sh up [SERVICE] | down [SERVICE] | ps | logs SERVICE | migrate | wait-db | clean
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RUN_DIR="${RUN_DIR:-$ROOT_DIR/.run}"
BUILD_CONFIGURATION="${BUILD_CONFIGURATION:-debug}"
PG_PORT="${REGISTRAR_PG_PORT:-55432}"
REDIS_PORT="${REGISTRAR_REDIS_PORT:-56379}"
EDGE_PORT="${EDGE_PORT:-8000}"
SERVICES=(users-api auth-api mailer smtp-mock)

declare -A DEFAULT_PORT=([users-api]=8081 [auth-api]=8082 [mailer]=8083 [smtp-mock]=8025)

export DATABASE_URL="${DATABASE_URL:-postgresql://app:app@127.0.0.1:$PG_PORT/app}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"

bin_dir() { (cd "$ROOT_DIR" && swift build -c "$BUILD_CONFIGURATION" --show-bin-path); }

internal_token() {
    if [ -n "${INTERNAL_API_TOKEN:-}" ]; then echo "$INTERNAL_API_TOKEN"; return; fi
    local f="$RUN_DIR/secrets/internal-api-token"
    if [ ! -s "$f" ]; then
        mkdir -p "$RUN_DIR/secrets" && chmod 700 "$RUN_DIR/secrets"
        head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "$f"
    fi
    cat "$f"
}

build() {
    log "building ($BUILD_CONFIGURATION)"
    (cd "$ROOT_DIR" && swift build -c "$BUILD_CONFIGURATION" 2>&1 | grep -Ev "_FILE_OFFSET_BITS|unhandled; explicitly declare" | tail -3)
    [ "${PIPESTATUS[0]:-0}" -eq 0 ] || die "build failed"
}

migrate() {
    log "applying migrations"
    "$(bin_dir)/users-api" migrate >>"$RUN_DIR/logs/migrate.log" 2>&1 || { tail -5 "$RUN_DIR/logs/migrate.log" >&2; die "migrations failed"; }
}

start_service() {
    local name="$1" port="${DEFAULT_PORT[$1]}" bin
    bin="$(bin_dir)/$name"
    [ -x "$bin" ] || die "$bin is missing: run make up (it builds)"
    if pid_alive "$name"; then
        if [ "$bin" -nt "$RUN_DIR/pids/$name.pid" ]; then
            log "$name was rebuilt: restarting"
            stop_pid "$name"
        else
            log "$name already running"
            return 0
        fi
    fi
    mkdir -p "$RUN_DIR/pids" "$RUN_DIR/logs"
    HTTP_PORT="$port" INTERNAL_API_TOKEN="$(internal_token)" USERS_API_URL="${USERS_API_URL:-http://127.0.0.1:${DEFAULT_PORT[users-api]}}" \
        nohup "$bin" >>"$RUN_DIR/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/pids/$name.pid"
    wait_http "http://127.0.0.1:$port/health/ready" 60 || { tail -5 "$RUN_DIR/logs/$name.log" >&2; die "$name is not ready on :$port"; }
    log "$name ready on 127.0.0.1:$port"
}

write_edge_config() {
    mkdir -p "$RUN_DIR/nginx/tmp" "$RUN_DIR/logs" "$RUN_DIR/pids"
    [ "$(id -u)" -eq 0 ] && chown -R www-data: "$RUN_DIR/nginx/tmp"
    "$ROOT_DIR/scripts/render-edge-config.sh" local "$RUN_DIR" "$EDGE_PORT" \
        "server 127.0.0.1:${DEFAULT_PORT[users-api]};" "server 127.0.0.1:${DEFAULT_PORT[auth-api]};" >"$RUN_DIR/nginx/nginx.conf"
}

start_edge() {
    write_edge_config
    if pid_alive edge; then
        "$(nginx_bin)" -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx/nginx.conf" -s reload
        log "edge reloaded"
    else
        "$(nginx_bin)" -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx/nginx.conf"
        log "edge on 127.0.0.1:$EDGE_PORT"
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

is_service() { local s; for s in "${SERVICES[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

cmd_up() {
    local only="${1:-}"
    mkdir -p "$RUN_DIR/logs"
    if [ -n "$only" ]; then
        is_service "$only" || die "unknown service '$only' (one of ${SERVICES[*]})"
        start_service "$only"
        return
    fi
    ensure_packages
    build
    pg_start "$PG_PORT"
    redis_start "$REDIS_PORT"
    migrate
    for s in "${SERVICES[@]}"; do start_service "$s"; done
    start_edge
    cat >&2 <<TXT

Registrar is up:
  API (edge)   http://localhost:$EDGE_PORT          Swagger: http://localhost:$EDGE_PORT/docs
  users-api    http://127.0.0.1:${DEFAULT_PORT[users-api]}
  auth-api     http://127.0.0.1:${DEFAULT_PORT[auth-api]}
  mailer       http://127.0.0.1:${DEFAULT_PORT[mailer]}/metrics
  smtp-mock    http://127.0.0.1:${DEFAULT_PORT[smtp-mock]}
  Postgres     $DATABASE_URL
  Redis        $REDIS_URL
Logs: make logs s=users-api   Stop: make down
TXT
}

cmd_down() {
    local only="${1:-}"
    if [ -n "$only" ]; then
        is_service "$only" || [ "$only" = edge ] || die "unknown service '$only'"
        if [ "$only" = edge ]; then stop_edge; else stop_pid "$only"; fi
        return
    fi
    stop_edge
    for s in "${SERVICES[@]}"; do stop_pid "$s"; done
    stop_pid redis
    pg_stop
}

cmd_ps() {
    local name state
    for name in edge "${SERVICES[@]}" redis; do
        if pid_alive "$name"; then state="running (pid $(cat "$RUN_DIR/pids/$name.pid"))"; else state="stopped"; fi
        printf '%-10s %s\n' "$name" "$state"
    done
    if as_pg "$PG_BIN/pg_ctl" -D "$(pg_base_dir)/data" status >/dev/null 2>&1; then state="running"; else state="stopped"; fi
    printf '%-10s %s\n' postgres "$state"
}

cmd_logs() {
    local name="${1:-}"
    case "$name" in
        "") die "usage: make logs s=NAME (${SERVICES[*]} edge redis db)" ;;
        db | postgres) exec tail -n 100 -F "$(pg_base_dir)/postgres.log" ;;
        edge | nginx) exec tail -n 100 -F "$RUN_DIR/logs/edge-access.log" "$RUN_DIR/logs/edge-error.log" ;;
        *) exec tail -n 100 -F "$RUN_DIR/logs/$name.log" ;;
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
    *) die "usage: stack.sh up|down [SERVICE] | ps | logs SERVICE | migrate | wait-db | clean" ;;
esac
