#!/usr/bin/env bash
# Fuzz every parser that takes outside input (fuzz/fuzz_targets/, see fuzz/README.md): each
# target runs for SECONDS (default 60) from its committed corpus fuzz/corpus/<target>/, and the
# executions per target are printed at the end. A crash, a panic, an input slower than 60 s or
# one that takes over 2 GiB fails the run; libFuzzer leaves the input in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS [TARGET...]]
#
# New inputs go to a scratch directory; KYC_FUZZ_UPDATE_CORPUS=1 merges those that add coverage
# into the committed corpus (libFuzzer's -merge=1, which keeps it minimal).
#
# cargo fuzz needs nightly's -Z flags (sanitizer coverage); RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them. The targets build without a sanitizer (`-s none`): the code fuzzed is
# safe Rust (unsafe_code is forbidden in every crate), so AddressSanitizer would find nothing
# the panics and overflow checks (`-a`, on) do not, at about twice the build and run time.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
export RUSTC_BOOTSTRAP=1
flags=(-s none -O -a)
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi

cargo fuzz build "${flags[@]}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
summary=()
for target in "${targets[@]}"; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus" "$scratch/$target"
  echo "== fuzz $target for ${seconds}s"
  # The first directory receives new inputs; the committed corpus is only read.
  if ! cargo fuzz run "${flags[@]}" "$target" "$scratch/$target" "$corpus" -- \
      -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
      2> "$scratch/$target.log"; then
    tail -n 60 "$scratch/$target.log"
    echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$scratch/$target.log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$scratch/$target.log" | tail -n 1 | grep -o '[0-9]*$' || echo '?')
  summary+=("$(printf '%-22s %10s executions  %6s edges  %4s corpus inputs' "$target" "$execs" "$cov" "$(ls "$corpus" | wc -l)")")
  if [ "${KYC_FUZZ_UPDATE_CORPUS:-0}" = 1 ]; then
    cargo fuzz run "${flags[@]}" "$target" "$corpus" "$scratch/$target" -- -merge=1 2>/dev/null
  fi
done
echo "== fuzz: every target ran ${seconds}s without a failure"
printf '%s\n' "${summary[@]}"
