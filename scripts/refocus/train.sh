#!/usr/bin/env bash
# Re-train the refocus U-Net from scratch and export fp32 + INT8 ONNX and a parity fixture.
#
#   scripts/refocus/train.sh [--threads N] [--procs N] [--train-minutes M]
#                                         full run (the shipped model: --threads 2 --procs 2, 48 min:
#                                         data ~9 min, most of it the Wiener channel on 2 cores,
#                                         training 38 min, export ~1 min; needs npm ci): overwrites
#                                         models/refocus/{refocus-*.onnx,export.json,metrics.json}
#                                         and test/refocus/fixtures/parity.*
#   scripts/refocus/train.sh --smoke [DIR]  tiny model in well under a minute, everything written
#                                         to DIR (default: a new temp dir); then
#                                         FOCUSBOX_REFOCUS_PARITY_DIR=DIR npx vitest run test/refocus/parity.test.ts
#
# Work files (checkpoint, calibration crops) go to $REFOCUS_WORK (default: a temp dir).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="${PYTHON:-/usr/bin/python3}"
here="$root/scripts/refocus"

if [ "${1:-}" = "--smoke" ]; then
  out="${2:-$(mktemp -d /tmp/refocus-smoke.XXXXXX)}"
  "$py" "$here/train.py" --smoke --out "$out"
  "$py" "$here/export.py" --ckpt "$out" --out "$out" --fixture "$out"
  echo "smoke model and fixture in $out"
  exit 0
fi

work="${REFOCUS_WORK:-$(mktemp -d /tmp/refocus-train.XXXXXX)}"
start=$(date +%s)
"$py" "$here/train.py" --out "$work" "$@"
"$py" "$here/export.py" --ckpt "$work" --out "$root/models/refocus" --fixture "$root/test/refocus/fixtures"
cp "$work/metrics.json" "$root/models/refocus/metrics.json"
echo "total wall time: $(( $(date +%s) - start )) s (work dir $work)"
