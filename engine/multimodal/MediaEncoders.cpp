#include "multimodal/MediaEncoders.h"

#include <nlohmann/json.hpp>

#include "audio/VoxtralAudioEncoder.h"
#include "format/Checkpoint.h"
#include "arch/ModelConfig.h"
#include "vision/EncoderConfigJson.h"
#include "vision/SiglipVisionEncoder.h"

namespace strata {

MediaEncoders::MediaEncoders(Ops& ops) : ops_(ops) {}
MediaEncoders::~MediaEncoders() = default;

Result<std::unique_ptr<MediaEncoders>> MediaEncoders::load(const std::filesystem::path& modelPath, Ops& ops) {
    std::unique_ptr<MediaEncoders> encoders(new MediaEncoders(ops));
    encoders->modelDir_ = modelPath;
    std::error_code ec;
    if (!std::filesystem::is_directory(modelPath, ec)) return encoders;
    std::string text;
    STRATA_ASSIGN(text, readConfigJson(modelPath));
    const std::string source = (modelPath / "config.json").string();
    nlohmann::json root;
    STRATA_ASSIGN(root, encoder::parseConfigObject(text, source));
    if (root.contains("vision_config")) {
        Gemma3VisionConfig vision;
        STRATA_ASSIGN(vision, parseGemma3VisionConfig(text, source));
        encoders->vision_ = vision;
    }
    if (root.contains("audio_config")) {
        VoxtralAudioConfig audio;
        STRATA_ASSIGN(audio, parseVoxtralAudioConfig(text, source));
        encoders->audio_ = audio;
    }
    return encoders;
}

Status MediaEncoders::loadVision() {
    if (siglip_) return {};
    auto tower = SiglipVisionEncoder::load(ops_, modelDir_, *vision_);
    STRATA_TRY(tower);
    auto projector = Gemma3Projector::load(tower.value()->tower().checkpoint(), *vision_);
    STRATA_TRY(projector);
    imageProjector_ = std::move(projector.value());
    siglip_ = std::move(tower.value());
    return {};
}

Status MediaEncoders::loadAudio() {
    if (audioTower_) return {};
    auto tower = VoxtralAudioEncoder::load(ops_, modelDir_, *audio_);
    STRATA_TRY(tower);
    auto projector = VoxtralProjector::load(tower.value()->tower().checkpoint(), *audio_);
    STRATA_TRY(projector);
    audioProjector_ = std::move(projector.value());
    audioTower_ = std::move(tower.value());
    return {};
}

Result<std::vector<float>> MediaEncoders::encodeImage(std::span<const float> pixels) {
    if (!vision_) return badInput("this model takes no images: its config.json has no vision_config");
    if (int64_t(pixels.size()) != vision_->pixelCount())
        return badInput("an image for this model must be " + std::to_string(vision_->imageSize) + "x" +
                        std::to_string(vision_->imageSize) + " pixels in " + std::to_string(vision_->numChannels) +
                        " channels (" + std::to_string(vision_->pixelCount()) + " values), not " +
                        std::to_string(pixels.size()) + " values");
    STRATA_TRY(loadVision());
    auto patches = siglip_->encode(pixels.data());
    STRATA_TRY(patches);
    return imageProjector_->project(patches.value());
}

Result<std::vector<float>> MediaEncoders::encodeAudio(std::span<const float> logMel, int64_t chunks) {
    if (!audio_) return badInput("this model takes no audio: its config.json has no audio_config");
    const int64_t perChunk = audio_->numMelBins * audio_->chunkFrames();
    if (chunks <= 0 || int64_t(logMel.size()) != chunks * perChunk)
        return badInput("audio features for this model come in chunks of " + std::to_string(audio_->numMelBins) +
                        " mel bins x " + std::to_string(audio_->chunkFrames()) + " frames; got " +
                        std::to_string(logMel.size()) + " values for " + std::to_string(chunks) + " chunks");
    STRATA_TRY(loadAudio());
    auto frames = audioTower_->encode(logMel.data(), chunks);
    STRATA_TRY(frames);
    return audioProjector_->project(frames.value());
}

}  // namespace strata
