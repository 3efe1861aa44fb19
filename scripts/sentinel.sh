#!/usr/bin/env bash
# Issue 15, Sentinel: a Redis primary, a replica and three sentinels (`redis-server --sentinel`) on
# loopback, the whole system on them (REDIS_SENTINELS, one replica of each service, started by the
# same script as `make up`), then scripts/sentinel.py: kill -9 of the primary under registration,
# login and /me load; the services follow the failover, no acknowledged mail is lost.
# Usage: scripts/sentinel.sh (make test runs it); SENTINEL_KEEP=1 leaves everything running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export RUN_DIR="$ROOT_DIR/.run/sentinel"
export PORT_OFFSET=14000 REGISTRAR_PG_PORT=15438  # below the ephemeral range (32768+)
PRIMARY_PORT=16385 REPLICA_PORT=16386 SENTINEL_PORTS=(16387 16388 16389)
export REGISTRAR_REDIS_PORT="$PRIMARY_PORT"  # stack.sh finds it running and leaves it alone
export REDIS_SENTINELS="127.0.0.1:${SENTINEL_PORTS[0]},127.0.0.1:${SENTINEL_PORTS[1]},127.0.0.1:${SENTINEL_PORTS[2]}"
export REDIS_SENTINEL_MASTER=registrar
export SMTP_MOCK_CLAIM_IDLE_MS=1000 MAILER_LEASE_SECONDS=2 BCRYPT_COST="${E2E_BCRYPT_COST:-8}" LOG_LEVEL=warning
export REGISTRATION_MAX_PER_ADDRESS=100000 MAIL_MAX_PER_MINUTE=100000 CLIENT_MAX_FAILURES=100000
export EDGE_CONNECTIONS_PER_ADDRESS=10000 EDGE_RATE=100000r/s EDGE_BURST=100000 EDGE_PASSWORD_RATE=100000r/s EDGE_PASSWORD_BURST=100000
export SKIP_BUILD=1
# Plaintext Redis here (TEST_REDIS_TLS covers the other suites: README, Tests).
unset DATABASE_URL REDIS_URL REDIS_TLS_DIR REDIS_TLS_CA_FILE

# A data node: durable like make up's Redis (append-only, fsync always).
start_node() {
    local name="$1" port="$2"; shift 2
    mkdir -p "$RUN_DIR/$name" "$RUN_DIR/pids" "$RUN_DIR/logs"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync always \
        --maxmemory 256mb --maxmemory-policy noeviction --daemonize yes --dir "$RUN_DIR/$name" \
        --pidfile "$RUN_DIR/pids/$name.pid" --logfile "$RUN_DIR/logs/$name.log" "$@" >/dev/null
}

start_sentinel() {
    local index="$1" port="$2" file="$RUN_DIR/sentinel-$1/sentinel.conf"
    mkdir -p "$RUN_DIR/sentinel-$index"
    # Detection after 1 s of silence (production keeps Redis's 30 s default or tunes it: README).
    cat >"$file" <<CONF
port $port
bind 127.0.0.1
daemonize yes
dir $RUN_DIR/sentinel-$index
pidfile $RUN_DIR/pids/sentinel-$index.pid
logfile $RUN_DIR/logs/sentinel-$index.log
sentinel monitor registrar 127.0.0.1 $PRIMARY_PORT 2
sentinel down-after-milliseconds registrar 1000
sentinel failover-timeout registrar 6000
sentinel parallel-syncs registrar 1
CONF
    redis-server "$file" --sentinel >/dev/null
}

stop_all() {
    local f
    "$ROOT_DIR/scripts/stack.sh" down >/dev/null 2>&1 || true
    for f in "$RUN_DIR"/pids/sentinel-*.pid "$RUN_DIR"/pids/primary.pid "$RUN_DIR"/pids/replica.pid; do
        [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
    done
}

cleanup() {
    [ -n "${SENTINEL_KEEP:-}" ] && return
    stop_all
    rm -rf "$RUN_DIR"
}
trap cleanup EXIT
stop_all
rm -rf "$RUN_DIR"
for port in "$PRIMARY_PORT" "$REPLICA_PORT" "${SENTINEL_PORTS[@]}"; do
    wait_port_free "$port" || die "port $port is in use"
done
start_node primary "$PRIMARY_PORT"
start_node replica "$REPLICA_PORT" --replicaof 127.0.0.1 "$PRIMARY_PORT"
for i in 0 1 2; do start_sentinel "$((i + 1))" "${SENTINEL_PORTS[$i]}"; done
for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$REPLICA_PORT" info replication 2>/dev/null | tr -d '\r' | grep -c '^master_link_status:up')" = 1 ] \
        && [ "$(redis-cli -p "${SENTINEL_PORTS[0]}" sentinel replicas registrar 2>/dev/null | grep -c "$REPLICA_PORT")" -ge 1 ] && break
    sleep 0.1
done
log "Redis primary :$PRIMARY_PORT, replica :$REPLICA_PORT, sentinels :${SENTINEL_PORTS[*]}"
"$ROOT_DIR/scripts/stack.sh" up >"$RUN_DIR/up.log" 2>&1 || { tail -20 "$RUN_DIR/up.log" >&2; die "make up on sentinels exited non-zero"; }

export E2E_EDGE="http://127.0.0.1:$((8000 + PORT_OFFSET))" E2E_SMTP="http://127.0.0.1:$((8025 + PORT_OFFSET))" \
    E2E_DATABASE_URL="postgresql://app:app@127.0.0.1:$REGISTRAR_PG_PORT/app" E2E_RUN_DIR="$RUN_DIR" \
    SENTINEL_PRIMARY_PORT="$PRIMARY_PORT" SENTINEL_REPLICA_PORT="$REPLICA_PORT" SENTINEL_PORT_LIST="${SENTINEL_PORTS[*]}"
python3 "$ROOT_DIR/scripts/sentinel.py"
