#!/usr/bin/env bash
# Builds the GPU bundle: everything the GPU checks need, in one archive for a bare CUDA machine.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: tests/gpu/make-bundle.sh [--build-dir DIR] [--arch LIST] [--reuse-build] [--max-mib N] [--jobs N]

Builds, on this machine (the CUDA toolkit is needed, a GPU is not), everything Strata's GPU checks
run, and packs it into one archive for a machine that has a CUDA device and nothing else: no Qt,
no package manager, no network.

  DIR/strata-gpu-bundle/          the bundle, unpacked
      run-checks.sh               the checks (run-checks.sh --help)
      bin/                        strata-cli, every gpu-labelled test, bench_media_encoders
      lib/                        the shared libraries they need beyond the C/C++ runtime
                                  (Qt, OpenBLAS, ICU, poppler, ...); the CUDA driver and cuBLAS
                                  come from the GPU machine's CUDA install
      data/, shared/tokenizers/   the tests' fixtures and the real tokenizers they read
      tools/                      make_random_checkpoint.py, summarize.py
      BUNDLE.txt                  the commit, the build and the test list
  DIR/strata-gpu-bundle.tar.xz    the same, packed: this is what goes to the GPU machine

The build is RelWithDebInfo for the CUDA architectures in --arch (default 90, for the H100 and
H200), without the GUI, with debug info stripped from the copies. The script fails, with the
reason, when the archive is over --max-mib (default 60) or when a binary needs a library that is
neither in the bundle nor the C/C++ runtime.

On the GPU machine:
  mkdir -p /tmp/sb && tar -xJf strata-gpu-bundle.tar.xz -C /tmp/sb
  /tmp/sb/strata-gpu-bundle/run-checks.sh --out /tmp/strata-checks

Options:
  --build-dir DIR   the build folder (default build-gpu)
  --arch LIST       CMAKE_CUDA_ARCHITECTURES (default 90)
  --reuse-build     take DIR as it is configured (CI passes its own build folder): no new
                    configuration; its architectures must include 90
  --max-mib N       the largest archive allowed, in MiB (default 60)
  --jobs N          build jobs (default: the number of CPUs)
  -h, --help        this text
EOF
}

cd "$(dirname "$0")/../.."
REPO="$(pwd)"
BUILD=build-gpu ARCH=90 MAX_MIB=60 JOBS="$(nproc)" REUSE=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build-dir) BUILD="${2:?--build-dir needs a folder}"; shift 2 ;;
    --arch) ARCH="${2:?--arch needs a list}"; shift 2 ;;
    --reuse-build) REUSE=1; shift ;;
    --max-mib) MAX_MIB="${2:?--max-mib needs a number}"; shift 2 ;;
    --jobs) JOBS="${2:?--jobs needs a number}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "make-bundle: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
fail() { echo "make-bundle: $*" >&2; exit 1; }

if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
command -v nvcc >/dev/null || fail "nvcc is not installed: the bundle needs the CUDA backend (install the CUDA toolkit)"
SHARED="$REPO/../shared/tokenizers"
for t in gemma3 llama3_1; do
    [ -f "$SHARED/$t/tokenizer.json" ] ||
        fail "$SHARED/$t/tokenizer.json is missing: the gpu tests and the benchmark checkpoint need ../shared beside the checkout"
done

# Compiled objects are shared with other build folders through ccache (the copies lose their
# debug info anyway, so its paths may name another folder).
export CCACHE_BASEDIR="$REPO" CCACHE_NOHASHDIR=1
if [ $REUSE = 1 ]; then
    [ -f "$BUILD/CMakeCache.txt" ] || fail "--reuse-build: $BUILD is not a configured build folder"
    ARCH="$(sed -n 's/^CMAKE_CUDA_ARCHITECTURES:[A-Z]*=//p' "$BUILD/CMakeCache.txt")"
    [[ ";$ARCH;" =~ \;90(-real)?\; ]] || fail "--reuse-build: $BUILD is built for CUDA architectures '$ARCH', without 90"
else
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CUDA_ARCHITECTURES="$ARCH" \
        -DSTRATA_BUILD_GUI=OFF -DSTRATA_BUILD_TESTS=ON >/dev/null
fi
grep -q '^STRATA_HAVE_CUDA:INTERNAL=ON' "$BUILD/CMakeCache.txt" ||
    fail "CMake did not enable the CUDA backend in $BUILD (see its CMakeCache.txt)"

# Every gpu-labelled test, as ctest knows them.
mapfile -t TESTS < <(ctest --test-dir "$BUILD" -L gpu --show-only=json-v1 |
    python3 -c 'import json, sys; print("\n".join(t["name"] for t in json.load(sys.stdin)["tests"]))')
[ ${#TESTS[@]} -gt 0 ] || fail "ctest lists no gpu-labelled tests in $BUILD"
cmake --build "$BUILD" -j "$JOBS" --target strata-cli bench_media_encoders "${TESTS[@]}"

STAGE="$BUILD/strata-gpu-bundle"
ARCHIVE="$BUILD/strata-gpu-bundle.tar.xz"
rm -rf "$STAGE" "$ARCHIVE"
mkdir -p "$STAGE"/{bin,lib,tools,shared/tokenizers}

for t in "${TESTS[@]}"; do
    exe="$(find "$BUILD/tests" -type f -name "$t" -perm -u+x | head -n 1)"
    [ -n "$exe" ] || fail "the test executable $t was not found under $BUILD/tests"
    cp "$exe" "$STAGE/bin/"
done
cp "$BUILD/app/strata-cli" "$BUILD/tests/multimodal/bench_media_encoders" "$STAGE/bin/"
strip --strip-debug "$STAGE"/bin/*
printf '%s\n' "${TESTS[@]}" >"$STAGE/gpu-tests.txt"

# The libraries the binaries load, but for the C/C++ runtime that every machine has and the CUDA
# libraries that the GPU machine's driver and toolkit provide (the runtime is linked statically;
# cuBLAS is opened at run time, and libcublasLt alone is over 500 MB).
KEEP_OUT='^(linux-vdso|ld-linux-x86-64|libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt|libcuda|libcudart|libcublas|libcublasLt|libnvidia-.*)\.so'
for exe in "$STAGE"/bin/*; do
    ldd "$exe" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }'
done | sort -u | while read -r name path; do
    [[ "$name" =~ $KEEP_OUT ]] && continue
    cp -L "$path" "$STAGE/lib/$name"
done

cp -r tests/data "$STAGE/data"
find "$STAGE/data" -name '*.tmp' -delete
for t in gemma3 llama3_1; do
    mkdir -p "$STAGE/shared/tokenizers/$t"
    cp "$SHARED/$t/tokenizer.json" "$SHARED/$t/tokenizer_config.json" "$STAGE/shared/tokenizers/$t/"
done
cp tests/tools/make_random_checkpoint.py tests/gpu/summarize.py "$STAGE/tools/"
cp tests/gpu/run-checks.sh "$STAGE/"
cublas_major="$(sed -n 's/^#define CUBLAS_VER_MAJOR \([0-9]*\).*/\1/p' "$(dirname "$(command -v nvcc)")/../include/cublas_api.h")"
{
    echo "commit       $(git describe --always --dirty 2>/dev/null || echo unknown) ($(git log -1 --format=%cs 2>/dev/null))"
    echo "built        $(date -u '+%Y-%m-%d %H:%M') UTC on $(. /etc/os-release && echo "$PRETTY_NAME"), $(ldd --version | head -n 1)"
    echo "compiler     $(c++ --version | head -n 1); $(nvcc --version | tail -n 1)"
    echo "build        $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt"), CUDA architectures $ARCH"
    echo "gpu tests    ${TESTS[*]}"
    echo "cublas_soname=libcublas.so.$cublas_major"
} >"$STAGE/BUNDLE.txt"

# What a bare machine would lack shows up here, before the bundle travels.
"$STAGE/run-checks.sh" --libraries || fail "a binary needs a library the bundle does not hold (above)"

tar -C "$BUILD" -cf - "$(basename "$STAGE")" | xz -T0 -6 >"$ARCHIVE"
bytes=$(stat -c %s "$ARCHIVE")
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
if [ "$bytes" -gt $((MAX_MIB * 1048576)) ]; then
    echo "make-bundle: $ARCHIVE is $mib MiB, over the $MAX_MIB MiB limit; the largest files unpacked:" >&2
    (cd "$STAGE" && find . -type f -printf '%s %p\n' | sort -rn | head -n 10 |
        awk '{ printf "  %8.1f MiB  %s\n", $1 / 1048576, $2 }') >&2
    exit 1
fi
echo "make-bundle: $ARCHIVE: $mib MiB (limit $MAX_MIB MiB); unpacked $(du -sh "$STAGE" | cut -f1) in $STAGE"
echo "  ${#TESTS[@]} gpu tests, $(ls "$STAGE/lib" | wc -l) libraries; on the GPU machine:"
echo "  mkdir -p /tmp/sb && tar -xJf strata-gpu-bundle.tar.xz -C /tmp/sb && /tmp/sb/strata-gpu-bundle/run-checks.sh --out /tmp/strata-checks"
