#!/usr/bin/env bash
# gsr-eda demo: designs -> graph store -> train a GSR-GNN -> evaluate -> predict + heatmap.
# Run with `make demo` (it sets up .venv and puts its bin/ on PATH). Everything goes to demo_out/.
# Tunables (environment): DEMO_DESIGNS (designs in all), DEMO_CELLS (cells per generated design),
# DEMO_EPOCHS, DEMO_LAYERS.
set -euo pipefail

OUT=demo_out
DESIGNS=${DEMO_DESIGNS:-6}
CELLS=${DEMO_CELLS:-2500}
EPOCHS=${DEMO_EPOCHS:-20}
LAYERS=${DEMO_LAYERS:-16}
STORE=$OUT/designs.h5
RUN=$OUT/run

bold=$'\e[1m'; dim=$'\e[2m'; reset=$'\e[0m'
[[ -t 1 ]] || { bold=""; dim=""; reset=""; }
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
started=$SECONDS

command -v gsr-eda >/dev/null || { echo "gsr-eda is not on PATH: run 'make demo' (or 'make setup' first)" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT/designs"

# 1. Designs: the bundled sample_designs/ (DEF/LEF pairs), topped up with generated ones so that
#    training sees several designs (the split is by design: train / validation / test).
step "1/5 designs"
defs=()
if compgen -G "sample_designs/*.def" >/dev/null; then
  for def in sample_designs/*.def; do
    [[ -f "${def%.def}.lef" ]] && defs+=("$def")
  done
  echo "    ${#defs[@]} design(s) from sample_designs/"
fi
seed=1
while (( ${#defs[@]} < DESIGNS )); do
  gsr-eda synth --cells "$CELLS" --seed "$seed" --name "demo$seed" --out "$OUT/designs" | sed 's/^/    /'
  defs+=("$OUT/designs/demo$seed.def")
  seed=$((seed + 1))
done

# 2. Ingest: graph (capped-clique nets), node features and a proxy congestion label per design.
#    One manifest, one call: the designs are read in parallel and the store is written once.
step "2/5 ingest into $STORE (proxy labels: no router output in the demo)"
python - "$OUT/manifest.json" "${defs[@]}" <<'PY'
import json, os, sys
manifest, defs = sys.argv[1], sys.argv[2:]
entries = [{"kind": "def", "def": os.path.abspath(d), "lef": [os.path.abspath(d[:-4] + ".lef")]}
           for d in defs]
json.dump({"designs": entries}, open(manifest, "w"), indent=1)
PY
gsr-eda ingest manifest "$OUT/manifest.json" --store "$STORE" --jobs 2 | sed 's/^/    /'

# 3. Train a small GSR-GNN. 3+ designs: the split is by design (train / validation / test).
step "3/5 train a ${LAYERS}-layer GSR-GNN (hidden 64, k 8) for up to $EPOCHS epochs"
gsr-eda train --store "$STORE" --out "$RUN" --model gsr --layers "$LAYERS" --hidden 64 --groups 2 --k 8 \
  --epochs "$EPOCHS" --lr 3e-3 --patience 8 --seed 0

# 4. Evaluate on every design (the table shows which were train / val / test), each next to the
#    model-free estimates (RUDY, pin RUDY, cell density) on the same cells and gcells.
step "4/5 evaluate"
gsr-eda evaluate --checkpoint "$RUN" --store "$STORE"
test_design=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["test_designs"][0])' "$RUN/summary.json")
gsr-eda evaluate --checkpoint "$RUN" --store "$STORE" --designs "$test_design" --json > "$OUT/evaluation_test.json"
python - "$OUT/evaluation_test.json" <<'PY'
import json, sys
entry = next(iter(json.load(open(sys.argv[1]))["designs"].items()))
name, e = entry
rudy = e["baselines"]["rudy"]
print(f"\n    held-out design {name} (never trained on), Pearson against its label:")
for on in ("cells", "gcells"):
    model, free = e[on]["pearson"], rudy[on]["pearson"]
    verdict = "the model beats RUDY" if model > free else "RUDY is as good or better: the model does not earn its keep here"
    print(f"      {on:6s}  model {model:.3f}   RUDY (free) {free:.3f}   -> {verdict}")
PY

# 5. Predict the held-out test design straight from its DEF, with a heatmap and a pipeline gate.
test_def=""
for def in "${defs[@]}"; do
  [[ "$(basename "${def%.def}")" == "$test_design" ]] && test_def=$def
done
step "5/5 predict $test_design (held out) from its DEF"
if [[ -n "$test_def" ]]; then
  source_args=(--def "$test_def" --lef "${test_def%.def}.lef")
else
  source_args=(--store "$STORE" --design "$test_design")
fi
set +e
gsr-eda predict --checkpoint "$RUN" "${source_args[@]}" --out "$OUT/prediction.csv" \
  --heatmap "$OUT/heatmap.png" --hotspot-threshold 1.0 --fail-above 0.25 --json > "$OUT/prediction_summary.json"
gate=$?
set -e
if (( gate != 0 && gate != 4 )); then
  echo "predict failed (exit $gate)" >&2
  exit "$gate"
fi
python - "$OUT/prediction_summary.json" "$gate" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"    {s['design']}: {s['cells']:,} cells; predicted gcell max {s['gcell_max']:.3g}, mean {s['gcell_mean']:.3g}")
print(f"    hotspots (> {s['hotspot_threshold']:g}): {s['hotspot_gcells']:,} of {s['gcells_covered']:,} covered gcells "
      f"({100 * s['hotspot_fraction']:.1f}%)")
verdict = "TRIPPED (exit 4)" if sys.argv[2] == "4" else "passed"
print(f"    gate --fail-above {s['gate']['fail_above']}: {verdict}")
PY

cat <<EOF

${bold}Done in $((SECONDS - started)) s. Where everything is:${reset}
  designs (DEF/LEF)        $OUT/designs/
  graph store              $STORE          (gsr-eda info $STORE)
  trained model            $RUN/best.pt    (last.pt: resume with gsr-eda train --resume $RUN)
  training log             $RUN/metrics.csv, $RUN/metrics.json, $RUN/summary.json
  learning curves          $RUN/curves.png
  per-cell predictions     $OUT/prediction.csv
  per-gcell map            $OUT/prediction.gcell.csv
  heatmap                  $OUT/heatmap.png
  prediction summary       $OUT/prediction_summary.json
  held-out evaluation      $OUT/evaluation_test.json  (model next to RUDY, pin RUDY, density)
${dim}Labels are proxy estimates (no router in the demo): ingest router output with --labels for real training.${reset}
EOF
