#!/usr/bin/env bash
# Installs the Debian packages Strata builds and runs with. Safe to run again.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git
  qt6-base-dev qt6-charts-dev libgl1-mesa-dev
  libopenblas-dev libsentencepiece-dev nlohmann-json3-dev libutf8proc-dev libsqlite3-dev libpcre2-dev
  libpoppler-cpp-dev libuchardet-dev libsndfile1-dev libsoxr-dev libstb-dev libjpeg62-turbo-dev
  libwebp-dev libtiff-dev libheif-dev
  libtesseract-dev libleptonica-dev tesseract-ocr-eng
  zlib1g-dev liblzma-dev libzstd-dev libbz2-dev
  python3
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}"
fi
