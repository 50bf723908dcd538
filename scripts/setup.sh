#!/usr/bin/env bash
# Everything the project needs beyond cargo, installed idempotently on a fresh Debian machine.
set -euo pipefail
# OpenSSL headers and pkg-config, to build josekit's openssl-sys (PII at rest, issuer/src/pii.rs).
if ! dpkg -s libssl-dev pkg-config >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config
fi
# The IETF SD-JWT reference implementation, for the interop tests (core/tests/interop_python.rs).
if ! python3 -c 'import sd_jwt' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check "sd-jwt==${SD_JWT_PY_VERSION:-0.10.4}"
fi
