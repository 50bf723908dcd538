#!/usr/bin/env bash
# Everything the project needs beyond cargo, installed idempotently on a fresh Debian machine.
set -euo pipefail
# The IETF SD-JWT reference implementation, for the interop tests (core/tests/interop_python.rs).
if ! python3 -c 'import sd_jwt' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check "sd-jwt==${SD_JWT_PY_VERSION:-0.10.4}"
fi
