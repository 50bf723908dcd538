#!/usr/bin/env bash
# The test suite: set-up, then every test of the workspace. The conformance vectors are used when
# KYC_CONFORMANCE_VECTORS names them, or when ../shared/vectors exists beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -z "${KYC_CONFORMANCE_VECTORS:-}" ] && [ -d ../shared/vectors ]; then
  KYC_CONFORMANCE_VECTORS=$(realpath ../shared/vectors)
fi
if [ -n "${KYC_CONFORMANCE_VECTORS:-}" ]; then
  export KYC_CONFORMANCE_VECTORS=$(realpath "$KYC_CONFORMANCE_VECTORS")
fi
cargo test --workspace --all-targets
cargo test --workspace --doc
