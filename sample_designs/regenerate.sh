#!/usr/bin/env bash
# Regenerate the demo designs with the project's own generator (deterministic: same files every run).
# Usage: bash sample_designs/regenerate.sh   (from the repository root, with gsr-eda on PATH or in .venv)
set -euo pipefail
cd "$(dirname "$0")"
GSR_EDA="${GSR_EDA:-$(command -v gsr-eda || echo ../.venv/bin/gsr-eda)}"
"$GSR_EDA" synth --cells 2000 --seed 1 --name synth_a --out .
"$GSR_EDA" synth --cells 3000 --seed 2 --name synth_b --out .
"$GSR_EDA" synth --cells 4000 --seed 3 --name synth_c --out .
