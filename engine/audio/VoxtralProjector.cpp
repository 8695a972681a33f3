#include "audio/VoxtralProjector.h"

#include "backend/cpu/CpuKernels.h"
#include "format/Checkpoint.h"
#include "runtime/WeightLayout.h"
#include "vision/VisionTensors.h"

namespace strata {

Result<VoxtralProjector> VoxtralProjector::load(const std::filesystem::path& modelDir) {
    VoxtralAudioConfig config;
    STRATA_ASSIGN(config, loadVoxtralAudioConfig(modelDir));
    std::unique_ptr<Checkpoint> checkpoint;
    STRATA_ASSIGN(checkpoint, Checkpoint::open(modelDir));
    return load(*checkpoint, config);
}

Result<VoxtralProjector> VoxtralProjector::load(const Checkpoint& checkpoint, const VoxtralAudioConfig& config) {
    std::string prefix;
    STRATA_ASSIGN(prefix, findTensorPrefix(checkpoint, {"multi_modal_projector.", "model.multi_modal_projector."},
                                           "linear_1.weight", "multimodal projector"));
    VoxtralProjector projector;
    projector.config_ = config;
    const int64_t th = config.textHiddenSize;
    STRATA_ASSIGN(projector.linear1_,
                  readTensorAsFloat(checkpoint, prefix + "linear_1.weight", {th, config.intermediateSize}));
    STRATA_ASSIGN(projector.linear2_, readTensorAsFloat(checkpoint, prefix + "linear_2.weight", {th, th}));
    STRATA_TRY(refuseUnusedTensors(
        checkpoint, [&](const std::string& name) { return name.rfind(prefix, 0) == 0; },
        {prefix + "linear_1.weight", prefix + "linear_2.weight"}, "audio projector"));
    return projector;
}

Result<std::vector<float>> VoxtralProjector::project(std::span<const float> encoderOutput) const {
    const VoxtralAudioConfig& c = config_;
    const int64_t rowWidth = c.intermediateSize, th = c.textHiddenSize;
    if (encoderOutput.empty() || int64_t(encoderOutput.size()) % rowWidth != 0)
        return badInput("the projector expects a multiple of " + std::to_string(c.framesPerToken()) + " frames of " +
                        std::to_string(c.hiddenSize) + " encoder values, not " +
                        std::to_string(encoderOutput.size()) + " values");
    // Frames are stored row after row, so consecutive frames concatenated are already the
    // projector's input rows: no copy is needed.
    const int64_t tokens = int64_t(encoderOutput.size()) / rowWidth;
    std::vector<float> hidden(size_t(tokens * th));
    cpu::matmul(encoderOutput.data(), tokens, WeightRef{linear1_.data(), DType::F32, th, rowWidth}, hidden.data());
    for (float& x : hidden) x = cpu::geluErf(x);
    std::vector<float> out(size_t(tokens * th));
    cpu::matmul(hidden.data(), tokens, WeightRef{linear2_.data(), DType::F32, th, th}, out.data());
    return out;
}

}  // namespace strata
