// The two halves of the MXFP4 matrix product (experts in the Hugging Face layout: per row,
// cols/32 groups of 16 bytes, byte j holding element 2j in its low nibble and 2j+1 in its high
// one, and one E8M0 scale byte per group; value = E2M1[nibble] * 2^(scale - 127)).
//
// Decoding: the 16 E2M1 values sit in a shared-memory table (16 words in 16 banks, so a warp's
// lookups never conflict), and each weight is table[nibble] * 2^(scale - 127) in fp32. That
// product is exact: an E2M1 value has at most two significant bits and the scale is a power of
// two, so the result is the CPU's dequantised weight (format/Mxfp4.cpp) bit for bit, -0 and the
// subnormal 2^-127 of scale byte 0 included. 2^128 (scale byte 255) is not a float: for it the
// table's second half holds the values doubled and the scale is 2^127, so that nibble 0 gives 0
// (ldexp(0, 128)) rather than 0 * infinity, and every other nibble overflows to infinity as
// ldexp does.
//
// The GEMV (decode, n <= kMxfp4GemvMaxTokens) reads the packed bytes once: one warp per two output
// rows, lane l taking groups l, l + 32, ... of both, so that a warp's 16-byte loads of a row cover
// 512 contiguous bytes. Each group's x values (fp32, from L1) serve both rows; each lane keeps
// 2 * n fp32 partial sums, reduced across the warp at the end. The weight bytes read are 4.25 bits
// a weight, a quarter of bf16's.
//
// The widening kernel writes groups as bf16 for the cuBLAS path of larger n (CudaGemm.cpp). bf16
// has fp32's exponent range and 8 significant bits, so every MXFP4 value, the infinities of the
// largest scale bytes included, converts exactly: the low 16 bits of the fp32 value are zero.
#include <algorithm>
#include <cstdint>
#include <string>

#include "CudaDevice.h"
#include "CudaGemm.h"

namespace strata {
namespace {

constexpr int kWarp = 32;
constexpr int kGemvWarps = 4;
constexpr int kRowsPerWarp = 2;
constexpr int kGroupElements = 32;
constexpr int kGroupBytes = 16;

// E2M1 in Hugging Face's order (index 8 is -0), then the same values doubled (scale byte 255).
__constant__ float kFp4Table[32] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                    -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f,
                                    0.0f,  1.0f,  2.0f,  3.0f,  4.0f,  6.0f,  8.0f,  12.0f,
                                    -0.0f, -1.0f, -2.0f, -3.0f, -4.0f, -6.0f, -8.0f, -12.0f};

// A group's scale as (table offset, factor): 2^(s - 127) over the plain table, and for s = 255
// 2^127 over the doubled one. Byte 0 gives the subnormal 2^-127.
struct GroupScale {
    int table;
    float factor;
};

__device__ __forceinline__ GroupScale groupScale(uint32_t s) {
    const uint32_t bits = s == 0 ? 0x00400000u : (min(s, 254u) << 23);
    return {s == 255 ? 16 : 0, __uint_as_float(bits)};
}

// The 16 bytes of a group as four little-endian words.
template <bool Aligned>
__device__ __forceinline__ void loadGroup(const uint8_t* __restrict__ p, uint32_t (&word)[4]) {
    if constexpr (Aligned) {
        const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
        word[0] = v.x, word[1] = v.y, word[2] = v.z, word[3] = v.w;
    } else {
        for (int k = 0; k < 4; ++k)
            word[k] = uint32_t(p[4 * k]) | uint32_t(p[4 * k + 1]) << 8 | uint32_t(p[4 * k + 2]) << 16 |
                      uint32_t(p[4 * k + 3]) << 24;
    }
}

template <bool Aligned>
__device__ __forceinline__ float4 loadX4(const float* __restrict__ p) {
    if constexpr (Aligned) return __ldg(reinterpret_cast<const float4*>(p));
    else return make_float4(p[0], p[1], p[2], p[3]);
}

__device__ __forceinline__ float warpSum(float v) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

__device__ __forceinline__ void loadTable(float* table) {
    if (threadIdx.x < 32) table[threadIdx.x] = kFp4Table[threadIdx.x];
    __syncthreads();
}

// y[t, row] for t < N and the warp's rows [row0, row0 + kRowsPerWarp). Aligned: blocks and x start
// on 16 bytes (so every group and every x quad does, cols being a multiple of 32).
template <int N, bool Aligned>
__global__ void __launch_bounds__(kGemvWarps * kWarp)
    mxfp4GemvKernel(const float* __restrict__ x, int64_t rows, int64_t cols, const uint8_t* __restrict__ blocks,
                    const uint8_t* __restrict__ scales, float* __restrict__ y) {
    __shared__ float table[32];
    loadTable(table);
    const int lane = threadIdx.x % kWarp;
    const int64_t row0 = (int64_t(blockIdx.x) * kGemvWarps + threadIdx.x / kWarp) * kRowsPerWarp;
    if (row0 >= rows) return;  // the whole warp, after the block's only barrier
    const int64_t groups = cols / kGroupElements;

    float acc[kRowsPerWarp][N];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
        for (int t = 0; t < N; ++t) acc[r][t] = 0.0f;

    for (int64_t g = lane; g < groups; g += kWarp) {
        uint32_t word[kRowsPerWarp][4];
        int table0[kRowsPerWarp];
        float factor[kRowsPerWarp];
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
            // A warp past the last row re-reads that row; its sums are never written.
            const int64_t at = min(row0 + r, rows - 1) * groups + g;
            loadGroup<Aligned>(blocks + at * kGroupBytes, word[r]);
            const GroupScale scale = groupScale(scales[at]);
            table0[r] = scale.table;
            factor[r] = scale.factor;
        }
        const float* xg = x + g * kGroupElements;
        // Four elements (two bytes) at a time: quad q holds elements 4q .. 4q + 3.
#pragma unroll
        for (int q = 0; q < 8; ++q) {
            float4 xv[N];
#pragma unroll
            for (int t = 0; t < N; ++t) xv[t] = loadX4<Aligned>(xg + t * cols + 4 * q);
#pragma unroll
            for (int r = 0; r < kRowsPerWarp; ++r) {
                const uint32_t bits = word[r][q / 2] >> ((q % 2) * 16);
                const int base = table0[r];
                const float f = factor[r];
                const float w0 = table[base + (bits & 15u)] * f;
                const float w1 = table[base + ((bits >> 4) & 15u)] * f;
                const float w2 = table[base + ((bits >> 8) & 15u)] * f;
                const float w3 = table[base + ((bits >> 12) & 15u)] * f;
#pragma unroll
                for (int t = 0; t < N; ++t) {
                    float a = acc[r][t];
                    a = fmaf(w0, xv[t].x, a);
                    a = fmaf(w1, xv[t].y, a);
                    a = fmaf(w2, xv[t].z, a);
                    a = fmaf(w3, xv[t].w, a);
                    acc[r][t] = a;
                }
            }
        }
    }

#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
        for (int t = 0; t < N; ++t) acc[r][t] = warpSum(acc[r][t]);
    // Every lane holds every sum now; lane t writes token t's.
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
        for (int t = 0; t < N; ++t)
            if (lane == t && row0 + r < rows) y[t * rows + row0 + r] = acc[r][t];
}

// One thread per group: 16 bytes and a scale in, 32 bf16 (64 bytes, four 16-byte stores) out.
template <bool Aligned>
__global__ void mxfp4ToBf16Kernel(const uint8_t* __restrict__ blocks, const uint8_t* __restrict__ scales,
                                  int64_t groups, uint16_t* __restrict__ dst) {
    __shared__ float table[32];
    loadTable(table);
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t g = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; g < groups; g += stride) {
        uint32_t word[4];
        loadGroup<Aligned>(blocks + g * kGroupBytes, word);
        const GroupScale scale = groupScale(scales[g]);
        uint32_t pairs[16];  // element 2b in the low half (the lower address), 2b + 1 in the high one
#pragma unroll
        for (int b = 0; b < 16; ++b) {
            const uint32_t byte = (word[b / 4] >> (8 * (b % 4))) & 0xffu;
            const float lo = table[scale.table + (byte & 15u)] * scale.factor;
            const float hi = table[scale.table + (byte >> 4)] * scale.factor;
            pairs[b] = (__float_as_uint(lo) >> 16) | (__float_as_uint(hi) & 0xffff0000u);
        }
        uint4* out = reinterpret_cast<uint4*>(dst + g * kGroupElements);
#pragma unroll
        for (int k = 0; k < 4; ++k)
            out[k] = make_uint4(pairs[4 * k], pairs[4 * k + 1], pairs[4 * k + 2], pairs[4 * k + 3]);
    }
}

template <int N>
void launchGemv(const float* dX, int64_t rows, int64_t cols, const uint8_t* blocks, const uint8_t* scales, float* dY,
                bool aligned, cudaStream_t stream) {
    constexpr int64_t rowsPerBlock = kGemvWarps * kRowsPerWarp;
    const unsigned grid = unsigned((rows + rowsPerBlock - 1) / rowsPerBlock);
    if (aligned)
        mxfp4GemvKernel<N, true><<<grid, kGemvWarps * kWarp, 0, stream>>>(dX, rows, cols, blocks, scales, dY);
    else
        mxfp4GemvKernel<N, false><<<grid, kGemvWarps * kWarp, 0, stream>>>(dX, rows, cols, blocks, scales, dY);
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

Status cudaMxfp4Gemv(const float* dX, int64_t n, const void* dBlocks, const uint8_t* dScales, int64_t rows,
                     int64_t cols, float* dY, cudaStream_t stream) {
    if (n < 0 || n > kMxfp4GemvMaxTokens)
        return badInput("cudaMxfp4Gemv: token count " + std::to_string(n) + " is outside 0.." +
                        std::to_string(kMxfp4GemvMaxTokens));
    if (rows <= 0 || cols <= 0 || cols % kGroupElements != 0 || rows > (int64_t(1) << 31) ||
        cols > (int64_t(1) << 31))
        return badInput("cudaMxfp4Gemv: weight shape [" + std::to_string(rows) + ", " + std::to_string(cols) +
                        "] is out of range (columns must be a multiple of 32)");
    if (n == 0) return Status::success();
    if (!dX || !dBlocks || !dScales || !dY)
        return badInput("cudaMxfp4Gemv: null input, weight, scale or output pointer");
    const auto* blocks = static_cast<const uint8_t*>(dBlocks);
    const bool aligned = aligned16(dX) && aligned16(blocks);
    switch (n) {
    case 1: launchGemv<1>(dX, rows, cols, blocks, dScales, dY, aligned, stream); break;
    case 2: launchGemv<2>(dX, rows, cols, blocks, dScales, dY, aligned, stream); break;
    case 3: launchGemv<3>(dX, rows, cols, blocks, dScales, dY, aligned, stream); break;
    case 4: launchGemv<4>(dX, rows, cols, blocks, dScales, dY, aligned, stream); break;
    case 5: launchGemv<5>(dX, rows, cols, blocks, dScales, dY, aligned, stream); break;
    case 6: launchGemv<6>(dX, rows, cols, blocks, dScales, dY, aligned, stream); break;
    case 7: launchGemv<7>(dX, rows, cols, blocks, dScales, dY, aligned, stream); break;
    default: launchGemv<8>(dX, rows, cols, blocks, dScales, dY, aligned, stream); break;
    }
    return cudaStatus(cudaGetLastError(), "cudaMxfp4Gemv launch");
}

Status cudaMxfp4ToBf16(const void* dBlocks, const uint8_t* dScales, int64_t groups, void* dDst, cudaStream_t stream) {
    if (groups < 0) return badInput("cudaMxfp4ToBf16: group count " + std::to_string(groups) + " is negative");
    if (groups == 0) return Status::success();
    if (!dBlocks || !dScales || !dDst) return badInput("cudaMxfp4ToBf16: null block, scale or output pointer");
    if (!aligned16(dDst)) return badInput("cudaMxfp4ToBf16: the output must start on 16 bytes");
    constexpr int threads = 256;
    const unsigned grid = unsigned(std::min<int64_t>((groups + threads - 1) / threads, 8192));
    const auto* blocks = static_cast<const uint8_t*>(dBlocks);
    auto* dst = static_cast<uint16_t*>(dDst);
    if (aligned16(blocks)) mxfp4ToBf16Kernel<true><<<grid, threads, 0, stream>>>(blocks, dScales, groups, dst);
    else mxfp4ToBf16Kernel<false><<<grid, threads, 0, stream>>>(blocks, dScales, groups, dst);
    return cudaStatus(cudaGetLastError(), "cudaMxfp4ToBf16 launch");
}

}  // namespace strata
