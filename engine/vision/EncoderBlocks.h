#pragma once
// The pieces the CPU encoders of images (SigLIP) and audio (Voxtral's Whisper-style tower) share:
// fp32 linear layers and LayerNorms read from a checkpoint, and attention in which every position
// sees every other (an image's patches, an audio chunk's frames).
#include <cstdint>
#include <string>
#include <vector>

#include "core/Result.h"

namespace strata {

class Checkpoint;

namespace encoder {

struct Linear {
    std::vector<float> weight;  // [out, in]
    std::vector<float> bias;    // [out]; empty where the layer has none
    int64_t out = 0;
    int64_t in = 0;
};

struct Norm {
    std::vector<float> weight;
    std::vector<float> bias;
};

// A pre-norm transformer layer: x += o(attention(q, k, v of LN(x))); x += fc2(act(fc1(LN(x)))).
struct Layer {
    Norm attnNorm, mlpNorm;
    Linear q, k, v, o, fc1, fc2;
};

enum class Activation { GeluTanh, GeluErf };

struct LayerShape {
    int64_t heads = 0;
    int64_t headDim = 0;
    int64_t intermediate = 0;
    float eps = 1e-6f;
    Activation activation = Activation::GeluTanh;
};

// The exact, erf-based GELU (Whisper, Voxtral); SigLIP uses the tanh approximation.
float geluErf(float x);

Result<Linear> readLinear(const Checkpoint& checkpoint, const std::string& name, int64_t out, int64_t in,
                          bool hasBias = true);
Result<Norm> readNorm(const Checkpoint& checkpoint, const std::string& name, int64_t dim);

// y[n, out] = x[n, in] * W^T + b
void apply(const Linear& l, const float* x, int64_t n, float* y);
// Each of n rows of dim values, normalised over the row, then scaled and shifted.
void layerNorm(const Norm& norm, const float* x, int64_t n, int64_t dim, float eps, float* y);
// q, k, v and out are [n, heads * headDim]; no mask. Each head is two products, Q K^T and P V,
// with V transposed so that both go through the same kernel.
void fullAttention(const float* q, const float* k, const float* v, int64_t n, int64_t heads, int64_t headDim,
                   float* out);

// Runs the layers in turn over x ([n, heads * headDim]), in place.
void runPreNormLayers(const std::vector<Layer>& layers, const LayerShape& shape, int64_t n, std::vector<float>& x);

}  // namespace encoder
}  // namespace strata
