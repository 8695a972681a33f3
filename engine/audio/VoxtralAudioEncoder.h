#pragma once
// Voxtral's Whisper-style audio encoder on a backend: two 1-D convolutions over the log-mel
// frames (the second halving the frame rate) with learned positions, pre-norm transformer layers
// with bidirectional attention, a final LayerNorm (see EncoderTower for how its weights are
// placed and streamed).
#include <filesystem>
#include <memory>
#include <vector>

#include "audio/VoxtralAudioConfig.h"
#include "core/Result.h"
#include "vision/EncoderTower.h"

namespace strata {

class VoxtralAudioEncoder {
public:
    // Reads config.json and checks the audio tower's tensors of a checkpoint folder; their
    // weights are read by each encode.
    static Result<std::unique_ptr<VoxtralAudioEncoder>> load(Ops& ops, const std::filesystem::path& modelDir);
    static Result<std::unique_ptr<VoxtralAudioEncoder>> load(Ops& ops, const std::filesystem::path& modelDir,
                                                             const VoxtralAudioConfig& config);

    const VoxtralAudioConfig& config() const { return config_; }
    EncoderTower& tower() { return *tower_; }

    // `chunks` chunks of log-mel features, each [numMelBins, chunkFrames] row-major (bin-major,
    // as Whisper's feature extractor lays them out) and padded to the full chunk, encoded each on
    // its own. Returns [chunks * maxSourcePositions, hiddenSize], row-major.
    Result<std::vector<float>> encode(const float* melChunks, int64_t chunks = 1);

private:
    VoxtralAudioEncoder() = default;

    VoxtralAudioConfig config_;
    std::unique_ptr<EncoderTower> tower_;
};

}  // namespace strata
