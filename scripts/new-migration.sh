#!/usr/bin/env bash
# Scaffolds services/users-api/Sources/UsersAPI/Migrations/<UTC timestamp>_<name>.sql.
set -euo pipefail
name="${1:-}"
[[ "$name" =~ ^[a-z0-9_]+$ ]] || { echo "usage: make migration name=my_feature (lower case, digits, _)" >&2; exit 2; }
dir="$(cd "$(dirname "$0")/.." && pwd)/services/users-api/Sources/UsersAPI/Migrations"
file="$dir/$(date -u +%Y%m%d%H%M%S)_$name.sql"
printf -- '-- %s\n-- Applied once, in a transaction, by `make migrate`. Never edit after it has been applied.\n\n' "$name" >"$file"
echo "$file"
