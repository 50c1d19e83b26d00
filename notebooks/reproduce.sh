#!/usr/bin/env bash
# One command from the manifest to models/genre-v1.{onnx,card.json}:
# fetch the clips, export features with the Rust code inference uses, train.
#
#   notebooks/reproduce.sh                      # our corpus
#   MANIFEST=mine.csv VERSION=genre-mine notebooks/reproduce.sh
#
# Environment: MANIFEST (training-data-manifest/clips.csv), CACHE (fetch's
# default cache), VERSION (genre-v1), OUT_DIR (models), PYTHON (python3; needs
# notebooks/requirements.txt installed), SKIP_FETCH=1 to use the cache as is.
set -euo pipefail
cd "$(dirname "$0")/.."

MANIFEST="${MANIFEST:-training-data-manifest/clips.csv}"
VERSION="${VERSION:-genre-v1}"
OUT_DIR="${OUT_DIR:-models}"
PYTHON="${PYTHON:-python3}"
FEATURES="${FEATURES:-target/genre/${VERSION}-features.npz}"
cache_args=()
if [[ -n "${CACHE:-}" ]]; then cache_args=(--cache "$CACHE"); fi

if [[ "${SKIP_FETCH:-0}" != 1 ]]; then
    training-data-manifest/fetch --manifest "$MANIFEST" "${cache_args[@]}"
fi

mkdir -p "$(dirname "$FEATURES")"
cargo run --release -q -p lacquer-cli -- features --manifest "$MANIFEST" --out "$FEATURES" --force "${cache_args[@]}"
"$PYTHON" notebooks/train.py --features "$FEATURES" --manifest "$MANIFEST" \
    --out-dir "$OUT_DIR" --version "$VERSION"
