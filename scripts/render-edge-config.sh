#!/usr/bin/env bash
# Renders deploy/local/nginx.conf.template. Usage:
#   render-edge-config.sh local RUN_DIR EDGE_PORT "USERS_API_SERVERS" "AUTH_API_SERVERS" INTERNAL_PORT   (make up)
#   render-edge-config.sh compose                                                          (deploy/compose/nginx.conf)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
template="$root/deploy/local/nginx.conf.template"
render() {
    sed -e "s|@USER_LINE@|$1|" -e "s|@PID_FILE@|$2|" -e "s|@ERROR_LOG@|$3|" -e "s|@DAEMON@|$4|" \
        -e "s|@ACCESS_LOG@|$5|" -e "s|@TEMP_DIR@|$6|g" -e "s|@LISTEN@|$7|" \
        -e "s|@USERS_API@|$8|" -e "s|@AUTH_API@|$9|" -e "s|@INTERNAL_LISTEN@|${10}|" "$template"
}
case "${1:-}" in
    local)
        run="$2"
        user_line=""; [ "$(id -u)" -eq 0 ] && user_line="user www-data;"
        render "$user_line" "$run/pids/edge.pid" "$run/logs/edge-error.log" on "$run/logs/edge-access.log" \
            "$run/nginx/tmp" "127.0.0.1:$3" "$4" "$5" "127.0.0.1:$6"
        ;;
    compose)
        render "" /tmp/nginx.pid stderr off /dev/stdout /tmp "8000" \
            "server users-api:8081 max_fails=1 fail_timeout=2s;" "server auth-api:8082 max_fails=1 fail_timeout=2s;" "8090"
        ;;
    *) echo "usage: $0 local RUN_DIR EDGE_PORT USERS AUTH | compose" >&2; exit 2 ;;
esac
