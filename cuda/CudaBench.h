#pragma once
// The raw limits of a CUDA device that `strata-cli bench` sets Strata's figures against, each the
// best of several timed repetitions with CUDA events. Memory is taken directly from the device,
// so run these before a model reserves its VRAM budget.
#include <cstdint>

#include "core/Result.h"

namespace strata {

// Host-to-device copies from pinned memory (256 MiB per copy).
Result<double> rawPinnedToDeviceGBps(int device = 0);
// Device memory bandwidth: a device-to-device copy of 1 GiB moves 2 GiB (read + write).
Result<double> rawDeviceMemoryGBps(int device = 0);
// cuBLAS bf16 GEMM with fp32 accumulation and fp32 output, as Strata's matmul runs it:
// [m, k] x [k, n].
Result<double> rawBf16GemmTflops(int64_t m, int64_t k, int64_t n, int device = 0);
// Device memory in use by everyone (total minus free), for the peak VRAM of a run.
Result<uint64_t> deviceMemoryInUse(int device = 0);

}  // namespace strata
