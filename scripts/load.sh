#!/usr/bin/env bash
# Load the real issuer service on loopback (issue figures): release binaries, then kyc-load.
# Arguments go to kyc-load, e.g. scripts/load.sh --clients 64 --seconds 10, or --credentials 100000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet -p kyc-issuer -p kyc-tests --bin kyc-issuer --bin kyc-load
exec target/release/kyc-load "$@"
