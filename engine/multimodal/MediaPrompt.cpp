#include "multimodal/MediaPrompt.h"

namespace strata {

namespace {

Result<int32_t> tokenWithId(const Tokenizer& tokenizer, const std::string& name, int32_t expected) {
    const auto id = tokenizer.tokenId(name);
    if (!id) return badInput("the tokenizer has no " + name + " token, which this model's prompts need");
    if (expected >= 0 && *id != expected)
        return badInput("the tokenizer numbers " + name + " " + std::to_string(*id) + " but config.json says " +
                        std::to_string(expected));
    return *id;
}

}  // namespace

Result<std::string> gemma3ImageText(const Tokenizer& tokenizer, const Gemma3VisionConfig& config) {
    STRATA_TRY(tokenWithId(tokenizer, "<start_of_image>", config.boiTokenId));
    STRATA_TRY(tokenWithId(tokenizer, "<end_of_image>", config.eoiTokenId));
    STRATA_TRY(tokenWithId(tokenizer, "<image_soft_token>", config.imageTokenId));
    std::string text = "\n\n<start_of_image>";
    text.reserve(text.size() + size_t(config.mmTokensPerImage) * 18 + 18);
    for (int64_t i = 0; i < config.mmTokensPerImage; ++i) text += "<image_soft_token>";
    return text + "<end_of_image>\n\n";
}

Result<MistralControlIds> mistralControlIds(const Tokenizer& tokenizer) {
    MistralControlIds ids;
    ids.bos = tokenizer.bosId();
    const auto eos = tokenizer.eosIds();
    if (ids.bos < 0 || eos.empty()) return badInput("the tokenizer has no <s> or </s> token");
    ids.eos = eos.front();
    STRATA_ASSIGN(ids.inst, tokenWithId(tokenizer, "[INST]", -1));
    STRATA_ASSIGN(ids.instEnd, tokenWithId(tokenizer, "[/INST]", -1));
    auto optional = [&](const char* name) { return tokenizer.tokenId(name).value_or(-1); };
    ids.beginAudio = optional("[BEGIN_AUDIO]");
    ids.audio = optional("[AUDIO]");
    ids.transcribe = optional("[TRANSCRIBE]");
    return ids;
}

namespace {

Status requireAudioTokens(const MistralControlIds& ids, const VoxtralAudioConfig& config) {
    if (ids.beginAudio < 0 || ids.audio < 0)
        return badInput("the tokenizer (tekken.json) has no [BEGIN_AUDIO] / [AUDIO] tokens; Voxtral's own "
                        "tekken.json is needed for audio");
    if (ids.audio != config.audioTokenId)
        return badInput("the tokenizer numbers [AUDIO] " + std::to_string(ids.audio) + " but config.json says " +
                        std::to_string(config.audioTokenId));
    return {};
}

void appendAudio(const MistralControlIds& ids, int64_t rows, std::vector<int32_t>& out) {
    out.push_back(ids.beginAudio);
    out.insert(out.end(), size_t(rows), ids.audio);
}

}  // namespace

Result<std::vector<int32_t>> voxtralChatIds(const Tokenizer& tokenizer, const VoxtralAudioConfig& config,
                                            std::span<const int64_t> audioRows, std::string_view text) {
    MistralControlIds ids;
    STRATA_ASSIGN(ids, mistralControlIds(tokenizer));
    if (!audioRows.empty()) STRATA_TRY(requireAudioTokens(ids, config));
    std::vector<int32_t> out{ids.bos, ids.inst};
    for (int64_t rows : audioRows) appendAudio(ids, rows, out);
    const std::vector<int32_t> words = tokenizer.encode(text, false);
    out.insert(out.end(), words.begin(), words.end());
    out.push_back(ids.instEnd);
    return out;
}

Result<std::vector<int32_t>> voxtralTranscriptionIds(const Tokenizer& tokenizer, const VoxtralAudioConfig& config,
                                                     int64_t audioRows, std::string_view language) {
    MistralControlIds ids;
    STRATA_ASSIGN(ids, mistralControlIds(tokenizer));
    STRATA_TRY(requireAudioTokens(ids, config));
    if (ids.transcribe < 0) return badInput("the tokenizer (tekken.json) has no [TRANSCRIBE] token");
    std::vector<int32_t> out{ids.bos, ids.inst};
    appendAudio(ids, audioRows, out);
    out.push_back(ids.instEnd);
    if (!language.empty()) {
        const std::vector<int32_t> lang = tokenizer.encode("lang:" + std::string(language), false);
        out.insert(out.end(), lang.begin(), lang.end());
    }
    out.push_back(ids.transcribe);
    return out;
}

Result<std::vector<int32_t>> mistralFollowUpIds(const Tokenizer& tokenizer, std::string_view text) {
    MistralControlIds ids;
    STRATA_ASSIGN(ids, mistralControlIds(tokenizer));
    std::vector<int32_t> out{ids.eos, ids.inst};
    const std::vector<int32_t> words = tokenizer.encode(text, false);
    out.insert(out.end(), words.begin(), words.end());
    out.push_back(ids.instEnd);
    return out;
}

Result<std::vector<EmbeddedSpan>> placeMedia(std::span<const int32_t> ids, int32_t placeholderId,
                                             const std::vector<std::vector<float>>& media, int64_t hiddenSize,
                                             bool bidirectional) {
    std::vector<EmbeddedSpan> spans;
    for (size_t i = 0; i < ids.size();) {
        if (ids[i] != placeholderId) {
            ++i;
            continue;
        }
        size_t end = i;
        while (end < ids.size() && ids[end] == placeholderId) ++end;
        const size_t item = spans.size();
        if (item >= media.size())
            return badInput("the prompt holds more image or audio placeholders than the " +
                            std::to_string(media.size()) + " given");
        const int64_t rows = int64_t(end - i);
        if (int64_t(media[item].size()) != rows * hiddenSize)
            return badInput("placeholder run " + std::to_string(item + 1) + " has " + std::to_string(rows) +
                            " tokens but its features have " + std::to_string(media[item].size() / size_t(hiddenSize)) +
                            " rows");
        spans.push_back({int64_t(i), rows, media[item].data(), bidirectional});
        i = end;
    }
    if (spans.size() != media.size())
        return badInput("the prompt has places for " + std::to_string(spans.size()) + " of the " +
                        std::to_string(media.size()) + " images or recordings given");
    return spans;
}

}  // namespace strata
