#include "model/GgufConversion.h"

#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "format/Checkpoint.h"
#include "format/GgufFile.h"
#include "format/SafetensorsWriter.h"
#include "arch/GgufConfig.h"
#include "arch/ModelConfig.h"
#include "runtime/WeightLayout.h"
#include "tokenizer/GgufVocabulary.h"
#include "arch/DecoderWeights.h"

namespace strata {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Status writeJson(const fs::path& path, const json& j) {
    std::string text;
    try {
        text = j.dump(2);
    } catch (const json::exception& e) {
        return badInput("cannot write " + path.string() + ": " + e.what());
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text << '\n';
    out.flush();
    if (!out) return badInput("cannot write " + path.string() + " (is the disk full?)");
    return {};
}

json tokenizerConfig(const GgufFile& gguf, const GgufVocabulary& vocab) {
    const auto& tokens = vocab.tokenizer.vocab;  // (piece, id) in id order
    auto piece = [&](int32_t id) { return id >= 0 && size_t(id) < tokens.size() ? json(tokens[size_t(id)].first) : json(); };
    json c = {{"tokenizer_class", "PreTrainedTokenizerFast"},
              {"bos_token", piece(vocab.bosId)},
              {"eos_token", vocab.eosIds.empty() ? json() : piece(vocab.eosIds.front())},
              {"add_bos_token", vocab.addBos},
              {"add_eos_token", false},
              {"clean_up_tokenization_spaces", false}};
    if (auto pad = gguf.intOr("tokenizer.ggml.padding_token_id")) c["pad_token"] = piece(int32_t(*pad));
    if (auto unk = gguf.intOr("tokenizer.ggml.unknown_token_id")) c["unk_token"] = piece(int32_t(*unk));
    if (auto tmpl = gguf.getString("tokenizer.chat_template"); tmpl.ok()) c["chat_template"] = tmpl.value();
    return c;
}

Status writeFolder(const Checkpoint& ckpt, const fs::path& dir, const ConversionProgress& progress) {
    const GgufFile& gguf = *ckpt.gguf();
    auto config = hfConfigFromGguf(ckpt);
    STRATA_TRY(config);
    // Check that the folder will load before writing half a gigabyte or more.
    auto parsed = parseModelConfig(config.value().dump(), gguf.name() + " (GGUF metadata)");
    STRATA_TRY(parsed);
    STRATA_TRY(resolveTensorNames(parsed.value(), ckpt));
    STRATA_TRY(buildWeightLayout(parsed.value(), ckpt));
    auto vocab = readGgufVocabulary(gguf);
    STRATA_TRY(vocab);

    STRATA_TRY(writeJson(dir / "config.json", config.value()));
    json generation = {{"bos_token_id", vocab.value().bosId}, {"eos_token_id", vocab.value().eosIds}};
    STRATA_TRY(writeJson(dir / "generation_config.json", generation));
    STRATA_TRY(writeJson(dir / "tokenizer_config.json", tokenizerConfig(gguf, vocab.value())));
    STRATA_TRY(writeJson(dir / "tokenizer.json", tokenizerJsonDocument(vocab.value().tokenizer)));

    // Every tensor with a Hugging Face name; llama.cpp's extras (rope_freqs) live in config.json.
    std::vector<const TensorInfo*> infos;
    std::vector<SafetensorsEntry> entries;
    for (const auto& [name, info] : ckpt.tensors()) {
        if (name.rfind("model.", 0) != 0 && name != "lm_head.weight") continue;
        infos.push_back(&info);
        entries.push_back({name, DType::BF16, info.shape});
    }
    std::vector<uint8_t> stored;
    std::vector<float> values;
    return writeSafetensors(dir / "model.safetensors", entries, [&](size_t i, std::vector<uint8_t>& out) -> Status {
        const TensorInfo& info = *infos[i];
        stored.resize(size_t(info.nbytes));
        STRATA_TRY(ckpt.read(info, stored.data()));
        values.resize(size_t(info.numel()));
        widenToFloat(stored.data(), info.dtype, values.size(), values.data());
        out.resize(values.size() * 2);
        auto* bf16 = reinterpret_cast<uint16_t*>(out.data());
        for (size_t k = 0; k < values.size(); ++k) bf16[k] = floatToBf16(values[k]);
        if (progress) progress(i + 1, infos.size());
        return {};
    });
}

}  // namespace

Status convertGgufToFolder(const fs::path& ggufPath, const fs::path& outDir, const ConversionProgress& progress) {
    std::error_code ec;
    if (fs::exists(outDir, ec) && !(fs::is_directory(outDir, ec) && fs::is_empty(outDir, ec)))
        return badInput(outDir.string() + " already exists and is not an empty folder; choose a new folder");
    auto ckpt = Checkpoint::open(ggufPath);
    STRATA_TRY(ckpt);
    if (!ckpt.value()->gguf()) return badInput(ggufPath.string() + " is not a GGUF file");

    const fs::path parent = outDir.parent_path().empty() ? fs::path(".") : outDir.parent_path();
    std::string partialName = ".";
    partialName += outDir.filename().string();
    partialName += ".partial-";
    partialName += std::to_string(::getpid());
    const fs::path partial = parent / partialName;
    fs::remove_all(partial, ec);
    if (!fs::create_directories(partial, ec) || ec)
        return badInput("cannot create " + partial.string() + ": " + ec.message());
    Status st = writeFolder(*ckpt.value(), partial, progress);
    if (st.ok()) {
        fs::remove(outDir, ec);  // an empty folder the user made for us
        fs::rename(partial, outDir, ec);
        if (ec) st = badInput("cannot rename " + partial.string() + " to " + outDir.string() + ": " + ec.message());
    }
    if (!st.ok()) fs::remove_all(partial, ec);
    return st;
}

}  // namespace strata
