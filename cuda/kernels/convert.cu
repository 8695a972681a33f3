// fp32 -> bf16 / f16 conversion of activations ahead of a 16-bit matrix product. It moves
// n * cols * 6 bytes, next to the rows * cols * 2 weight bytes the product reads, so a plain
// grid-stride loop is enough and needs no alignment cases.
#include <cuda_fp16.h>

#include <cstdint>
#include <string>

#include "CudaDevice.h"
#include "CudaGemm.h"

namespace strata {
namespace {

// The same bit arithmetic as floatToBf16 in core/DType.h, so device and host round identically.
__device__ __forceinline__ uint16_t toBf16(float f) {
    uint32_t bits = __float_as_uint(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return uint16_t(bits >> 16);
}

struct ToBf16 {
    __device__ __forceinline__ uint16_t operator()(float f) const { return toBf16(f); }
};
struct ToF16 {
    __device__ __forceinline__ uint16_t operator()(float f) const { return __half_as_ushort(__float2half_rn(f)); }
};

template <typename Convert>
__global__ void convertKernel(const float* __restrict__ src, int64_t count, uint16_t* __restrict__ dst) {
    const Convert convert;
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) dst[i] = convert(src[i]);
}

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;  // enough to fill any current GPU; the loop covers the rest

}  // namespace

Status cudaConvertFromF32(const float* dSrc, int64_t count, DType to, void* dDst, cudaStream_t stream) {
    if (count < 0) return badInput("cudaConvertFromF32: element count " + std::to_string(count) + " is negative");
    if (count == 0) return Status::success();
    if (!dSrc || !dDst) return badInput("cudaConvertFromF32: null source or destination");
    const int64_t wanted = (count + kThreads - 1) / kThreads;
    const dim3 grid{unsigned(wanted < kMaxBlocks ? wanted : kMaxBlocks)};
    auto* dst = static_cast<uint16_t*>(dDst);
    switch (to) {
    case DType::BF16: convertKernel<ToBf16><<<grid, kThreads, 0, stream>>>(dSrc, count, dst); break;
    case DType::F16: convertKernel<ToF16><<<grid, kThreads, 0, stream>>>(dSrc, count, dst); break;
    default: return badInput("cudaConvertFromF32: the target type must be BF16 or F16");
    }
    return cudaStatus(cudaGetLastError(), "cudaConvertFromF32 launch");
}

}  // namespace strata
