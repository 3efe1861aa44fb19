#!/usr/bin/env bash
# Puts Swagger UI (swagger-ui-dist 5.34.0, Apache-2.0) in DIR for users-api's /docs
# (SWAGGER_UI_DIR): swagger-ui-bundle.js, swagger-ui.css, LICENSE, VERSION. They come from the
# PyPI wheel flask-swagger-ui 5.34.0 (which ships that swagger-ui-dist), checked against its
# pinned SHA-256. Never committed: make up and make test keep them in .run/cache/swagger-ui, the
# image in /app/swagger-ui. Does nothing when DIR already holds this version.
# Usage: scripts/fetch-swagger-ui.sh DIR   (needs python3 with pip, and network access once)
set -euo pipefail
VERSION=5.34.0
WHEEL="flask_swagger_ui-$VERSION-py3-none-any.whl"
SHA256=63e4ecfee6345ca746c11c5341c6f2a1cbe271e518aac1659889cd3905b1110f
FILES=(swagger-ui-bundle.js swagger-ui.css LICENSE VERSION)
dest="${1:?usage: fetch-swagger-ui.sh DIR}"

complete() { local f; for f in "${FILES[@]}"; do [ -s "$dest/$f" ] || return 1; done; [ "$(cat "$dest/VERSION")" = "v$VERSION" ]; }
complete && exit 0

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --dest "$work" \
    "flask-swagger-ui==$VERSION" >&2 || { echo "fetch-swagger-ui.sh: pip could not download flask-swagger-ui==$VERSION" >&2; exit 1; }
echo "$SHA256  $work/$WHEEL" | sha256sum --check --quiet - >&2 \
    || { echo "fetch-swagger-ui.sh: $WHEEL does not match its pinned SHA-256" >&2; exit 1; }
python3 - "$work/$WHEEL" "$work/out" "${FILES[@]}" <<'PY'
import os, sys, zipfile
wheel, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(out)
with zipfile.ZipFile(wheel) as archive:
    for name in names:
        with open(os.path.join(out, name), "wb") as handle:
            handle.write(archive.read(f"flask_swagger_ui/dist/{name}"))
PY
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.new" && mv "$work/out" "$dest.new" && rm -rf "$dest" && mv "$dest.new" "$dest"
echo "Swagger UI $VERSION in $dest" >&2
