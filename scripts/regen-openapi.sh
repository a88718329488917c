#!/usr/bin/env bash
# Regenerates the committed OpenAPI spec, openapi/customers.json, from the code.
# The spec is written to a temp file first, so a failed run leaves the committed file intact.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly OUT=openapi/customers.json

mkdir -p "$(dirname "$OUT")"
tmp="$(mktemp "${OUT}.tmp.XXXXXX")"
trap 'rm -f "$tmp"' EXIT

cargo run -q -p customers-api --bin customers -- openapi >"$tmp"
if [ ! -s "$tmp" ]; then
    echo "regen-openapi.sh: error: 'customers openapi' printed nothing; ${OUT} left unchanged" >&2
    exit 1
fi
chmod 644 "$tmp"
mv "$tmp" "$OUT"
echo "regen-openapi.sh: wrote ${OUT}" >&2
