#!/usr/bin/env bash
# Re-train the DeepFocus CNN from scratch and export fp32 + INT8 ONNX and a parity fixture.
#
#   scripts/deepfocus/train.sh                 full run (~55 min on 2 cores): overwrites models/deepfocus/
#                                              and test/inference/fixtures/parity.*
#   scripts/deepfocus/train.sh --smoke [DIR]   tiny model in about a minute, everything written to DIR
#                                              (default: a new temp dir); then
#                                              FOCUSBOX_PARITY_DIR=DIR npx vitest run test/inference/parity.test.ts
#
# Work files (checkpoint, calibration windows) go to $DEEPFOCUS_WORK (default: a temp dir).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="${PYTHON:-/usr/bin/python3}"
here="$root/scripts/deepfocus"

if [ "${1:-}" = "--smoke" ]; then
  out="${2:-$(mktemp -d /tmp/deepfocus-smoke.XXXXXX)}"
  "$py" "$here/train.py" --smoke --out "$out"
  "$py" "$here/export.py" --ckpt "$out" --out "$out" --fixture "$out"
  echo "smoke model and fixture in $out"
  exit 0
fi

work="${DEEPFOCUS_WORK:-$(mktemp -d /tmp/deepfocus-train.XXXXXX)}"
start=$(date +%s)
"$py" "$here/train.py" --out "$work" "$@"
"$py" "$here/export.py" --ckpt "$work" --out "$root/models/deepfocus" --fixture "$root/test/inference/fixtures"
cp "$work/metrics.json" "$root/models/deepfocus/metrics.json"
echo "total wall time: $(( $(date +%s) - start )) s (work dir $work)"
