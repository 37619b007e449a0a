#!/usr/bin/env bash
# congestion_gate.sh -- a pipeline step: predict congestion of a placed DEF, fail the build
# when too much of the design is hot.
#
#   congestion_gate.sh CHECKPOINT DEF OUT_DIR FAIL_ABOVE LEF [LEF ...]
#
# Writes OUT_DIR/congestion.csv (per cell), OUT_DIR/congestion.gcell.csv (per gcell) and
# OUT_DIR/congestion.json (the summary). Exit status is gsr-eda's: 0 pass, 3 bad input,
# 4 gate tripped (hotspot fraction of covered gcells above FAIL_ABOVE), 1 internal error.
# Set GSR_EDA (default: gsr-eda) and HOTSPOT_THRESHOLD (label units, default 0.9).
set -u
if [ "$#" -lt 5 ]; then
    echo "usage: $0 CHECKPOINT DEF OUT_DIR FAIL_ABOVE LEF [LEF ...]" >&2
    exit 2
fi
checkpoint=$1 def=$2 out_dir=$3 fail_above=$4
shift 4
lef_args=()
for lef in "$@"; do lef_args+=(--lef "$lef"); done
mkdir -p "$out_dir"
"${GSR_EDA:-gsr-eda}" predict --checkpoint "$checkpoint" --def "$def" "${lef_args[@]}" \
    --out "$out_dir/congestion.csv" --hotspot-threshold "${HOTSPOT_THRESHOLD:-0.9}" \
    --json --fail-above "$fail_above" > "$out_dir/congestion.json"
status=$?
case $status in
    0) echo "congestion gate: pass ($out_dir/congestion.json)" ;;
    4) echo "congestion gate: FAILED: hotspot fraction above $fail_above ($out_dir/congestion.json)" >&2 ;;
    *) echo "congestion gate: error (exit $status)" >&2 ;;
esac
exit $status
