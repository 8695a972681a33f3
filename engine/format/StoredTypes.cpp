#include "format/StoredTypes.h"

#include "format/Mxfp4.h"

namespace strata {
namespace {

void widenRow(DType t, const void* row, int64_t count, float* dst) { widenToFloat(row, t, size_t(count), dst); }

void readF32(const void* row, const uint8_t*, int64_t count, float* dst) { widenRow(DType::F32, row, count, dst); }
void readF16(const void* row, const uint8_t*, int64_t count, float* dst) { widenRow(DType::F16, row, count, dst); }
void readBf16(const void* row, const uint8_t*, int64_t count, float* dst) { widenRow(DType::BF16, row, count, dst); }
void readQ8_0(const void* row, const uint8_t*, int64_t count, float* dst) { widenRow(DType::Q8_0, row, count, dst); }
void readMxfp4(const void* row, const uint8_t* scales, int64_t count, float* dst) {
    dequantizeMxfp4Groups(static_cast<const uint8_t*>(row), scales, count / kMxfp4BlockElements, dst);
}

}  // namespace

RowReader rowReader(DType t) {
    switch (t) {
    case DType::F32: return readF32;
    case DType::F16: return readF16;
    case DType::BF16: return readBf16;
    case DType::U8: return nullptr;
    case DType::Q8_0: return readQ8_0;
    case DType::MXFP4: return readMxfp4;
    }
    return nullptr;
}

}  // namespace strata
