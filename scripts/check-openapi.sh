#!/usr/bin/env bash
# Validates the gateway's OpenAPI document against the OpenAPI 3.1 schema
# with openapi-spec-validator (PyPI), installed into a throwaway venv. The
# document comes from `gateway openapi` (no servers needed).
#
#   scripts/check-openapi.sh        # exit 0 valid, 1 invalid, 2 validator unavailable
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo run -q -p gateway --bin gateway -- openapi >"$tmp/openapi.json"
if ! python3 -m venv "$tmp/venv" >/dev/null 2>&1 ||
    ! timeout 300 "$tmp/venv/bin/pip" install -q openapi-spec-validator >/dev/null 2>&1; then
    echo "check-openapi: could not install openapi-spec-validator (no python3 venv or no PyPI)" >&2
    exit 2
fi
"$tmp/venv/bin/python" - "$tmp/openapi.json" <<'PY'
import json, sys
from openapi_spec_validator import validate
spec = json.load(open(sys.argv[1]))
validate(spec)
print(f"OpenAPI {spec['openapi']}: valid ({len(spec['paths'])} paths, {len(spec['components']['schemas'])} schemas)")
PY
