#!/usr/bin/env bash
# Everything the project needs beyond cargo, installed idempotently on a fresh Debian machine.
set -euo pipefail
# OpenSSL headers and pkg-config, to build josekit's openssl-sys (PII at rest, issuer/src/pii.rs);
# curl for the demo's staff calls.
if ! dpkg -s libssl-dev pkg-config curl >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config curl
fi
# The IETF SD-JWT reference implementation, for the interop tests (core/tests/interop_python.rs).
if ! python3 -c 'import sd_jwt' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check "sd-jwt==${SD_JWT_PY_VERSION:-0.10.4}"
fi
# An OpenAPI 3.1 validator, for issuer/tests/openapi.rs.
if ! python3 -c 'import openapi_spec_validator' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check "openapi-spec-validator==0.9.0"
fi
# schemathesis, for scripts/schemathesis.sh (the API against its OpenAPI document), in a venv of
# its own: it pins many packages of its own.
SCHEMATHESIS_VERSION=4.32.5
st_venv="$HOME/.cache/kyc-credentials/schemathesis-venv"
if ! "$st_venv/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$st_venv"
  "$st_venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$(dirname "$0")/setup-biometrics.sh"  # dlib, its models and the biometric test images
