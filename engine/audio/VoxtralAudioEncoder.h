#pragma once
// Voxtral's Whisper-style audio encoder on the CPU, in fp32: two 1-D convolutions over the
// log-mel frames (the second halving the frame rate) with learned positions, pre-norm
// transformer layers with bidirectional attention, a final LayerNorm.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "audio/VoxtralAudioConfig.h"
#include "core/Result.h"
#include "vision/EncoderBlocks.h"

namespace strata {

class Checkpoint;

class VoxtralAudioEncoder {
public:
    // Reads config.json and the audio tower's tensors of a checkpoint folder.
    static Result<std::unique_ptr<VoxtralAudioEncoder>> load(const std::filesystem::path& modelDir);
    // Holds no reference to the checkpoint: its tensors are copied into RAM as fp32.
    static Result<std::unique_ptr<VoxtralAudioEncoder>> load(const Checkpoint& checkpoint,
                                                             const VoxtralAudioConfig& config);

    const VoxtralAudioConfig& config() const { return config_; }

    // One chunk of log-mel features, [numMelBins, chunkFrames] row-major (bin-major, as
    // Whisper's feature extractor lays them out), padded to the full chunk. Longer audio is cut
    // into chunks that are encoded one by one and whose outputs are concatenated.
    // Returns [maxSourcePositions, hiddenSize], row-major.
    Result<std::vector<float>> encode(const float* melChunk) const;

private:
    using Linear = encoder::Linear;
    using Norm = encoder::Norm;
    using Layer = encoder::Layer;

    VoxtralAudioEncoder() = default;
    static Result<Linear> readConv(const Checkpoint& checkpoint, const std::string& name, int64_t out, int64_t in);
    // A kernel-3, padding-1 convolution over time as one product: each output frame's input
    // window is gathered channel-major, matching the [out, in, 3] weight.
    static void convolve(const Linear& conv, const float* x, int64_t inFrames, int64_t stride, bool channelMajorInput,
                         int64_t outFrames, float* y);

    VoxtralAudioConfig config_;
    Linear conv1_, conv2_;          // weights as [out, in * 3]
    std::vector<float> positions_;  // [maxSourcePositions, hidden]
    std::vector<Layer> layers_;
    Norm finalNorm_;
};

}  // namespace strata
