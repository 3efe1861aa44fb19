# Shared helpers for the local stack (make up/down/…) and the test stack (make test).
# Sourced, not run. Everything lives under $RUN_DIR; nothing outside it is touched except apt.

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

log() { printf '\033[1m[registrar]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Installs what is missing with apt (root) or says what to install (non-root).
ensure_packages() {
    local missing=()
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v redis-cli >/dev/null || missing+=(redis-tools)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    [ -f /usr/include/hiredis/hiredis.h ] || missing+=(libhiredis-dev)
    [ -f /usr/include/crypt.h ] || missing+=(libcrypt-dev)
    [ -x "$PG_BIN/initdb" ] || missing+=(postgresql-15)
    command -v psql >/dev/null || missing+=(postgresql-client-15)
    command -v curl >/dev/null || missing+=(curl)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v readelf >/dev/null || missing+=(binutils)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        log "installing ${missing[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        die "missing packages: ${missing[*]} (sudo apt-get install -y ${missing[*]})"
    fi
}

nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

# Runs a Postgres server binary as the `postgres` user when root (they refuse root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else (cd / && "$@"); fi
}

# A data directory the postgres user can reach: under $RUN_DIR if every parent is traversable,
# otherwise under /tmp (e.g. when the checkout is below /root, mode 700).
pg_base_dir() {
    local wanted="$RUN_DIR/pg"
    if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$RUN_DIR" 2>/dev/null; then
        echo "$wanted"
    else
        echo "/tmp/registrar-$(echo "$RUN_DIR" | sha256sum | cut -c1-12)/pg"
    fi
}

# pg_start PORT: initialises (once) and starts a cluster with role/database app/app.
pg_start() {
    local port="$1" base data
    base="$(pg_base_dir)"; data="$base/data"
    mkdir -p "$base"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$base" && chmod 700 "$base"
    if [ ! -f "$data/PG_VERSION" ]; then
        log "initialising Postgres in $data"
        as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    # Asked of the server (pg_isready), not of postmaster.pid, which survives a kill -9.
    if pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null; then
        log "Postgres already running on :$port"
    else
        clear_stale_pid_file "$data/postmaster.pid"
        # The socket's lock file names the postmaster too: a zombie one (not reaped yet) would
        # make Postgres refuse to start ("lock file … already exists").
        clear_stale_pid_file "$base/.s.PGSQL.$port.lock"
        wait_port_free "$port" || die "port $port is in use by another process: stop it, or set REGISTRAR_PG_PORT"
        as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$base/postgres.log" -w -t 30 \
            -o "-p $port -k $base -c listen_addresses=127.0.0.1 ${PG_EXTRA_OPTS:-}" start >/dev/null \
            || { tail -20 "$base/postgres.log" >&2; die "Postgres did not start"; }
        log "Postgres on 127.0.0.1:$port"
    fi
    psql -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='app'" | grep -q 1 \
        || psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE ROLE app LOGIN PASSWORD 'app' CREATEDB"
    psql -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='app'" | grep -q 1 \
        || psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE app OWNER app"
}

# clear_stale_pid_file FILE: removes a pid file whose process is gone or a zombie (left by kill -9).
clear_stale_pid_file() {
    local file="$1" pid state
    [ -f "$file" ] || return 0
    pid="$(head -1 "$file")"
    state="$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
    if [ -z "$state" ] || [ "$state" = Z ]; then rm -f "$file"; fi
}

# make_test_certificates DIR: a CA, a server certificate it signs for 127.0.0.1 and localhost (key
# readable by the postgres user only), and an unrelated CA, for TLS tests. Never for production.
make_test_certificates() {
    local dir="$1"
    mkdir -p "$dir" && chmod 755 "$dir"
    # Kept while valid for another day (a long-lived `make up` directory renews them).
    [ -f "$dir/server.crt" ] && openssl x509 -checkend 86400 -noout -in "$dir/server.crt" >/dev/null 2>&1 && return 0
    (
        cd "$dir"
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=registrar test CA" -keyout ca.key -out ca.crt
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=another CA" -keyout other-ca.key -out other-ca.crt
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile server.ext -out server.crt
    ) >/dev/null 2>&1 || die "could not make test certificates in $dir (openssl)"
    chmod 600 "$dir/server.key"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/server.key" "$dir/server.crt"; fi
}

pg_stop() {
    local data; data="$(pg_base_dir)/data"
    [ -f "$data/PG_VERSION" ] || return 0
    as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 && log "Postgres stopped" || true
}

# redis_start PORT: a durable Redis (append-only file, fsync before every acknowledgement, so an
# acknowledged write survives kill -9), bounded in memory (REDIS_MAXMEMORY, default 256mb) with
# noeviction: when full, writes fail (the services answer 503) and nothing is evicted. Whether
# it runs is asked of the server itself (PING), never of a pid file, which a zombie or a reused
# pid can fool: a dead Redis is started again.
#
# With REDIS_TLS_DIR (certificates from make_test_certificates) it speaks TLS only, on the same
# port (`TEST_REDIS_TLS=1 make test` runs every suite so).
redis_start() {
    local port="$1" listen
    listen=(--port "$port")
    if [ -n "${REDIS_TLS_DIR:-}" ]; then
        listen=(--port 0 --tls-port "$port" --tls-cert-file "$REDIS_TLS_DIR/server.crt" --tls-key-file "$REDIS_TLS_DIR/server.key"
            --tls-ca-cert-file "$REDIS_TLS_DIR/ca.crt" --tls-auth-clients no)
    fi
    mkdir -p "$RUN_DIR/redis" "$RUN_DIR/pids" "$RUN_DIR/logs"
    if redis_answers "$port"; then log "Redis already running on :$port"; return 0; fi
    rm -f "$RUN_DIR/pids/redis.pid"
    wait_port_free "$port" || die "port $port is in use by another process: stop it, or set REGISTRAR_REDIS_PORT"
    redis-server "${listen[@]}" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync "${REDIS_APPENDFSYNC:-always}" \
        --maxmemory "${REDIS_MAXMEMORY:-256mb}" --maxmemory-policy noeviction --daemonize yes \
        --dir "$RUN_DIR/redis" --pidfile "$RUN_DIR/pids/redis.pid" --logfile "$RUN_DIR/logs/redis.log" >/dev/null
    for _ in $(seq 1 100); do redis_answers "$port" && break; sleep 0.1; done
    redis_answers "$port" || { tail -5 "$RUN_DIR/logs/redis.log" >&2; die "Redis did not start"; }
    log "Redis on 127.0.0.1:$port (append-only, fsync always${REDIS_TLS_DIR:+, TLS only})"
}

# redis_answers PORT: whether a Redis answers PING there (a server still loading its append-only
# file answers LOADING, which is not an answer yet).
redis_answers() {
    [ "$(redis_cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]
}

# redis_cli ARGS…: redis-cli, over TLS (verified by the test CA) when REDIS_TLS_DIR is set.
redis_cli() {
    if [ -n "${REDIS_TLS_DIR:-}" ]; then redis-cli --tls --cacert "$REDIS_TLS_DIR/ca.crt" "$@"; else redis-cli "$@"; fi
}

# wait_port_free PORT: until nothing listens on 127.0.0.1:PORT (a server that was just stopped
# may hold it for a moment); false after 10 s.
wait_port_free() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

pid_alive() { local f="$RUN_DIR/pids/$1.pid"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

# stop_pid NAME: SIGTERM, wait up to 15 s for a graceful exit, then SIGKILL.
stop_pid() {
    local name="$1" f="$RUN_DIR/pids/$1.pid" pid
    [ -f "$f" ] || return 0
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && { log "$name did not stop in 15 s: killing"; kill -KILL "$pid" 2>/dev/null || true; }
        log "$name stopped"
    fi
    rm -f "$f"
}

# wait_http URL [SECONDS]: until the URL answers 200.
wait_http() {
    local url="$1" seconds="${2:-60}"
    for _ in $(seq 1 $((seconds * 10))); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null)" = "200" ] && return 0
        sleep 0.1
    done
    return 1
}
