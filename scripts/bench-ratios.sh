#!/usr/bin/env bash
# Run the checkout benchmarks and print each figure as a ratio to its baseline from the same run.
#
#   scripts/bench-ratios.sh [criterion args]   wall clock (criterion medians)
#   scripts/bench-ratios.sh --callgrind        instructions per call under valgrind's callgrind:
#                                              repeatable on a shared, noisy machine, but blind
#                                              to IPC (parsing runs at a lower IPC than the
#                                              curve arithmetic, so its time share is larger)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--callgrind" ]]; then
    bin=$(cargo bench -p kyc-core --bench verify --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "verify" and m.get("executable"):
        print(m["executable"])')
    out=$(mktemp -d)
    for f in raw_verify_strict vc_jwt_verify two_raw_verify_strict presentation_verify; do
        valgrind --tool=callgrind --callgrind-out-file="$out/$f" "$bin" --bench --profile-time 2 \
            "checkout/$f\$" >/dev/null 2>&1
    done
    python3 - "$out" <<'PY'
import re, subprocess, sys
out = sys.argv[1]
# Each bench's closure calls `marker` `n` times per iteration, which counts the iterations.
MARKERS = {"raw_verify_strict": ("verify::raw_verify_strict", 1),
           "vc_jwt_verify": ("credential::verify_jwt", 1),
           "two_raw_verify_strict": ("verify::raw_verify_strict", 2),
           "presentation_verify": ("presentation::verify_presentation", 1)}
def per_call(name):
    """Instructions per iteration of the timed closure (everything Bencher::iter calls)."""
    tree = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--tree=calling",
                           "--threshold=100", f"{out}/{name}"], capture_output=True, text=True).stdout
    lines = tree.splitlines()
    start = next(i for i, l in enumerate(lines) if re.search(r"\*\s+\S*Bencher<M>::iter \[", l))
    marker, n = MARKERS[name]
    total, iterations = 0, None
    for l in lines[start + 1:]:
        m = re.match(r"\s*([\d,]+) \(.*?\)\s+>\s+(.*?) \(([\d,]+)x\)", l)
        if not m:
            break
        if "criterion::" in m.group(2) or "std::time" in m.group(2):
            continue
        total += int(m.group(1).replace(",", ""))
        if marker in m.group(2):
            iterations = int(m.group(3).replace(",", "")) // n
    return total / iterations
ir = {n: per_call(n) for n in ["raw_verify_strict", "vc_jwt_verify", "two_raw_verify_strict",
                               "presentation_verify"]}
for n, v in ir.items():
    print(f"{n:24} {v:12,.0f} Ir/call")
print(f"vc+jwt verify / raw verify_strict:            {ir['vc_jwt_verify'] / ir['raw_verify_strict']:.3f}")
print(f"presentation verify / two raw verify_strict:  {ir['presentation_verify'] / ir['two_raw_verify_strict']:.3f}")
PY
    rm -r "$out"
    exit 0
fi

cargo bench -p kyc-core --bench verify -- "$@"
python3 - <<'PY'
import json, pathlib
base = pathlib.Path("target/criterion/checkout")
ns = {d.name: json.loads((d / "new/estimates.json").read_text())["median"]["point_estimate"]
      for d in base.iterdir() if (d / "new/estimates.json").exists()}
for name, t in sorted(ns.items()):
    print(f"{name:24} {t/1000:9.2f} µs (median)")
print(f"vc+jwt verify / raw verify_strict:            {ns['vc_jwt_verify'] / ns['raw_verify_strict']:.3f}  (target <= 1.15)")
print(f"presentation verify / two raw verify_strict:  {ns['presentation_verify'] / ns['two_raw_verify_strict']:.3f}  (target <= 1.30)")
PY
