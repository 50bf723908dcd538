#!/usr/bin/env bash
# Run the checkout benchmarks and print each figure as a ratio to its baseline from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p kyc-core --bench verify -- "$@"
python3 - <<'PY'
import json, pathlib
base = pathlib.Path("target/criterion/checkout")
ns = {d.name: json.loads((d / "new/estimates.json").read_text())["median"]["point_estimate"]
      for d in base.iterdir() if (d / "new/estimates.json").exists()}
for name, t in sorted(ns.items()):
    print(f"{name:24} {t/1000:9.2f} µs (median)")
print(f"vc+jwt verify / raw verify_strict:            {ns['vc_jwt_verify'] / ns['raw_verify_strict']:.3f}  (target <= 1.25)")
print(f"presentation verify / two raw verify_strict:  {ns['presentation_verify'] / ns['two_raw_verify_strict']:.3f}  (target <= 1.30)")
PY
