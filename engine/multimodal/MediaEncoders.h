#pragma once
// The encoders a multimodal checkpoint carries beside its decoder: Gemma 3's SigLIP tower and
// projector for images, Voxtral's audio tower and projector for audio. Each turns one input into
// rows of the decoder's embedding width, which take the place of the input's placeholder tokens
// in the prompt (see MediaPrompt.h).
//
// Only the configuration is read up front; an encoder's tensors are checked the first time it is
// needed, and its weights are read by each encode (see EncoderTower), so a text-only question to
// a multimodal model costs nothing extra. The towers run on the decoder's backend; the
// projectors, a small share of the work, on the CPU.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "audio/VoxtralAudioConfig.h"
#include "audio/VoxtralProjector.h"
#include "core/Result.h"
#include "vision/Gemma3Projector.h"
#include "vision/Gemma3VisionConfig.h"

namespace strata {

class Ops;
class SiglipVisionEncoder;
class VoxtralAudioEncoder;

class MediaEncoders {
public:
    // Reads the encoder sections of modelDir/config.json (vision_config, audio_config). A model
    // without them gives encoders that take nothing; a malformed section is an error. A GGUF
    // file takes nothing (its vision tower ships apart).
    // The towers run on `ops`, which must outlive the encoders.
    static Result<std::unique_ptr<MediaEncoders>> load(const std::filesystem::path& modelPath, Ops& ops);
    ~MediaEncoders();

    bool takesImages() const { return vision_.has_value(); }
    bool takesAudio() const { return audio_.has_value(); }
    const Gemma3VisionConfig& visionConfig() const { return *vision_; }
    const VoxtralAudioConfig& audioConfig() const { return *audio_; }
    int64_t tokensPerImage() const { return vision_ ? vision_->mmTokensPerImage : 0; }
    int64_t tokensPerAudioChunk() const { return audio_ ? audio_->tokensPerChunk() : 0; }

    // One image's pixels (channels x size x size, planar, as ingest's gemma3PixelValues) as
    // [tokensPerImage, text hidden] rows.
    Result<std::vector<float>> encodeImage(std::span<const float> pixels);
    // Log-mel features of `chunks` chunks ([chunks][mel bins][chunk frames]) as
    // [chunks * tokensPerAudioChunk, text hidden] rows: each chunk encoded on its own, the
    // outputs projected together.
    Result<std::vector<float>> encodeAudio(std::span<const float> logMel, int64_t chunks);

    // The towers, once loaded (null before the first image or recording).
    SiglipVisionEncoder* imageTower() { return siglip_.get(); }
    VoxtralAudioEncoder* audioTower() { return audioTower_.get(); }

private:
    explicit MediaEncoders(Ops& ops);
    Status loadVision();
    Status loadAudio();

    Ops& ops_;
    std::filesystem::path modelDir_;
    std::optional<Gemma3VisionConfig> vision_;
    std::optional<VoxtralAudioConfig> audio_;
    std::unique_ptr<SiglipVisionEncoder> siglip_;
    std::optional<Gemma3Projector> imageProjector_;
    std::unique_ptr<VoxtralAudioEncoder> audioTower_;
    std::optional<VoxtralProjector> audioProjector_;
};

}  // namespace strata
