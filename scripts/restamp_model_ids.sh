#!/usr/bin/env bash
# Re-stamps the committed models (models/*) with the ids their contents hash to, after a change of what the model id
# covers: runs the test `restamp_committed_models` in place (host/tests/integration/model_ids.rs), which prints old -> new per
# folder and checks every file as a load would. Commit the changed JSON files and update the ids in models/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BALER_RESTAMP_IN_PLACE=1 cargo test --workspace --features baler/wgpu --test integration -- model_ids::restamp_committed_models --nocapture
