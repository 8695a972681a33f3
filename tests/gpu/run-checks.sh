#!/usr/bin/env bash
# The GPU checks in one command, run from the bundle that tests/gpu/make-bundle.sh makes. See --help.
set -uo pipefail  # no -e: a step that fails must not stop the later ones

usage() {
    cat <<'EOF'
usage: run-checks.sh --out DIR [--shape NAME] [--checkpoint DIR] [--time-limit SECONDS]
                     [--only STEP,...] [--skip STEP,...] [--tar FILE]
       run-checks.sh --libraries

Runs Strata's GPU checks from the unpacked bundle (tests/gpu/make-bundle.sh builds it) on a
machine with a CUDA device and nothing else installed: no Qt, no package manager, no network.
Everything goes under --out: one log per step, each bench's JSON, steps.tsv, and the summary
(summary.txt, summary.md, summary.json), which is also printed last.

Steps, in order (each has its own time limit, and all of them share --time-limit):
  environment  the machine, the driver, the bundle, and the library check below
  devices      strata-cli devices: the CUDA device and where cuBLAS was found
  ctest        ctest -L gpu (every gpu-labelled test, with its output)
  checkpoint   a random checkpoint of --shape (default llama-3.1-8b, 16 GB of bf16) in
               --checkpoint (default /tmp/strata-SHAPE-random), kept for the next run
  info         strata-cli info --vram-budget 6GiB --context 16400 --kv-budget 2GiB: the plan and
               its bytes per token
  bench-4k     bench --vram-budget 6GiB --prompt-tokens 4096 --chunk 1024 --gen-tokens 16
  bench-vram   bench --vram-budget 40GiB --gen-tokens 64: the whole model in VRAM
  bench-16k    bench --vram-budget 6GiB --prompt-tokens 16384 --chunk 1024 --gen-tokens 16
               --kv-budget 2GiB --kv-ram-budget 4GiB (16k tokens of fp32 KV are 4.3 GB)
  bench-disk   bench --vram-budget 6GiB --ram-budget 8GiB --gen-tokens 16: the disk tier
  media        bench_media_encoders --vram-budget 8GiB: the image and audio towers
  cpu-bench    only where no device is usable: the CPU bench on a tiny model, so that the bench,
               its JSON and the summary still run
Without a usable device the GPU steps are skipped with the reason; the others still run.

Options:
  --out DIR            where everything is written (created; required)
  --shape NAME         checkpoint shape for make_random_checkpoint.py (default llama-3.1-8b)
  --checkpoint DIR     where the checkpoint goes (default /tmp/strata-SHAPE-random)
  --time-limit S       the whole run's limit in seconds (default 480); each step gets the
                       smaller of its own limit and what is left
  --only STEPS         run only these steps (comma-separated)
  --skip STEPS         skip these steps (comma-separated)
  --tar FILE           also pack --out into FILE (.tar.gz) at the end
  --libraries          only check that every library the binaries need is in the bundle or is
                       the system's C/C++ runtime; exit 1 if not
  -h, --help           this text

Environment: STRATA_CUBLAS_DIR names the folder of libcublas.so.N when it is not in the usual
places (the CUDA toolkit's lib64, the nvidia-cublas Python wheel, the loader's cache).
EOF
}

BUNDLE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="" SHAPE="llama-3.1-8b" CHECKPOINT="" TIME_LIMIT=480 ONLY="" SKIP="" TAR="" LIBRARIES_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT="${2:?--out needs a folder}"; shift 2 ;;
    --shape) SHAPE="${2:?--shape needs a name}"; shift 2 ;;
    --checkpoint) CHECKPOINT="${2:?--checkpoint needs a folder}"; shift 2 ;;
    --time-limit) TIME_LIMIT="${2:?--time-limit needs seconds}"; shift 2 ;;
    --only) ONLY=",${2:?--only needs steps},"; shift 2 ;;
    --skip) SKIP=",${2:?--skip needs steps},"; shift 2 ;;
    --tar) TAR="${2:?--tar needs a file}"; shift 2 ;;
    --libraries) LIBRARIES_ONLY=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run-checks: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [ ! -x "$BUNDLE/bin/strata-cli" ]; then
    echo "run-checks: $BUNDLE/bin/strata-cli is missing: run this script from the bundle that" \
        "tests/gpu/make-bundle.sh makes, not from the source tree" >&2
    exit 2
fi
case "$TIME_LIMIT" in '' | *[!0-9]*) echo "run-checks: --time-limit takes whole seconds" >&2; exit 2 ;; esac
CHECKPOINT="${CHECKPOINT:-/tmp/strata-$SHAPE-random}"
CUBLAS_SONAME="$(sed -n 's/^cublas_soname=//p' "$BUNDLE/BUNDLE.txt")"

# The loader sees the bundle's libraries and the folder of cuBLAS, nothing the caller had set:
# what the bundle lacks must show up here, not as a crash in the middle of a benchmark.
find_cublas() {
    local d py
    for d in "${STRATA_CUBLAS_DIR:-}" "${CUDA_HOME:-/usr/local/cuda}/lib64" /usr/local/cuda/lib64 \
        /usr/local/cuda-*/lib64 /usr/lib/x86_64-linux-gnu; do
        [ -n "$d" ] && [ -e "$d/$CUBLAS_SONAME" ] && { echo "$d"; return; }
    done
    d="$(ldconfig -p 2>/dev/null | awk -v n="$CUBLAS_SONAME" '$1 == n { print $NF; exit }')"
    [ -n "$d" ] && { dirname "$d"; return; }
    for py in python3 /opt/*/.venv/bin/python3; do
        d="$("$py" -c 'import nvidia, os, sys
for p in nvidia.__path__:
    for sub in ("cu13/lib", "cublas/lib", "cu12/lib"):
        if os.path.exists(os.path.join(p, sub, sys.argv[1])): print(os.path.join(p, sub)); sys.exit()' \
            "$CUBLAS_SONAME" 2>/dev/null)"
        [ -n "$d" ] && { echo "$d"; return; }
    done
}
CUBLAS_DIR="$(find_cublas)"
export LD_LIBRARY_PATH="$BUNDLE/lib${CUBLAS_DIR:+:$CUBLAS_DIR}"
export STRATA_TEST_DATA_DIR="$BUNDLE/data" STRATA_SHARED_DIR="$BUNDLE/shared" QT_QPA_PLATFORM=offscreen

# The system's C and C++ runtime, which every machine the bundle goes to has; the CUDA driver and
# cuBLAS come from the machine's CUDA install. Anything else a binary needs must be in lib/.
RUNTIME_RE='^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1)$'
check_libraries() {
    local bad=0 f line name path
    for f in "$BUNDLE"/bin/* "$BUNDLE"/lib/*; do
        while IFS= read -r line; do
            case "$line" in
            *"=> not found"*)
                name="${line%% =>*}"; name="${name//[[:space:]]/}"
                echo "missing: ${f#"$BUNDLE"/} needs $name, which is neither in the bundle nor on this machine"
                bad=1 ;;
            *"version"*"not found"*)
                echo "too old: ${f#"$BUNDLE"/}: ${line#*: }"; bad=1 ;;
            *"=> /"*)
                name="${line%% =>*}"; name="${name//[[:space:]]/}"
                path="${line#*=> }"; path="${path%% (*}"
                case "$path" in "$BUNDLE"/lib/*) continue ;; esac
                [[ "$name" =~ $RUNTIME_RE ]] && continue
                echo "outside the bundle: ${f#"$BUNDLE"/} takes $name from $path (a bare machine may lack it)"
                bad=1 ;;
            esac
        done < <(ldd "$f" 2>&1)
    done
    [ $bad = 0 ] && echo "libraries: every binary finds what it needs in the bundle or the system's C/C++ runtime"
    return $bad
}
if [ $LIBRARIES_ONLY = 1 ]; then check_libraries; exit $?; fi

[ -n "$OUT" ] || { echo "run-checks: --out DIR is required (see --help)" >&2; exit 2; }
mkdir -p "$OUT" || exit 2
OUT="$(cd "$OUT" && pwd)"
WORK="$OUT/work"
mkdir -p "$WORK"
: >"$OUT/steps.tsv"
START=$(date +%s)
SUMMARY_RESERVE=15

wanted() {
    [ -z "$ONLY" ] || [[ "$ONLY" == *",$1,"* ]] || return 1
    [[ "$SKIP" != *",$1,"* ]]
}
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$OUT/steps.tsv"; }
skip_step() {
    record "$1" skipped 0 "$2"
    printf '== %-11s skipped: %s\n' "$1" "$2"
}
# run_step NAME LIMIT COMMAND...: runs COMMAND with its output in NAME.log, for at most LIMIT
# seconds or what is left of --time-limit, and records how it ended in steps.tsv.
run_step() {
    local name="$1" limit="$2" left t0 rc seconds
    shift 2
    if ! wanted "$name"; then skip_step "$name" "not asked for (--only / --skip)"; return 1; fi
    left=$((TIME_LIMIT - ($(date +%s) - START) - SUMMARY_RESERVE))
    if [ "$left" -lt 10 ]; then skip_step "$name" "no time left in the ${TIME_LIMIT} s limit"; return 1; fi
    [ "$limit" -gt "$left" ] && limit=$left
    printf '== %-11s (at most %d s) %s\n' "$name" "$limit" "$*"
    t0=$(date +%s.%N)
    # Through bash -c, so that a step may be one of this script's (exported) functions.
    {
        echo "\$ $*"
        timeout --kill-after=10 "$limit" bash -c '"$@"' step "$@"
    } >"$OUT/$name.log" 2>&1
    rc=$?
    seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ $rc = 0 ]; then
        record "$name" ok "$seconds" ""
    elif [ $rc = 124 ] || [ $rc = 137 ]; then
        record "$name" "timed out" "$seconds" "stopped at its limit of $limit s"
    else
        record "$name" failed "$seconds" "exit code $rc: $(grep -v '^\$ ' "$OUT/$name.log" | tail -n 1 | cut -c1-200)"
    fi
    tail -n 4 "$OUT/$name.log" | sed 's/^/   | /'
    return $rc
}

environment() {
    echo "date (UTC)   $(date -u '+%Y-%m-%d %H:%M:%S')"
    echo "host         $(uname -srm), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
    echo "C library    $(ldd --version 2>&1 | head -n 1)"
    echo "/tmp         $(df -h /tmp | awk 'NR == 2 { print $4 " free of " $2 }'), $(stat -f -c %T /tmp) file system"
    echo "cuBLAS dir   ${CUBLAS_DIR:-not found (set STRATA_CUBLAS_DIR)}"
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    echo
    cat "$BUNDLE/BUNDLE.txt"
    echo
    if command -v nvidia-smi >/dev/null; then nvidia-smi; else echo "nvidia-smi: not installed"; fi
    echo
    check_libraries
}

CLI="$BUNDLE/bin/strata-cli"
export BUNDLE OUT WORK CLI CUBLAS_DIR RUNTIME_RE
export -f environment check_libraries
run_step environment 60 environment

DEVICE_REASON=""
if run_step devices 60 "$CLI" devices; then
    DEVICE=1
else
    DEVICE=0
    DEVICE_REASON="$(grep -o 'no usable CUDA device.*\|no CUDA backend.*\|cannot load.*' "$OUT/devices.log" | head -n 1)"
    DEVICE_REASON="${DEVICE_REASON:-strata-cli devices failed (see devices.log)}"
    # Not a failure of the checks: the answer to whether the GPU steps can run.
    sed -i '$ d' "$OUT/steps.tsv"
    record devices "no device" 0 "$DEVICE_REASON"
fi

# ctest reads a test file that names the bundle's binaries; without ctest, the tests run one by one.
ctest_gpu() {
    local dir="$WORK/ctest" t env
    mkdir -p "$dir"
    env="QT_QPA_PLATFORM=offscreen;OPENBLAS_NUM_THREADS=2;STRATA_TEST_DATA_DIR=$STRATA_TEST_DATA_DIR;STRATA_SHARED_DIR=$STRATA_SHARED_DIR"
    : >"$dir/CTestTestfile.cmake"
    while read -r t; do
        [ -n "$t" ] || continue
        printf 'add_test(%s "%s")\nset_tests_properties(%s PROPERTIES LABELS "gpu" TIMEOUT "150" ENVIRONMENT "%s")\n' \
            "$t" "$BUNDLE/bin/$t" "$t" "$env" >>"$dir/CTestTestfile.cmake"
    done <"$BUNDLE/gpu-tests.txt"
    if command -v ctest >/dev/null; then
        (cd "$dir" && ctest -L gpu -V --timeout 150)
        return
    fi
    echo "ctest is not installed here: running the gpu tests one by one"
    local failed=0
    while read -r t; do
        [ -n "$t" ] || continue
        echo "---- $t"
        (cd "$dir" && OPENBLAS_NUM_THREADS=2 timeout 150 "$BUNDLE/bin/$t") || { echo "---- $t FAILED"; failed=1; }
    done <"$BUNDLE/gpu-tests.txt"
    return $failed
}
export -f ctest_gpu
run_step ctest 240 ctest_gpu

HAVE_CHECKPOINT=0
run_step checkpoint 240 python3 "$BUNDLE/tools/make_random_checkpoint.py" --shape "$SHAPE" --out "$CHECKPOINT" \
    --tokenizer "$BUNDLE/shared/tokenizers/llama3_1" --reuse && HAVE_CHECKPOINT=1
[ $HAVE_CHECKPOINT = 1 ] || [ ! -e "$CHECKPOINT/strata-random.json" ] || HAVE_CHECKPOINT=1

# model_step NAME LIMIT ARGS...: a strata-cli step on the checkpoint.
model_step() {
    local name="$1" limit="$2"
    shift 2
    if [ $HAVE_CHECKPOINT = 0 ]; then skip_step "$name" "no checkpoint (see checkpoint.log)"; return; fi
    run_step "$name" "$limit" "$CLI" "$@" --model "$CHECKPOINT"
}
gpu_step() {
    if [ $DEVICE = 0 ]; then skip_step "$1" "$DEVICE_REASON"; return; fi
    model_step "$@"
}
model_step info 30 info --vram-budget 6GiB --context 16400 --kv-budget 2GiB
gpu_step bench-4k 120 bench --vram-budget 6GiB --prompt-tokens 4096 --gen-tokens 16 --chunk 1024 --json "$OUT/bench-4k.json"
gpu_step bench-vram 90 bench --vram-budget 40GiB --gen-tokens 64 --json "$OUT/bench-vram.json"
gpu_step bench-16k 180 bench --vram-budget 6GiB --prompt-tokens 16384 --gen-tokens 16 --chunk 1024 \
    --kv-budget 2GiB --kv-ram-budget 4GiB --json "$OUT/bench-16k.json"
gpu_step bench-disk 150 bench --vram-budget 6GiB --ram-budget 8GiB --gen-tokens 16 --json "$OUT/bench-disk.json"
if [ $DEVICE = 0 ]; then
    skip_step media "$DEVICE_REASON"
else
    run_step media 150 "$BUNDLE/bin/bench_media_encoders" --vram-budget 8GiB --dir "$WORK/media" --json "$OUT/media.json"
fi

cpu_bench() {
    python3 "$BUNDLE/tools/make_random_checkpoint.py" --shape tiny --out "$WORK/tiny" \
        --tokenizer "$BUNDLE/shared/tokenizers/llama3_1" --reuse &&
        "$CLI" bench --model "$WORK/tiny" --prompt-tokens 256 --gen-tokens 8 --json "$OUT/bench-cpu-tiny.json"
}
export -f cpu_bench
if [ $DEVICE = 1 ]; then
    skip_step cpu-bench "a device is usable: the GPU benches ran instead"
else
    run_step cpu-bench 60 cpu_bench
fi

rm -rf "$WORK/tiny" "$WORK/media"
python3 "$BUNDLE/tools/summarize.py" "$OUT" --time-limit "$TIME_LIMIT" --elapsed "$(($(date +%s) - START))"
summary_rc=$?
if [ -n "$TAR" ]; then tar -czf "$TAR" -C "$(dirname "$OUT")" --exclude=work "$(basename "$OUT")"; fi
exit $summary_rc
