#include "MediaTurn.h"

#include "multimodal/MediaPrompt.h"

namespace strata {

Result<SavedJob> mediaTurnJob(const ModelConfig& config, const Tokenizer& tokenizer, MediaEncoders& encoders,
                              const std::vector<PromptPart>& parts, const std::string& message,
                              const PromptFormat& format, const MediaTurnOptions& options) {
    std::vector<std::vector<float>> images, audio;
    std::vector<int64_t> audioRows;
    for (const PromptPart& part : parts) {
        if (!isMediaPart(part.kind)) continue;
        if (options.status) options.status("encoding " + part.file.filename().string());
        auto rows = part.kind == PartKind::Image ? encoders.encodeImage(part.pixelValues)
                                                 : encoders.encodeAudio(part.audio.logMel, part.audio.chunks);
        if (!rows.ok()) return Error{rows.error().kind, part.file.string() + ": " + rows.error().message};
        auto& list = part.kind == PartKind::Image ? images : audio;
        if (part.kind == PartKind::Audio) audioRows.push_back(int64_t(rows.value().size()) / config.hiddenSize);
        list.push_back(std::move(rows.value()));
    }

    if (!images.empty() && !audio.empty())
        return badInput("images and recordings cannot go into one question yet; ask about them separately");
    SavedJob job;
    job.chat = format.chat;
    job.enableThinking = format.enableThinking;
    if (options.transcribe) {
        if (audio.size() != 1 || !images.empty() || parts.size() != 1)
            return badInput("a transcription takes exactly one recording and nothing else");
        STRATA_ASSIGN(job.promptIds, voxtralTranscriptionIds(tokenizer, encoders.audioConfig(), audioRows.front(),
                                                             options.language));
        job.chat = true;
    } else if (!audio.empty()) {
        if (!format.chat) return badInput("audio needs the model's chat format (Mistral's): a plain-text prompt cannot hold it");
        STRATA_ASSIGN(job.promptIds, voxtralChatIds(tokenizer, encoders.audioConfig(), audioRows, message));
    } else {
        std::string imageText, text;
        STRATA_ASSIGN(imageText, gemma3ImageText(tokenizer, encoders.visionConfig()));
        for (size_t i = 0; i < images.size(); ++i) text += imageText;
        STRATA_ASSIGN(job.promptIds, firstTurnIds(config, tokenizer, text + message, format));
    }
    const bool imagesGiven = !images.empty();
    const int32_t placeholder =
        imagesGiven ? encoders.visionConfig().imageTokenId : encoders.audioConfig().audioTokenId;
    auto& media = imagesGiven ? images : audio;
    std::vector<EmbeddedSpan> spans;
    STRATA_ASSIGN(spans, placeMedia(job.promptIds, placeholder, media, config.hiddenSize, imagesGiven));
    for (size_t i = 0; i < spans.size(); ++i)
        job.media.push_back({spans[i].offset, spans[i].rows, spans[i].bidirectional, std::move(media[i])});
    return job;
}

}  // namespace strata
