#!/usr/bin/env bash
# Renders deploy/local/nginx.conf.template. Usage:
#   render-edge-config.sh local RUN_DIR EDGE_PORT "USERS_API_SERVERS" "AUTH_API_SERVERS" INTERNAL_PORT   (make up)
#   render-edge-config.sh compose                                                          (deploy/compose/nginx.conf)
#   render-edge-config.sh kubernetes                                                       (deploy/kubernetes/base/edge/nginx.conf)
# The edge's per-address limits come from the environment (README, "The edge"); defaults:
#   EDGE_CONNECTIONS_PER_ADDRESS=32  requests in progress per client address
#   EDGE_RATE=10r/s EDGE_BURST=50    requests per client address (nginx rate: Nr/s or Nr/m)
#   EDGE_PASSWORD_RATE=1r/s EDGE_PASSWORD_BURST=20   on the bcrypt routes (register, activate, resend, login)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
template="$root/deploy/local/nginx.conf.template"

setting() { # setting NAME DEFAULT REGEX: the variable's value, or exit 78 if it does not match
    local value="${!1:-$2}"
    [[ "$value" =~ $3 ]] || { echo "render-edge-config.sh: invalid $1=\"$value\" (expected ${4:-$3})" >&2; exit 78; }
    echo "$value"
}
connections="$(setting EDGE_CONNECTIONS_PER_ADDRESS 32 '^[1-9][0-9]{0,4}$' 'an integer from 1 to 65535 (nginx limit_conn)')"
[ "$connections" -le 65535 ] || { echo "invalid EDGE_CONNECTIONS_PER_ADDRESS=\"$connections\": expected an integer from 1 to 65535 (nginx limit_conn)" >&2; exit 78; }
rate="$(setting EDGE_RATE 10r/s '^[1-9][0-9]{0,6}r/[sm]$' 'a rate such as 10r/s or 30r/m')"
burst="$(setting EDGE_BURST 50 '^[0-9]{1,7}$' 'an integer from 0 to 9999999')"
password_rate="$(setting EDGE_PASSWORD_RATE 1r/s '^[1-9][0-9]{0,6}r/[sm]$' 'a rate such as 1r/s or 30r/m')"
password_burst="$(setting EDGE_PASSWORD_BURST 20 '^[0-9]{1,7}$' 'an integer from 0 to 9999999')"

render() {
    sed -e "s|@USER_LINE@|$1|" -e "s|@PID_FILE@|$2|" -e "s|@ERROR_LOG@|$3|" -e "s|@DAEMON@|$4|" \
        -e "s|@ACCESS_LOG@|$5|" -e "s|@TEMP_DIR@|$6|g" -e "s|@LISTEN@|$7|" \
        -e "s|@USERS_API@|$8|" -e "s|@AUTH_API@|$9|" -e "s|@INTERNAL_LISTEN@|${10}|" \
        -e "s|@CONNECTIONS_PER_ADDRESS@|$connections|g" -e "s|@RATE@|$rate|g" -e "s|@BURST@|$burst|g" \
        -e "s|@PASSWORD_RATE@|$password_rate|g" -e "s|@PASSWORD_BURST@|$password_burst|g" "$template"
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
    kubernetes)
        # As compose (the Services have the same names and ports), but the internal listener only on
        # the pod's loopback: in Kubernetes auth-api calls users-api's Service directly.
        render "" /tmp/nginx.pid stderr off /dev/stdout /tmp "8000" \
            "server users-api:8081 max_fails=1 fail_timeout=2s;" "server auth-api:8082 max_fails=1 fail_timeout=2s;" "127.0.0.1:8090"
        ;;
    *) echo "usage: $0 local RUN_DIR EDGE_PORT USERS AUTH INTERNAL_PORT | compose | kubernetes" >&2; exit 2 ;;
esac
