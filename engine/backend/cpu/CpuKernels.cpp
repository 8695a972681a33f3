#include "backend/cpu/CpuKernels.h"

#include <cmath>

namespace strata::cpu {

void rmsNorm(const float* x, int64_t rows, int64_t dim, const float* w, float eps, bool addOne, float* y) {
#pragma omp parallel for schedule(static) if (rows > 4)
    for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x + r * dim;
        float* yr = y + r * dim;
        double sum = 0;
        for (int64_t i = 0; i < dim; ++i) sum += double(xr[i]) * xr[i];
        const float inv = 1.0f / std::sqrt(float(sum / double(dim)) + eps);
        for (int64_t i = 0; i < dim; ++i) {
            const float scale = addOne ? 1.0f + w[i] : w[i];
            yr[i] = xr[i] * inv * scale;
        }
    }
}

}  // namespace strata::cpu
