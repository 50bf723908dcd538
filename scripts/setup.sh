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
"$(dirname "$0")/setup-biometrics.sh"  # dlib, its models and the biometric test images
